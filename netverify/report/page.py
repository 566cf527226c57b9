"""The report as one self-contained HTML page: summary, failing findings, DNS matrix, timeline.

Everything the page needs is inline (style and script, allowed by hash in its Content Security
Policy), so it works offline and as an e-mail attachment, and the browser itself refuses any
load from elsewhere. The content reads the same without JavaScript; the script only adds copy
buttons.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections import Counter
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from netverify.diagnose import Problem, affected_summary, event_problems
from netverify.model import SEVERITY_RANK
from netverify.report.chain import chain_svg
from netverify.report.dns_evidence import DNS_ANSWER_KEYS
from netverify.report.event_fields import (
    NO_WORKSPACE,
    PROBLEM_STATUSES,
    observed_at,
    workspaces_of,
)
from netverify.report.history import Episode, ReportInput, episodes
from netverify.report.markup import Content, Html, element, join
from netverify.report.matrix import (
    OUTCOME_LABELS,
    Cell,
    Outcome,
    ResolutionMatrix,
    Resolver,
    matrices_from_events,
)

STATUSES = ("fail", "error", "skipped", "pass")
_RESOLVER_KIND_LABELS = {"host": "host resolver", "custom": "custom DNS", "azure": "Azure DNS"}
_OUTCOME_MEANINGS = {
    Outcome.RIGHT: "the name's private endpoint IP: right",
    Outcome.STALE: "a private address that is not the private endpoint's: a stale record",
    Outcome.OUTSIDE_VNET: "a private address outside the agent VNet's address spaces",
    Outcome.PRIVATE: "private addresses, with no expected IP in the evidence to judge them by",
    Outcome.PUBLIC: "a public address: this resolver bypasses the private zone",
    Outcome.NXDOMAIN: "the name does not exist for this resolver",
    Outcome.NODATA: "the name exists but has no address",
    Outcome.TIMEOUT: "no answer in time",
    Outcome.ERROR: "SERVFAIL, REFUSED, unreachable or an unusable answer",
}


def render_html(report: ReportInput, generated_at: datetime) -> str:
    events = list(report.events)
    matrices = matrices_from_events(events)
    style = _resource("report.css")
    script = _resource("report.js")
    policy = (
        "default-src 'none'; base-uri 'none'; form-action 'none'; "
        f"style-src '{_sha256(style)}'; script-src '{_sha256(script)}'"
    )
    head = element(
        "head",
        element("meta", charset="utf-8"),
        element("meta", name="viewport", content="width=device-width, initial-scale=1"),
        element("meta", http_equiv="Content-Security-Policy", content=policy),
        element("title", _title(events)),
        element("style", Html(style)),
    )
    body = element(
        "body",
        _header(events, generated_at),
        element(
            "nav",
            element(
                "ul",
                (
                    element("li", element("a", label, href=f"#{anchor}"))
                    for anchor, label in (
                        ("problems", "Problems"),
                        ("resolution", "DNS resolution"),
                        ("failures", "Failing findings"),
                        ("summary", "Summary"),
                        ("timeline", "Timeline"),
                    )
                ),
            ),
            aria_label="Sections",
        ),
        element(
            "main",
            _problems(events),
            _resolution(matrices, events),
            _failures(events, matrices),
            _summary(events),
            _timeline(report, generated_at),
        ),
        element("p", id="copy-status", class_="visually-hidden", role="status", aria_live="polite"),
        element("script", Html(script)),
    )
    return "<!DOCTYPE html>\n" + element("html", head, body, lang="en") + "\n"


def write_report(path: Path, report: ReportInput, generated_at: datetime) -> None:
    """Render to ``path`` atomically: a server handing the file out never sees half a report."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(render_html(report, generated_at), encoding="utf-8")
    partial.replace(path)


def _resource(name: str) -> str:
    return (resources.files("netverify.report") / name).read_text("utf-8")


def _sha256(text: str) -> str:
    digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
    return f"sha256-{digest}"


def _title(events: Sequence[Mapping[str, Any]]) -> str:
    counts = Counter(e["status"] for e in events)
    return f"netverify report: {counts['fail']} fail, {counts['error']} error"


