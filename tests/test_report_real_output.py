"""The HTML report read on what the checks really emit (every built-in scenario, run end to end),
never on evidence built by hand: a hand-built evidence can keep an old shape and pass."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest

from netverify.checklib.catalog import load_checks
from netverify.model import Agent, RunContext
from netverify.report import history_from_runs, render_html
from netverify.report.matrix import Outcome, Resolver, matrices_from_events
from netverify.sim.scenario import builtin_names
from netverify.sinks.events import to_event
from netverify.testing import API_NAME, AZURE, CUSTOM, HOST, dns_answer, dns_facts, private_zone
from tests.conftest import scenario_events
from tests.test_report import Elements

ZONE_CHECKS = {
    "privatedns_record_matches_endpoint",
    "privatedns_record_present",
    "privatedns_zone_exists",
    "privatedns_zone_linked_agent_vnet",
}
AT = datetime(2026, 1, 1, 13, 0, tzinfo=UTC)


@pytest.fixture(scope="module", params=builtin_names())
def run(request: pytest.FixtureRequest) -> tuple[list[dict[str, Any]], Elements]:
    """One built-in scenario's events and its rendered report."""
    events = scenario_events(request.param)
    return events, Elements(render_html(history_from_runs(events), AT))


def _names_answers(event: dict[str, Any]) -> list[dict[str, Any]]:
    """The answers a zone finding carries: in ``names[]`` rows, or on its own name row."""
    observed = event["evidence"]["observed"]
    rows = observed.get("names") or [observed]
    return [answer for row in rows for answer in row["resolutions"]]


def test_every_failing_zone_finding_is_linked_from_a_matrix_cell(
    run: tuple[list[dict[str, Any]], Elements],
) -> None:
    """Each fail or error of a privatedns_* check has a link to it in a cell of the rendered
    resolution matrix, and its section is there to land on."""
    events, page = run
    failing = {
        e["uid"]: e["check_id"]
        for e in events
        if e["check_id"] in ZONE_CHECKS and e["status"] in ("fail", "error")
    }
    # A matrix cell links each finding it explains as <span class="explains">explains <a>.
    found = page.found
    from_cells = {
        str(found[i + 1][1]["href"]).removeprefix("#finding-"): "".join(found[i + 1][2]).strip()
        for i, (tag, attrs, _) in enumerate(found)
        if tag == "span" and attrs.get("class") == "explains" and found[i + 1][0] == "a"
    }

    assert failing, "the scenario plants no zone problem"
    assert failing.items() <= from_cells.items()
    for uid in failing:
        assert page.where(id=f"finding-{uid}"), uid


def test_every_zone_finding_has_its_answers_in_its_workspace_matrix(
    run: tuple[list[dict[str, Any]], Elements],
) -> None:
    """Pass or fail, every answer a privatedns_* finding carries is a cell of the matrix of the
    workspace that needs the name, with the rcode and addresses the check saw."""
    events, _ = run
    matrices = {m.workspace: m for m in matrices_from_events(events)}
    zone_events = [e for e in events if e["check_id"] in ZONE_CHECKS and e["evidence"]]
    checked = 0
    for event in zone_events:
        observed = event["evidence"]["observed"]
        for row in observed.get("names") or [observed]:
            matrix = matrices[row["workspace"]]
            for answer in row["resolutions"]:
                resolver = Resolver(answer["resolver_kind"], answer["resolver"])
                cell = matrix.cells[(answer["fqdn"], resolver)]
                assert (answer["rcode"], tuple(answer["addresses"])) == (cell.rcode, cell.addresses)
                checked += 1

    assert {e["check_id"] for e in zone_events} == ZONE_CHECKS
    assert checked >= len(zone_events)


