"""The HTML report: safe markup, the resolution matrix, the history, the page, the command line."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from netverify.agent.state import StateStore
from netverify.cli import main
from netverify.diagnose import event_problems
from netverify.model import Status
from netverify.report import (
    FindingsFileError,
    MalformedResolution,
    Transition,
    history_from_change_events,
    history_from_runs,
    read_findings_file,
    render_html,
    write_report,
)
from netverify.report.chain import chain_svg
from netverify.report.dns_evidence import parse_summary
from netverify.report.history import episodes
from netverify.report.markup import Html, element
from netverify.report.matrix import (
    Cell,
    Outcome,
    ResolutionMatrix,
    Resolver,
    classify,
    matrices_from_events,
)
from netverify.testing import finding_event, resolution

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
FQDN = "ep-churn.eastus.inference.ml.azure.com"


class Elements(HTMLParser):
    """Every element as (tag, attributes, text inside it), for looking at rendered pages."""

    def __init__(self, page: str) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str | None], list[str]]] = []
        self._open: list[list[str]] = []
        self.feed(page)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for outer in self._open:
            outer.append(" ")  # cells and blocks read as separate words
        text: list[str] = []
        self.found.append((tag, dict(attrs), text))
        if tag not in ("meta", "br", "img", "link", "input", "hr", "wbr", "col"):
            self._open.append(text)

    def handle_endtag(self, tag: str) -> None:
        if self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for text in self._open:
            text.append(data)

    def where(
        self, tag: str | None = None, **wanted: str
    ) -> list[tuple[dict[str, str | None], str]]:
        """(attributes, whitespace-normalised text) of elements with ``tag`` and these attributes
        (``class_`` means class, ``data_x`` data-x)."""
        attributes = {k.rstrip("_").replace("_", "-"): v for k, v in wanted.items()}
        return [
            (attrs, " ".join("".join(text).split()))
            for name, attrs, text in self.found
            if tag in (None, name) and all(attrs.get(k) == v for k, v in attributes.items())
        ]

    def tags(self, tag: str) -> list[dict[str, str | None]]:
        return [attrs for name, attrs, _ in self.found if name == tag]


def page_of(events: list[dict[str, Any]], at: datetime = T0 + timedelta(hours=1)) -> str:
    return render_html(history_from_runs(events), at)


def scoring_event(
    status: Status = Status.FAIL, subject: str = FQDN, **changes: Any
) -> dict[str, Any]:
    rows = [
        resolution(FQDN, "azure 168.63.129.16", "azure", "NXDOMAIN"),
        resolution(FQDN, "host", "host", addresses=["20.62.58.12"]),
        resolution(FQDN, "custom 10.0.0.4", "custom", "TIMEOUT", detail="no reply in 2 s"),
    ]
    return finding_event(
        "dns_name_resolves_private",
        FQDN,
        status,
        observed={"workspace": "mlw-broken", "resolutions": rows},
        subject=subject,
        **changes,
    )


# --- markup ----------------------------------------------------------------------------------


def test_text_and_attributes_are_escaped() -> None:
    """Plain strings are escaped as children and as attribute values."""
    assert '<a href="&quot;&gt;&lt;x">&lt;script&gt;&amp;</a>' == element(
        "a", "<script>&", href='"><x'
    )


def test_markup_is_not_escaped_twice() -> None:
    """Html children go in as they are; None children and False attributes are left out."""
    assert "<p hidden><b>x</b></p>" == element(
        "p", Html("<b>x</b>"), None, hidden=True, title=None, lang=False
    )


def test_void_elements_have_no_end_tag() -> None:
    """A void element is written without an end tag, whatever children it was given."""
    assert '<meta charset="utf-8">' == element("meta", charset="utf-8")


# --- resolution matrix -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("rcode", "addresses", "expected"),
    [
        ("NOERROR", ["10.0.1.8"], Outcome.PRIVATE),
        ("NOERROR", ["100.64.0.9", "fd00::1"], Outcome.PRIVATE),
        ("NOERROR", ["10.0.1.8", "20.62.58.12"], Outcome.PUBLIC),
        ("noerror", ["2603:1030::1"], Outcome.PUBLIC),
        ("NXDOMAIN", [], Outcome.NXDOMAIN),
        ("NOERROR", [], Outcome.NODATA),
        ("TIMEOUT", [], Outcome.TIMEOUT),
        ("SERVFAIL", [], Outcome.ERROR),
        ("UNREACHABLE", [], Outcome.ERROR),
        ("NOERROR", ["not-an-ip"], Outcome.ERROR),
    ],
)
def test_answers_are_classified(rcode: str, addresses: list[str], expected: Outcome) -> None:
    """A cell's outcome comes from the raw rcode and addresses alone."""
    assert expected is classify(rcode, addresses)