def _header(events: Sequence[Mapping[str, Any]], generated_at: datetime) -> Html:
    if events:
        first = events[0]
        run = (
            f"Run {first['run_id']} observed {_when(observed_at(first))} by agent "
            f"{(first.get('agent') or {}).get('name', '?')} in {first.get('cloud', '?')}."
        )
    else:
        run = "No findings to report."
    return element(
        "header",
        element("h1", "netverify report"),
        element("p", run, class_="meta"),
        element("p", f"Generated {_when(generated_at)}.", class_="meta"),
    )


# --- summary ---------------------------------------------------------------------------------


def _summary(events: Sequence[Mapping[str, Any]]) -> Html:
    totals = Counter(e["status"] for e in events)
    by_workspace: dict[str, Counter[str]] = {}
    for event in events:
        for workspace in workspaces_of(event) or [NO_WORKSPACE]:
            by_workspace.setdefault(workspace, Counter())[event["status"]] += 1
    by_check: dict[str, Counter[str]] = {}
    checks: dict[str, Mapping[str, Any]] = {}
    for event in events:
        by_check.setdefault(event["check_id"], Counter())[event["status"]] += 1
        checks.setdefault(event["check_id"], event)
    workspace_rows = [
        element("tr", element("th", name, scope="row"), _count_cells(by_workspace[name]))
        for name in sorted(by_workspace, key=lambda w: (w == NO_WORKSPACE, w))
    ]
    check_rows = [
        element(
            "tr",
            element(
                "th",
                element("code", check_id),
                element("br"),
                checks[check_id]["title"],
                scope="row",
            ),
            element("td", checks[check_id]["severity"]),
            _count_cells(by_check[check_id]),
        )
        for check_id in sorted(by_check, key=lambda c: (-by_check[c]["fail"], c))
    ]
    line = ", ".join(f"{totals[s]} {s}" for s in STATUSES)
    return element(
        "section",
        element("h2", "Summary", id="summary-heading"),
        element("p", f"{len(events)} findings: {line}."),
        _count_table("Per workspace", "Workspace", [], workspace_rows),
        _count_table("Per check", "Check", ["Severity"], check_rows),
        id="summary",
        aria_labelledby="summary-heading",
    )


def _count_table(caption: str, first: str, extra: list[str], rows: list[Html]) -> Html:
    headers = [first, *extra, *(s.capitalize() for s in STATUSES)]
    return element(
        "table",
        element("caption", caption),
        element("thead", element("tr", (element("th", h, scope="col") for h in headers))),
        element("tbody", rows),
        class_="counts",
    )


def _count_cells(counts: Counter[str]) -> Html:
    return join(
        element("td", counts[s], class_=f"count nonzero-{s}" if counts[s] else "count")
        for s in STATUSES
    )


# --- problems --------------------------------------------------------------------------------


def _problems(events: Sequence[Mapping[str, Any]]) -> Html:
    found = event_problems(events)
    return element(
        "section",
        element(
            "h2", f"{len(found)} problem{'' if len(found) == 1 else 's'}", id="problems-heading"
        ),
        element("ol", [_problem_line(p) for p in found], class_="problem-index")
        if found
        else element("p", "No root cause: nothing failed.", class_="empty"),
        [_problem(p) for p in found],
        id="problems",
        aria_labelledby="problems-heading",
    )


def _problem_line(problem: Problem[Mapping[str, Any]]) -> Html:
    """One line of the index that opens the report: every root cause fits the first screen."""
    lead, symptoms = problem.lead, problem.symptoms
    return element(
        "li",
        element("span", lead["severity"], class_=f"severity severity-{lead['severity']}"),
        " ",
        element("a", lead["title"], href=f"#problem-{lead['uid']}"),
        ": ",
        element("strong", _where(problem)),
        element("span", f" + {len(symptoms)} symptom(s)", class_="symptoms") if symptoms else None,
        title=f"{lead['title']}: {_where(problem)}",
    )


def _where(problem: Problem[Mapping[str, Any]]) -> str:
    return ", ".join(sorted({r["resource_name"] for r in problem.causes}))