def test_a_resolver_not_asked_is_an_empty_cell_not_an_error() -> None:
    """A check's ``resolutions`` row with rcode NOT_ASKED (the agent never asked that resolver)
    shows as "not asked", explains no finding, and leaves the asked cells as they were."""
    [check] = [c for c in load_checks() if c.meta.id == "privatedns_record_present"]
    facts = dns_facts(
        [dns_answer(HOST, ("20.1.2.3",)), dns_answer(AZURE, rcode="NXDOMAIN", addresses=())]
    )
    run = RunContext(
        "00000000-0000-4000-8000-000000000009", AT, AT, Agent("agent-test", None), "AzureCloud"
    )
    events = [to_event(f, run) for f in check.module.evaluate(facts)]
    assert [{"rcode": "NOT_ASKED"}] == [
        {"rcode": a["rcode"]} for e in events for a in _names_answers(e) if a["resolver"] == CUSTOM
    ]

    [matrix] = matrices_from_events(events)

    assert [HOST, AZURE] == [r.name for r in matrix.resolvers]
    fqdn = matrix.fqdns[0]
    assert Outcome.PUBLIC == matrix.cells[(fqdn, Resolver("host", HOST))].outcome
    assert Outcome.NXDOMAIN == matrix.cells[(fqdn, Resolver("azure", AZURE))].outcome
    page = Elements(render_html(history_from_runs(events), AT))
    assert [] == [t for _, t in page.where("td") if "NOT_ASKED" in t]


def test_a_record_with_a_right_and_a_stale_ip_links_only_the_stale_answer() -> None:
    """Real findings of a zone whose record holds the endpoint's 10.0.1.5 and a stale
    10.0.1.99, which the host resolver answers: the host's cell is Stale and links both the
    record finding and the name's; the cells that answer 10.0.1.5 are Right and link neither."""
    zone = private_zone({"ws.workspace.eastus": ("10.0.1.5", "10.0.1.99")})
    facts = dns_facts(
        [dns_answer(HOST, ("10.0.1.99",)), dns_answer(CUSTOM), dns_answer(AZURE)], zones=[zone]
    )
    run = RunContext(
        "00000000-0000-4000-8000-00000000000a", AT, AT, Agent("agent-test", None), "AzureCloud"
    )
    wanted = {"privatedns_record_matches_endpoint", "dns_name_resolves_private_endpoint"}
    events = [
        to_event(f, run)
        for c in load_checks()
        if c.meta.id in wanted
        for f in c.module.evaluate(facts)
    ]
    assert {
        ("privatedns_record_matches_endpoint", "fail"),
        ("dns_name_resolves_private_endpoint", "fail"),
    } == {(e["check_id"], e["status"]) for e in events}

    [matrix] = matrices_from_events(events)

    assert {
        HOST: (Outcome.STALE, sorted(wanted)),
        CUSTOM: (Outcome.RIGHT, []),
        AZURE: (Outcome.RIGHT, []),
    } == {
        r.name: (
            matrix.cells[(API_NAME, r)].outcome,
            sorted(ref.check_id for ref in matrix.cells[(API_NAME, r)].explains),
        )
        for r in matrix.resolvers
    }


def test_a_failing_zone_finding_links_the_matrix_of_its_workspace(
    run: tuple[list[dict[str, Any]], Elements],
) -> None:
    """A failing privatedns_* finding belongs to the workspace of the names it serves: its
    section links that workspace's matrix; a zone finding's ``names`` row lists the names
    instead of a JSON dump of their answers."""
    events, page = run
    matrix_of = {
        text.removeprefix("Workspace "): str(a["id"]).removesuffix("-caption")
        for a, text in page.where("caption")
        if (a.get("id") or "").startswith("matrix-")
    }
    failing = [e for e in events if e["check_id"] in ZONE_CHECKS and e["status"] == "fail"]
    assert failing, "the scenario plants no zone problem"
    for event in failing:
        observed = event["evidence"]["observed"]
        rows = observed.get("names") or [observed]
        section = _section(page, event["uid"])

        hrefs = [str(a["href"]) for tag, a, _ in section if tag == "a" and a.get("href")]
        assert f"#{matrix_of[rows[0]['workspace']]}" in hrefs, event["check_id"]
        if "names" in observed:
            [names_row] = [
                " ".join("".join(text).split())
                for tag, _, text in section
                if tag == "tr" and "".join(text).strip().startswith("names")
            ]
            listed = ", ".join(r["fqdn"] for r in rows)
            assert f"names {listed} — answers in the DNS resolution matrix —" == names_row


def _section(page: Elements, uid: str) -> list[tuple[str, dict[str, str | None], list[str]]]:
    """The elements of the finding's <article>, in order."""
    found = page.found
    start = next(
        i
        for i, (tag, attrs, _) in enumerate(found)
        if tag == "article" and attrs.get("id") == f"finding-{uid}"
    )
    end = next((i for i in range(start + 1, len(found)) if found[i][0] == "article"), len(found))
    return found[start:end]