@pytest.mark.parametrize(
    ("addresses", "expected", "address_space", "outcome"),
    [
        (["10.0.1.5"], ["10.0.1.5"], ["10.0.0.0/16"], Outcome.RIGHT),
        (["10.0.1.9"], ["10.0.1.5"], ["10.0.0.0/16"], Outcome.STALE),
        (["10.9.0.4"], ["10.9.0.4"], ["10.0.0.0/16"], Outcome.OUTSIDE_VNET),
        (["10.0.1.5"], [], [], Outcome.PRIVATE),
        (["20.62.58.12"], ["10.0.1.5"], ["10.0.0.0/16"], Outcome.PUBLIC),
    ],
)
def test_private_answers_are_judged_by_the_evidence(
    addresses: list[str], expected: list[str], address_space: list[str], outcome: Outcome
) -> None:
    """A private answer is right only if it is an expected PE IP inside the VNet's prefixes."""
    assert outcome is classify("NOERROR", addresses, expected, address_space)


def test_matrix_columns_follow_the_query_path() -> None:
    """Resolvers read host, custom, Azure DNS, whatever order the evidence lists them in."""
    [matrix] = matrices_from_events([scoring_event()])

    assert "mlw-broken" == matrix.workspace
    assert (FQDN,) == matrix.fqdns
    assert ["host", "custom 10.0.0.4", "azure 168.63.129.16"] == [r.name for r in matrix.resolvers]
    assert Outcome.TIMEOUT is matrix.cells[(FQDN, Resolver("custom", "custom 10.0.0.4"))].outcome


def test_a_cell_explains_every_failing_finding_that_carries_it() -> None:
    """Two failing findings with the same answer both link from the cell; a passing one does not."""
    first = scoring_event()
    second = scoring_event(message="second check")
    second["check_id"], second["uid"] = "dns_forwarder_present", "uid-forwarder"
    passing = scoring_event(Status.PASS)
    passing["check_id"], passing["uid"] = "dns_other_check", "uid-pass"

    [matrix] = matrices_from_events([first, second, passing])

    cell = matrix.cells[(FQDN, Resolver("host", "host"))]
    assert ["dns_name_resolves_private", "dns_forwarder_present"] == [
        ref.check_id for ref in cell.explains
    ]


def test_one_matrix_per_workspace() -> None:
    """Findings of two workspaces give two matrices, each with only its own names."""
    other = finding_event(
        "dns_name_resolves_private",
        "x.eastus.api.azureml.ms",
        Status.PASS,
        observed={
            "workspace": "mlw-healthy",
            "resolutions": [
                resolution("x.eastus.api.azureml.ms", "host", "host", addresses=["10.0.1.5"])
            ],
        },
    )

    matrices = matrices_from_events([scoring_event(), other])

    assert [("mlw-broken", (FQDN,)), ("mlw-healthy", ("x.eastus.api.azureml.ms",))] == [
        (m.workspace, m.fqdns) for m in matrices
    ]


def test_a_malformed_resolution_names_the_finding_and_field() -> None:
    """A resolution without an rcode is an error naming the check, the index and the key."""
    event = scoring_event()
    del event["evidence"]["observed"]["resolutions"][1]["rcode"]

    with pytest.raises(
        MalformedResolution, match=r"dns_name_resolves_private .*resolutions\[1\]\.rcode"
    ):
        matrices_from_events([event])


# --- history ---------------------------------------------------------------------------------


def test_episodes_start_at_a_problem_and_end_at_a_pass() -> None:
    """fail, error, pass, fail: one resolved episode (last status error) and one still open."""
    transitions = [
        Transition("u", "fail", T0),
        Transition("u", "error", T0 + timedelta(hours=1)),
        Transition("u", "pass", T0 + timedelta(hours=2)),
        Transition("u", "fail", T0 + timedelta(hours=3)),
        Transition("v", "pass", T0),
    ]

    found = episodes(transitions)

    assert [
        ("u", "error", T0, T0 + timedelta(hours=2)),
        ("u", "fail", T0 + timedelta(hours=3), None),
    ] == [(e.uid, e.status, e.started, e.resolved) for e in found]