def _problem(problem: Problem[Mapping[str, Any]]) -> Html:
    symptoms, lead = problem.symptoms, problem.lead
    reach = affected_summary(problem)
    remediation = lead.get("remediation") or {}
    command = remediation.get("command")
    where = _where(problem)
    return element(
        "article",
        element("h3", _status_badge("fail"), f" {lead['severity']}: ", lead["title"], ": ", where),
        element("p", lead["message"]),
        element("p", f"Breaks {reach}.", class_="breaks") if reach else None,
        element("p", "Fix: ", remediation.get("text")) if remediation.get("text") else None,
        _command(f"problem-{lead['uid']}", command, where) if command else None,
        element(
            "details",
            element("summary", f"{len(symptoms)} symptom(s)"),
            element(
                "ul",
                (
                    element(
                        "li",
                        element("a", s["title"], href=f"#finding-{s['uid']}"),
                        ": ",
                        s["resource_name"],
                    )
                    for s in symptoms
                ),
            ),
        )
        if symptoms
        else None,
        id=f"problem-{lead['uid']}",
        class_="problem",
    )


# --- failing findings ------------------------------------------------------------------------


def _failures(events: Sequence[Mapping[str, Any]], matrices: Sequence[ResolutionMatrix]) -> Html:
    problems = sorted(
        (e for e in events if e["status"] in PROBLEM_STATUSES),
        key=lambda e: (
            e["status"] != "fail",
            SEVERITY_RANK.get(e["severity"], len(SEVERITY_RANK)),
            e["check_id"],
            e["resource_name"],
        ),
    )
    anchors = {m.workspace: _matrix_anchor(i) for i, m in enumerate(matrices)}
    content: Content = (
        element(
            "details",
            element("summary", "Every failing or unobserved finding, with its evidence"),
            [_finding(e, anchors) for e in problems],
        )
        if problems
        else element("p", "Nothing failed and nothing was left unobserved.", class_="empty")
    )
    return element(
        "section",
        element("h2", f"Failing findings ({len(problems)})", id="failures-heading"),
        content,
        id="failures",
        aria_labelledby="failures-heading",
    )


def _finding(event: Mapping[str, Any], matrix_anchors: Mapping[str, str]) -> Html:
    uid = event["uid"]
    workspaces = workspaces_of(event)
    facts = [
        ("Check", element("code", event["check_id"])),
        ("Severity", event["severity"]),
        ("Resource", element("code", event.get("resource_id") or event["resource_name"])),
        ("Subject", event.get("subject")),
        ("Workspace", ", ".join(workspaces) or None),
        ("Observed", _when(observed_at(event))),
    ]
    remediation = event.get("remediation") or {}
    command = remediation.get("command")
    references = event.get("references") or []
    return element(
        "article",
        element(
            "h3",
            _status_badge(event["status"]),
            " ",
            event["title"],
            ": ",
            event["resource_name"],
            id=f"finding-{uid}-heading",
        ),
        element("p", event["message"]),
        element(
            "dl",
            (
                [element("dt", label), element("dd", value)]
                for label, value in facts
                if value is not None
            ),
            class_="facts",
        ),
        _evidence(
            event.get("evidence"), [matrix_anchors[w] for w in workspaces if w in matrix_anchors]
        ),
        element("h4", "Remediation") if remediation else None,
        element("p", remediation.get("text")) if remediation.get("text") else None,
        _command(uid, command, event["resource_name"]) if command else None,
        element(
            "p",
            "References: ",
            [[_link(str(ref)), " "] for ref in references],
        )
        if references
        else None,
        id=f"finding-{uid}",
        class_=f"finding finding-{event['status']}",
        aria_labelledby=f"finding-{uid}-heading",
    )


def _link(url: str) -> Html:
    """A link for web addresses only: a ``javascript:`` or ``data:`` reference stays text."""
    if urlsplit(url).scheme.lower() in ("http", "https"):
        return element("a", url, href=url)
    return element("span", url, class_="mono")


def _status_badge(status: str) -> Html:
    return element("span", status.upper(), class_=f"status status-{status}")