def test_history_from_runs_keeps_the_last_run_and_only_changes() -> None:
    """Three runs of two findings: the last run is reported; an unchanged status is no transition."""
    statuses = [
        (Status.FAIL, Status.PASS),
        (Status.FAIL, Status.PASS),
        (Status.PASS, Status.PASS),
    ]
    events = [
        finding_event(
            check, "mlw-a", status, run_id=f"run-{i}", observed_at=T0 + timedelta(hours=i)
        )
        for i, run in enumerate(statuses)
        for check, status in zip(("v1_mode_off", "kv_bypass_on"), run, strict=True)
    ]

    report = history_from_runs(events)

    assert [("run-2", "v1_mode_off"), ("run-2", "kv_bypass_on")] == [
        (e["run_id"], e["check_id"]) for e in report.events
    ]
    assert [
        ("v1_mode_off", "fail", T0),
        ("kv_bypass_on", "pass", T0),
        ("v1_mode_off", "pass", T0 + timedelta(hours=2)),
    ] == [(report.named[t.uid]["check_id"], t.status, t.at) for t in report.transitions]


def test_a_findings_file_is_read_as_it_is_consumed(tmp_path: Path) -> None:
    """Events come one line at a time: a bad line late in the file is met only when reached."""
    good = json.dumps(finding_event("workspace_v1_legacy_mode_disabled", "mlw-a"))
    path = tmp_path / "findings.jsonl"
    path.write_text(f"{good}\n{{not json\n")

    events = read_findings_file(path)

    assert "mlw-a" == next(events)["resource_name"]
    with pytest.raises(FindingsFileError, match=r"findings\.jsonl:2: not JSON"):
        next(events)


def test_findings_file_errors_name_the_line(tmp_path: Path) -> None:
    """Bad JSON and an object that is no finding event are errors naming file and line."""
    good = json.dumps(finding_event("workspace_v1_legacy_mode_disabled", "mlw-a"))
    path = tmp_path / "findings.jsonl"

    path.write_text(f"{good}\n\n{{not json\n")
    with pytest.raises(FindingsFileError, match=r"findings\.jsonl:3: not JSON"):
        list(read_findings_file(path))

    path.write_text(f'{good}\n{{"uid": "x"}}\n')
    with pytest.raises(
        FindingsFileError, match=r"findings\.jsonl:2: not a finding event \(missing check_id"
    ):
        list(read_findings_file(path))


# --- the page --------------------------------------------------------------------------------


def test_text_from_findings_is_escaped_everywhere() -> None:
    """A message, resource name, evidence value and command with markup in them stay text."""
    hostile = "<img src=x onerror=alert(1)>"
    event = finding_event(
        "workspace_v1_legacy_mode_disabled",
        "mlw-broken",
        message=f"bad {hostile}",
        observed={"note": hostile, "workspace": hostile},
        command=f"az {hostile}",
    )

    page = page_of([event])

    assert hostile not in page
    assert "&lt;img src=x onerror=alert(1)&gt;" in page
    assert [] == Elements(page).tags("img")


def test_the_page_is_self_contained() -> None:
    """No element loads anything; the CSP allows only the inline style and script, by hash."""
    page = page_of([scoring_event()])
    parsed = Elements(page)

    assert [] == [a for a in parsed.found if {"src", "srcset"} & set(a[1])]
    assert [] == parsed.tags("link")
    [policy] = [
        a["content"]
        for a in parsed.tags("meta")
        if a.get("http-equiv") == "Content-Security-Policy"
    ]
    for tag in ("style", "script"):
        [inline] = re.findall(rf"<{tag}>(.*?)</{tag}>", page, re.S)
        digest = base64.b64encode(hashlib.sha256(inline.encode()).digest()).decode()
        assert f"{tag}-src 'sha256-{digest}'" in (policy or "")
        assert "url(" not in inline and "@import" not in inline and "http" not in inline
    assert (policy or "").startswith("default-src 'none'")


def test_summary_counts_per_workspace_and_per_check() -> None:
    """A vault finding counts for the workspaces in its evidence; a workspace finding for itself."""
    vault = finding_event(
        "keyvault_network_bypass_azure_services",
        "kv.vault.example",
        observed={"workspaces": ["mlw-a", "mlw-b"]},
    )
    workspace = finding_event("workspace_v1_legacy_mode_disabled", "mlw-a", Status.PASS)

    rows = {
        text.split()[0]: text.split()[1:]
        for _, text in Elements(page_of([vault, workspace])).where("tr")
        if text.startswith("mlw-")
    }

    # Fail, Error, Skipped, Pass
    assert ["1", "0", "0", "1"] == rows["mlw-a"][-4:]
    assert ["1", "0", "0", "0"] == rows["mlw-b"][-4:]


def test_every_failing_finding_has_its_command_and_a_copy_button() -> None:
    """Each fail or error has the command as text and a button (hidden until the script runs)."""
    events = [
        scoring_event(),
        scoring_event(Status.ERROR, subject="other"),
        scoring_event(Status.PASS, subject="ok"),
    ]
    parsed = Elements(page_of(events))

    buttons = [a for a in parsed.tags("button")]
    # Two findings and the problem the fail makes (the error is no root cause).
    assert 3 == len(buttons)
    for button in buttons:
        assert "hidden" in button
        [(_, command)] = parsed.where(id=button["data-copy"] or "")
        assert f"az resource show --ids {FQDN}" == command


def test_matrix_cells_say_their_outcome_in_words() -> None:
    """Every cell names its outcome and answer in text, not colour alone, and links its finding."""
    event = scoring_event()
    parsed = Elements(page_of([event]))

    cells = {
        a["data-resolver"]: (a["data-outcome"], text)
        for a, text in parsed.where()
        if "data-outcome" in a
    }

    assert {
        "host": ("public", "Public 20.62.58.12 explains dns_name_resolves_private"),
        "custom 10.0.0.4": (
            "timeout",
            "Timeout TIMEOUT no reply in 2 s explains dns_name_resolves_private",
        ),
        "azure 168.63.129.16": ("nxdomain", "NXDOMAIN NXDOMAIN explains dns_name_resolves_private"),
    } == cells
    links = [a["href"] for a in parsed.tags("a") if (a.get("href") or "").startswith("#finding-")]
    assert f"#finding-{event['uid']}" in links


def test_timeline_shows_when_a_problem_started_and_resolved() -> None:
    """A finding that failed for two runs and then passed shows both times and its duration."""
    events = [
        finding_event(
            "workspace_v1_legacy_mode_disabled",
            "mlw-a",
            status,
            run_id=f"run-{i}",
            observed_at=T0 + timedelta(hours=i),
        )
        for i, status in enumerate([Status.FAIL, Status.FAIL, Status.PASS])
    ]

    page = Elements(page_of(events, T0 + timedelta(hours=3)))

    rows = [text for _, text in page.where("tr", class_="resolved")]

    assert [
        "Workspace v1 legacy mode disabled: mlw-a FAIL 2026-01-01 12:00 UTC 2026-01-01 14:00 UTC 2 h"
    ] == rows


# --- command line ----------------------------------------------------------------------------


def test_demo_writes_the_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`netverify demo --html PATH` writes a report with the demo's failing findings."""
    path = tmp_path / "out" / "report.html"

    assert 0 == main(["demo", "-o", "jsonl", "--html", str(path)])

    printed = capsys.readouterr()
    assert f"report written to {path}" in printed.err
    parsed = Elements(path.read_text())
    headings = [
        text
        for a, text in parsed.where()
        if (a.get("id") or "").endswith("-heading") and a.get("id", "").startswith("finding-")
    ]
    events = [json.loads(line) for line in printed.out.splitlines()]
    assert {
        f"{e['status'].upper()} {e['title']}: {e['resource_name']}"
        for e in events
        if e["status"] in ("fail", "error")
    } == set(headings)
    assert {
        "FAIL Workspace v1_legacy_mode is off: mlw-broken",
        "FAIL Workspace Key Vault lets trusted Azure services bypass its firewall: kv-broken",
    } <= set(headings)