def _evidence(evidence: Mapping[str, Any] | None, matrix_anchors: list[str]) -> Html | None:
    if not evidence:
        return None
    observed = evidence.get("observed") or {}
    expected = evidence.get("expected") or {}
    keys = [*observed, *(k for k in expected if k not in observed)]
    if not keys:
        return None
    rows = []
    for key in keys:
        anchor = matrix_anchors[0] if matrix_anchors else "resolution"
        if key in DNS_ANSWER_KEYS:
            shown: Content = element("a", "in the DNS resolution matrix", href=f"#{anchor}")
        elif key == "names" and _name_rows(observed.get(key)):
            # The zone checks' rows (checklib.dns.name_evidence): the names, their answers linked.
            shown = [
                element("span", ", ".join(str(r["fqdn"]) for r in observed[key]), class_="mono"),
                " — answers ",
                element("a", "in the DNS resolution matrix", href=f"#{anchor}"),
            ]
        else:
            shown = _value(observed[key]) if key in observed else "—"
        rows.append(
            element(
                "tr",
                element("th", element("code", key), scope="row"),
                element("td", shown),
                element("td", _value(expected[key]) if key in expected else "—"),
            )
        )
    return element(
        "table",
        element("caption", "Evidence"),
        element(
            "thead",
            element(
                "tr",
                element("th", "Property", scope="col"),
                element("th", "Observed", scope="col"),
                element("th", "Expected", scope="col"),
            ),
        ),
        element("tbody", rows),
        class_="evidence",
    )


def _name_rows(value: object) -> bool:
    """``value`` is a list of name rows, each with its fqdn and its ``resolutions``."""
    return isinstance(value, list) and all(
        isinstance(r, Mapping) and isinstance(r.get("fqdn"), str) and "resolutions" in r
        for r in value
    )


def _value(value: object) -> Html:
    if isinstance(value, str):
        return element("span", value, class_="mono")
    return element("code", json.dumps(value, ensure_ascii=False))


def _command(uid: str, command: str, resource_name: str) -> Html:
    code_id = f"command-{uid}"
    return element(
        "div",
        element("pre", element("code", command, id=code_id)),
        element(
            "button",
            "Copy",
            type="button",
            class_="copy",
            data_copy=code_id,
            aria_label=f"Copy the command for {resource_name}",
            hidden=True,
        ),
        class_="command",
    )


# --- resolution matrix -----------------------------------------------------------------------


def _matrix_anchor(index: int) -> str:
    return f"matrix-{index}"


def _resolution(matrices: Sequence[ResolutionMatrix], events: Sequence[Mapping[str, Any]]) -> Html:
    unlinked = frozenset(
        e["resource_name"].lower()
        for e in events
        if e["check_id"] == "privatedns_zone_linked_agent_vnet" and e["status"] == "fail"
    )
    legend = element(
        "ul",
        (
            element(
                "li",
                element("span", OUTCOME_LABELS[o], class_="outcome-label"),
                f" {meaning}",
                class_=f"legend-{o.value}",
            )
            for o, meaning in _OUTCOME_MEANINGS.items()
        ),
        class_="legend",
        aria_label="What the cells mean",
    )
    content: Content = (
        [
            [
                element(
                    "figure",
                    chain_svg(m, f"chain-{i}", unlinked),
                    element(
                        "figcaption",
                        f"Resolution chain of {m.workspace}: red dashed edges are broken "
                        "(hover an edge for why).",
                    ),
                    class_="chain",
                ),
                _matrix(m, _matrix_anchor(i)),
            ]
            for i, m in enumerate(matrices)
        ]
        if matrices
        else element("p", "No finding in this run carried DNS answers.", class_="empty")
    )
    return element(
        "section",
        element("h2", "DNS resolution", id="resolution-heading"),
        element(
            "p",
            "What each resolver answered for each name, seen from this agent. A cell links the "
            "finding its answer explains.",
        ),
        legend,
        content,
        id="resolution",
        aria_labelledby="resolution-heading",
    )


def _matrix(matrix: ResolutionMatrix, anchor: str) -> Html:
    header = element(
        "tr",
        element("th", "FQDN", scope="col"),
        (
            element(
                "th",
                r.name,
                element("br"),
                element("small", _RESOLVER_KIND_LABELS.get(r.kind, r.kind)),
                scope="col",
            )
            for r in matrix.resolvers
        ),
    )
    rows = [
        element(
            "tr",
            element("th", element("span", fqdn, class_="mono"), scope="row"),
            (_cell(matrix.cells.get((fqdn, resolver)), resolver) for resolver in matrix.resolvers),
        )
        for fqdn in matrix.fqdns
    ]
    return element(
        "table",
        element("caption", f"Workspace {matrix.workspace}", id=f"{anchor}-caption"),
        element("thead", header),
        element("tbody", rows),
        class_="matrix",
        id=anchor,
    )


def _cell(cell: Cell | None, resolver: Resolver) -> Html:
    if cell is None:
        return element("td", "not asked", class_="empty", data_outcome="none")
    outcome = cell.outcome
    answer = ", ".join(cell.addresses) if cell.addresses else cell.rcode
    return element(
        "td",
        element("span", OUTCOME_LABELS[outcome], class_="outcome-label"),
        element("span", answer, class_="answer mono"),
        element("small", f"via {' → '.join(cell.cname_chain)}", class_="answer")
        if cell.cname_chain
        else None,
        element("small", cell.detail, class_="answer") if cell.detail else None,
        [
            element(
                "span",
                "explains ",
                element("a", ref.check_id, href=f"#finding-{ref.uid}"),
                class_="explains",
            )
            for ref in cell.explains
        ],
        class_=f"cell-{outcome.value}",
        data_outcome=outcome.value,
        data_resolver=resolver.name,
    )


# --- timeline --------------------------------------------------------------------------------


def _timeline(report: ReportInput, generated_at: datetime) -> Html:
    found = episodes(report.transitions)
    current = {e["uid"] for e in report.events if e["status"] in PROBLEM_STATUSES}
    if not found:
        content: Content = element("p", "No problem in the recorded history.", class_="empty")
    else:
        start = min(e.started for e in found)
        window = max(generated_at - start, timedelta(minutes=1))
        content = element(
            "table",
            element("caption", f"Problems since {_when(start)}"),
            element(
                "thead",
                element(
                    "tr",
                    (
                        element("th", h, scope="col")
                        for h in ("Problem", "Status", "Started", "Resolved", "Duration", "When")
                    ),
                ),
            ),
            element(
                "tbody",
                (
                    _episode(
                        e,
                        report.named.get(e.uid, {}),
                        e.uid in current,
                        start,
                        window,
                        generated_at,
                    )
                    for e in found
                ),
            ),
            class_="timeline",
        )
    return element(
        "section",
        element("h2", "Timeline", id="timeline-heading"),
        content,
        id="timeline",
        aria_labelledby="timeline-heading",
    )


def _episode(
    episode: Episode,
    event: Mapping[str, Any],
    failing_now: bool,
    start: datetime,
    window: timedelta,
    generated_at: datetime,
) -> Html:
    label = f"{event.get('title', episode.uid)}: {event.get('resource_name', '')}"
    if event.get("subject"):  # an ARM id as subject (a workspace) is named by its last segment
        label += f" ({str(event['subject']).rstrip('/').rsplit('/', 1)[-1]})"
    end = episode.resolved or generated_at
    left = 100 * (episode.started - start) / window
    width = max(100 * (end - episode.started) / window, 0.5)
    bar = element(
        "svg",
        element("rect", x="0", y="2", width="100%", height="12", class_="window"),
        element(
            "rect",
            x=f"{left:.2f}%",
            y="2",
            width=f"{min(width, 100 - left):.2f}%",
            height="12",
            class_="resolved" if episode.resolved else "open",
        ),
        class_="bar",
        aria_hidden="true",
        focusable="false",
    )
    return element(
        "tr",
        element(
            "th",
            element("a", label, href=f"#finding-{episode.uid}") if failing_now else label,
            scope="row",
        ),
        element("td", _status_badge(episode.status)),
        element("td", _when(episode.started)),
        element("td", _when(episode.resolved) if episode.resolved else "not yet"),
        element("td", _duration(end - episode.started)),
        element("td", bar),
        class_="resolved" if episode.resolved else "open",
    )


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _duration(span: timedelta) -> str:
    minutes = int(span.total_seconds() // 60)
    if minutes < 1:
        return "under a minute"
    days, rest = divmod(minutes, 24 * 60)
    hours, minutes = divmod(rest, 60)
    parts = [
        f"{days} d" if days else "",
        f"{hours} h" if hours else "",
        f"{minutes} min" if minutes else "",
    ]
    return " ".join(p for p in parts if p)