def test_zone_findings_of_the_demo_link_from_their_matrix_cells(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Real check output, not hand-built evidence: the zone checks carry their names' answers in
    ``names[].resolutions``, and each failing zone finding is linked from a wrong answer's cell."""
    assert 0 == main(["demo", "-o", "jsonl"])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    zones = {
        e["uid"]: e["resource_name"]
        for e in events
        if e["check_id"].startswith("privatedns_zone_") and e["status"] == "fail"
    }
    assert {"privatelink.azurecr.io", "privatelink.blob.core.windows.net"} <= set(zones.values())

    linked = {
        ref.uid
        for matrix in matrices_from_events(events)
        for cell in matrix.cells.values()
        for ref in cell.explains
    }

    assert set(zones) <= linked


def test_report_from_the_state_database(tmp_path: Path) -> None:
    """`netverify report --from state.sqlite3` reports the agent's last run, with its history."""
    store = StateStore.open(tmp_path / "state")
    for i, status in enumerate([Status.FAIL, Status.PASS]):
        at = T0 + timedelta(hours=i)
        event = finding_event(
            "workspace_v1_legacy_mode_disabled", "mlw-a", status, run_id=f"r{i}", observed_at=at
        )
        store.record([event], run_id=f"r{i}", observed_at=at, reminder=None)
    store.close()
    html = tmp_path / "report.html"

    assert 0 == main(["report", "--from", str(store.path), "--html", str(html)])

    parsed = Elements(html.read_text())
    assert "1 findings: 0 fail, 0 error, 0 skipped, 1 pass." in " ".join(
        t for _, t in parsed.where()
    )
    assert 1 == len(parsed.where("tr", class_="resolved"))


def test_report_from_a_findings_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`netverify report --from FILE --html PATH` reports the last run of a JSON-lines file."""
    source = tmp_path / "findings.jsonl"
    source.write_text(
        "".join(
            json.dumps(
                finding_event(
                    "workspace_v1_legacy_mode_disabled",
                    "mlw-a",
                    s,
                    run_id=f"r{i}",
                    observed_at=T0 + timedelta(hours=i),
                )
            )
            + "\n"
            for i, s in enumerate([Status.FAIL, Status.PASS])
        )
    )
    html = tmp_path / "report.html"

    assert 0 == main(["report", "--from", str(source), "--html", str(html)])

    parsed = Elements(html.read_text())
    assert [("summary-heading", "Summary")] == [
        (a["id"], t) for a, t in parsed.where(id="summary-heading")
    ]
    assert "1 findings: 0 fail, 0 error, 0 skipped, 1 pass." in " ".join(
        t for _, t in parsed.where()
    )
    assert 1 == len(parsed.where("tr", class_="resolved"))


def test_report_from_a_bad_file_names_the_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A findings file that is not JSON lines: exit 2 and a message naming file and line, no HTML."""
    source = tmp_path / "findings.jsonl"
    source.write_text("[1, 2]\n")
    html = tmp_path / "report.html"

    assert 2 == main(["report", "--from", str(source), "--html", str(html)])

    assert f"netverify: {source}:1: not a finding event" in capsys.readouterr().err
    assert not html.exists()


def test_a_cell_explains_a_finding_only_where_its_answer_is_wrong() -> None:
    """A stale private address is linked; the right private address of the same finding is not."""
    fqdn = "ws.eastus.api.azureml.ms"
    event = finding_event(
        "dns_record_current",
        fqdn,
        observed={
            "workspace": "mlw-a",
            "resolutions": [
                resolution(fqdn, "host", "host", addresses=["10.0.1.4"]),
                resolution(fqdn, "azure 168.63.129.16", "azure", addresses=["10.0.1.8"]),
            ],
        },
        expected={"addresses": ["10.0.1.8"]},
    )

    [matrix] = matrices_from_events([event])

    assert {"host": ["dns_record_current"], "azure 168.63.129.16": []} == {
        resolver.name: [ref.check_id for ref in matrix.cells[(fqdn, resolver)].explains]
        for resolver in matrix.resolvers
    }


def change_event(change: str, event: dict[str, Any]) -> dict[str, Any]:
    """A change event as the daemon's state database stores and delivers it."""
    return {
        "schema_version": "1.1",
        "kind": "change",
        "change": change,
        "event_id": f"{event['run_id']}|{event['uid']}",
        "uid": event["uid"],
        "status": event["status"],
        "previous_status": None,
        "failing_since": None,
        "run_id": event["run_id"],
        "observed_at": event["observed_at"],
        "finding": event,
    }


def test_history_from_change_events_ignores_reminders() -> None:
    """failing, still_failing, resolved: one resolved episode, named after the resource."""

    def at(hours: int, status: Status) -> dict[str, Any]:
        return finding_event(
            "keyvault_network_bypass_azure_services",
            "kv.example",
            status,
            run_id=f"run-{hours}",
            observed_at=T0 + timedelta(hours=hours),
        )

    changes = [
        change_event("failing", at(0, Status.FAIL)),
        change_event("still_failing", at(24, Status.FAIL)),
        change_event("resolved", at(30, Status.PASS)),
    ]

    report = history_from_change_events([], changes)

    [episode] = episodes(report.transitions)
    assert (T0, T0 + timedelta(hours=30)) == (episode.started, episode.resolved)
    assert "kv.example" == report.named[episode.uid]["resource_name"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"observed_at": "yesterday"}, "observed_at: Invalid isoformat string"),
        ({"evidence": ["a"]}, "evidence: expected an object or null"),
        ({"evidence": {"observed": 1, "expected": {}}}, "evidence.observed: expected an object"),
        ({"references": "https://x"}, "references: expected a list"),
    ],
)
def test_findings_file_checks_the_parts_the_report_reads(
    tmp_path: Path, change: dict[str, Any], problem: str
) -> None:
    """An event whose evidence, references or time has the wrong type is refused, naming it."""
    path = tmp_path / "findings.jsonl"
    path.write_text(json.dumps(finding_event("w_x_y", "mlw-a") | change) + "\n")

    with pytest.raises(FindingsFileError, match=re.escape(f"findings.jsonl:1: {problem}")):
        list(read_findings_file(path))


def test_only_web_references_become_links() -> None:
    """A javascript: reference is shown as text, an https one as a link."""
    event = finding_event("w_x_y", "mlw-a")
    event["references"] = ["javascript:alert(1)", "https://learn.microsoft.com/azure/"]

    parsed = Elements(page_of([event]))

    assert ["https://learn.microsoft.com/azure/"] == [
        a["href"] for a in parsed.tags("a") if not (a.get("href") or "#").startswith("#")
    ]
    assert [({"class": "mono"}, "javascript:alert(1)")] == parsed.where("span", class_="mono")[-1:]


def test_write_report_replaces_the_file_whole(tmp_path: Path) -> None:
    """An existing report is replaced, and no partial file is left beside it."""
    path = tmp_path / "state" / "report.html"
    path.parent.mkdir()
    path.write_text("old")

    write_report(path, history_from_runs([scoring_event()]), T0)

    assert path.read_text().startswith("<!DOCTYPE html>")
    assert ["report.html"] == [p.name for p in path.parent.iterdir()]


# --- DNS answers as the DNS checks summarise them ---------------------------------------------


@pytest.mark.parametrize(
    ("summary", "expected"),
    [
        ("10.0.1.8", {"rcode": "NOERROR", "addresses": ["10.0.1.8"], "cname_chain": []}),
        (
            "a.privatelink.api.azureml.ms -> 10.0.1.8,10.0.1.9",
            {
                "rcode": "NOERROR",
                "addresses": ["10.0.1.8", "10.0.1.9"],
                "cname_chain": ["a.privatelink.api.azureml.ms"],
            },
        ),
        ("2603:1030::1", {"rcode": "NOERROR", "addresses": ["2603:1030::1"], "cname_chain": []}),
        (
            "a -> b -> (no address)",
            {"rcode": "NOERROR", "addresses": [], "cname_chain": ["a", "b"]},
        ),
        ("NXDOMAIN", {"rcode": "NXDOMAIN", "detail": ""}),
        (
            "TIMEOUT: no reply from 127.0.0.1:5353 in 2.0 s",
            {"rcode": "TIMEOUT", "detail": "no reply from 127.0.0.1:5353 in 2.0 s"},
        ),
        ("SERVFAIL", {"rcode": "SERVFAIL", "detail": ""}),
    ],
)
def test_answer_summaries_are_read_back(summary: str, expected: dict[str, Any]) -> None:
    """Each summary form the DNS checks write gives the rcode, addresses and chain it stands for."""
    assert {"resolver_kind": "custom", **expected} == parse_summary("custom 10.0.0.4", summary)


@pytest.mark.parametrize("summary", ["a -> SERVFAIL", "resolves somewhere", "10.0.1.8, 10.0.1.9"])
def test_an_unreadable_summary_is_an_error(summary: str) -> None:
    """A summary in no known form is refused, naming the resolver and the text."""
    with pytest.raises(
        MalformedResolution,
        match=re.escape(f"host: cannot read the DNS answer summary {summary!r}"),
    ):
        parse_summary("host", summary)


def test_matrix_from_a_row_of_summaries() -> None:
    """A name finding's ``resolution`` row - the summary form netverify emitted before
    ``resolutions``, still in older findings files - becomes cells in its workspace's matrix.
    What the checks emit now is read in tests/test_report_real_output.py."""
    event = finding_event(
        "dns_name_resolves_private_endpoint",
        FQDN,
        observed={
            "fqdn": FQDN,
            "purpose": "scoring",
            "workspace": "mlw-broken",
            "resolution": {
                "host": "ep.privatelink.api.azureml.ms -> 20.62.58.12",
                "custom 10.0.0.4": "TIMEOUT: no reply in 2 s",
                "azure 168.63.129.16": "NXDOMAIN",
                "custom 10.0.0.5": "not asked",
            },
        },
        expected={"addresses": ["10.0.1.9"], "resolver": ["host"]},
    )

    [matrix] = matrices_from_events([event])

    assert "mlw-broken" == matrix.workspace
    assert [
        ("host", Outcome.PUBLIC),
        ("custom 10.0.0.4", Outcome.TIMEOUT),
        ("azure 168.63.129.16", Outcome.NXDOMAIN),
    ] == [(r.name, matrix.cells[(FQDN, r)].outcome) for r in matrix.resolvers]
    assert ("ep.privatelink.api.azureml.ms",) == matrix.cells[
        (FQDN, Resolver("host", "host"))
    ].cname_chain


def custom_server_event() -> dict[str, Any]:
    """A custom DNS server's finding: answers for two names, and no workspace of its own."""
    return finding_event(
        "dns_custom_server_forwards_zones",
        "10.0.0.4",
        observed={
            "resolution": {
                "a.api.azureml.ms": {"custom 10.0.0.4": "20.1.1.1"},
                "b.api.azureml.ms": {"custom 10.0.0.4": "10.0.1.6"},
            }
        },
    )


def test_matrix_from_summaries_of_several_names() -> None:
    """``{fqdn: {resolver: summary}}`` and ``names[].resolution`` rows (older findings files'
    summary form) each land in the right matrix."""
    server = custom_server_event()
    zone = finding_event(
        "privatedns_zone_exists",
        "zone.example",
        observed={
            "names": [
                {
                    "fqdn": "c.api.azureml.ms",
                    "workspace": "mlw-c",
                    "resolution": {"azure 168.63.129.16": "NXDOMAIN"},
                }
            ]
        },
    )

    matrices = matrices_from_events([server, zone])

    assert [
        ("mlw-c", ("c.api.azureml.ms",)),
        ("(no workspace)", ("a.api.azureml.ms", "b.api.azureml.ms")),
    ] == [(m.workspace, m.fqdns) for m in matrices]


def test_answers_without_a_workspace_join_the_workspace_that_needs_the_name() -> None:
    """A custom server's answer for a workspace's name lands in that workspace's matrix."""
    name = finding_event(
        "dns_name_resolves_private_endpoint",
        "a.api.azureml.ms",
        Status.PASS,
        observed={
            "fqdn": "a.api.azureml.ms",
            "workspace": "mlw-a",
            "resolution": {"host": "10.0.1.5"},
        },
    )
    server = custom_server_event()

    matrices = matrices_from_events([server, name])

    assert [
        ("mlw-a", ("a.api.azureml.ms",), ["host", "custom 10.0.0.4"]),
        ("(no workspace)", ("b.api.azureml.ms",), ["custom 10.0.0.4"]),
    ] == [(m.workspace, m.fqdns, [r.name for r in m.resolvers]) for m in matrices]
    [ref] = matrices[0].cells[("a.api.azureml.ms", Resolver("custom", "custom 10.0.0.4"))].explains
    assert "dns_custom_server_forwards_zones" == ref.check_id


def test_dns_answers_in_evidence_link_to_the_matrix_instead_of_showing_json() -> None:
    """The evidence row of the answers links the finding's workspace matrix; no JSON of them."""
    parsed = Elements(page_of([scoring_event()]))

    [(_, row)] = [(a, t) for a, t in parsed.where("tr") if t.startswith("resolutions ")]
    assert "resolutions in the DNS resolution matrix —" == row
    [matrix] = parsed.where("table", class_="matrix")
    links = [a["href"] for a in parsed.tags("a") if a.get("href", "").startswith("#matrix-")]
    assert [f"#{matrix[0]['id']}"] == links


# --- problems --------------------------------------------------------------------------------


def test_problems_fold_symptoms_under_the_root_cause_they_name() -> None:
    """Two roots sharing a command are one problem; the symptom naming one of them is folded
    into it (in a <details>) and is no problem of its own; passes make none."""
    command = {"text": "Link the zone.", "command": "az network private-dns link vnet create"}
    roots = [
        finding_event(
            "privatedns_zone_linked_agent_vnet",
            f"zone-{i}",
            Status.FAIL,
            observed={"workspace": "mlw-broken"},
        )
        | {"uid": f"root-{i}", "root_cause": True, "caused_by": [], "remediation": command}
        for i in (1, 2)
    ]
    symptom = scoring_event() | {"uid": "symptom", "root_cause": False, "caused_by": ["root-2"]}
    healthy = scoring_event(Status.PASS, subject="ok") | {"uid": "ok", "root_cause": None}
    events = [*roots, symptom, healthy]

    found = event_problems(events)
    parsed = Elements(page_of(events))

    assert [(["root-1", "root-2"], ["symptom"])] == [
        ([r["uid"] for r in p.causes], [s["uid"] for s in p.symptoms]) for p in found
    ]
    assert ["1 problem"] == [t for _, t in parsed.where("h2", id="problems-heading")]
    [(_, block)] = parsed.where("article", class_="problem")
    # finding_event makes workspace findings: each root's resource is a workspace of its own;
    # the symptom's name is counted, its workspace (named in its evidence only) is not.
    # Only the kinds it breaks are counted: no "0 deployment(s)" claim.
    assert "Breaks 1 name(s), 2 workspace(s)." in block
    [(_, index)] = parsed.where("ol", class_="problem-index")
    assert "+ 1 symptom(s)" in index
    assert "1 symptom(s)" in block
    assert "az network private-dns link vnet create" in block


def chain_edges(svg: str) -> dict[str, bool]:
    """Each edge of a chain picture: its title (from → to: why) -> broken."""
    return {
        title: "edge-broken" in classes
        for classes, title in re.findall(r'class="(edge[^"]*)"[^>]*><title>([^<]*)</title>', svg)
    }


def test_the_chain_draws_forwarding_hops_and_the_zone_link() -> None:
    """host → each VNet DNS server → Azure DNS: a down server breaks the host's edge to it (and
    claims nothing about its forwarding); a server that answers publicly what Azure DNS answers
    right breaks its edge to Azure DNS; a working one breaks neither; a failed zone-link check
    breaks Azure DNS's edge to that zone even where the answers (from elsewhere) look right."""
    api, vault = "ws.workspace.eastus.api.azureml.ms", "kv.vault.azure.net"
    host, ok, down, public, azure = (
        Resolver("host", "host"),
        Resolver("custom", "custom 10.0.0.4"),
        Resolver("custom", "custom 10.0.0.5"),
        Resolver("custom", "custom 10.0.0.6"),
        Resolver("azure", "azure 168.63.129.16"),
    )
    right = {
        api: Cell(
            "NOERROR", ("10.0.1.5",), ("ws.privatelink.api.azureml.ms",), expected=("10.0.1.5",)
        ),
        vault: Cell(
            "NOERROR",
            ("10.0.1.9",),
            ("kv.privatelink.vaultcore.azure.net",),
            expected=("10.0.1.9",),
        ),
    }
    cells = {(f, r): c for f, c in right.items() for r in (host, ok, azure)}
    cells |= {(f, down): Cell("TIMEOUT", detail="no reply in 2 s") for f in right}
    cells |= {(api, public): Cell("NOERROR", ("52.1.2.3",), expected=("10.0.1.5",))}
    cells |= {(vault, public): right[vault]}
    matrix = ResolutionMatrix("mlw", (api, vault), (host, ok, down, public, azure), cells)

    edges = chain_edges(str(chain_svg(matrix, "c", frozenset({"privatelink.vaultcore.azure.net"}))))

    assert {
        "host → custom 10.0.0.4: answers": False,
        "custom 10.0.0.4 → azure 168.63.129.16: passes Azure DNS's answers on": False,
        "host → custom 10.0.0.5: no answer for any name": True,
        "custom 10.0.0.5 → azure 168.63.129.16: no answer to compare with Azure DNS's": False,
        "host → custom 10.0.0.6: answers": False,
        "custom 10.0.0.6 → azure 168.63.129.16: 1 name(s) Azure DNS answers right come back wrong": True,
        "azure 168.63.129.16 → privatelink.api.azureml.ms: 0 wrong answer(s)": False,
        "azure 168.63.129.16 → privatelink.vaultcore.azure.net: 0 wrong answer(s); "
        "the zone is not linked where Azure DNS answers": True,
    }.items() <= edges.items()
