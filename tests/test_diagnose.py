"""Root causes and symptoms (netverify.diagnose): the relation is made from the links the checks
fill in, never from check ids; on the demo, one problem per problem the scenario plants."""

from __future__ import annotations

from typing import Any

import pytest

from netverify.checklib.catalog import load_checks
from netverify.cli import main
from netverify.diagnose import cause_identified, diagnose, event_problems, problems
from netverify.model import Finding, Link, Remediation, Status
from netverify.sim.scenario import builtin_names, builtin_scenario
from tests.conftest import scenario_events

META = {c.meta.id: c.meta for c in load_checks()}
NAME = "ep.eastus.inference.ml.azure.com"


def fail(
    check: str,
    resource: str,
    *,
    breaks: set[str] | None = None,
    needs: set[str] | None = None,
    command: str | None = None,
) -> Finding:
    return Finding(
        META[check],
        Status.FAIL,
        resource,
        f"{check} on {resource}",
        remediation=Remediation("fix it", command) if command else None,
        breaks=frozenset(breaks or ()),
        needs=frozenset(needs or ()),
    )


def test_a_symptom_names_the_root_cause_at_the_end_of_the_chain() -> None:
    """name -> server outage -> forwarding loop: the name names the loop only, the outage too."""
    loop = fail(
        "dns_forwarding_ruleset_no_loop", "/rs", breaks={Link.route(NAME, "custom 10.0.0.4")}
    )
    outage = fail(
        "dns_resolver_answers",
        "10.0.0.4",
        breaks={Link.answer(NAME, "custom 10.0.0.4")},
        needs={Link.route(NAME, "custom 10.0.0.4")},
    )
    name = fail(
        "dns_name_resolves_private_endpoint",
        NAME,
        needs={Link.answer(NAME.upper(), "CUSTOM 10.0.0.4"), Link.record(NAME)},
    )
    passed = Finding(META["privatedns_record_present"], Status.PASS, NAME, "ok")

    diagnosed = diagnose([name, passed, outage, loop])

    assert [f.uid for f in diagnosed] == [name.uid, passed.uid, outage.uid, loop.uid]
    assert [(loop.uid,), (), (loop.uid,), ()] == [f.caused_by for f in diagnosed]
    [problem] = problems(diagnosed)
    assert problem.causes == (diagnosed[3],)
    assert {f.uid for f in problem.symptoms} == {name.uid, outage.uid}


def test_a_symptom_with_two_causes_names_both_and_stays_out_of_the_problem_count() -> None:
    record = fail("privatedns_record_present", NAME, breaks={Link.record(NAME)})
    host = fail("dns_host_resolver_matches_vnet", NAME, breaks={Link.answer(NAME, "host")})
    name = fail(
        "dns_name_resolves_private_endpoint",
        NAME,
        needs={Link.answer(NAME, "host"), Link.record(NAME)},
    )

    diagnosed = diagnose([name, record, host])

    assert tuple(sorted([record.uid, host.uid])) == diagnosed[0].caused_by
    assert 2 == len(problems(diagnosed))


def test_a_symptom_nobody_explains_is_a_problem_whose_cause_is_not_identified() -> None:
    """Its needs are broken by nothing in the run: it stays, and says so; a root cause that
    breaks something and needs a cause nobody broke is still identified."""
    name = fail("dns_name_resolves_private_endpoint", NAME, needs={Link.record(NAME)})
    server = fail(
        "dns_resolver_answers",
        "10.0.0.5",
        breaks={Link.answer(NAME, "custom 10.0.0.5")},
        needs={Link.route(NAME, "custom 10.0.0.5")},
    )

    found = problems(diagnose([name, server]))

    assert {name.uid: False, server.uid: True} == {
        p.lead.uid: cause_identified(p.lead.needs, p.lead.breaks) for p in found
    }
    assert all(p.symptoms == () for p in found)


def test_root_causes_with_one_fix_are_one_problem() -> None:
    """Three records one zone-group change restores: one problem; another command: another."""
    command = "az network private-endpoint dns-zone-group add --endpoint-name pe-a"
    same = [
        fail("privatedns_record_present", f"{n}.api.azureml.ms", command=command) for n in "abc"
    ]
    other = fail("privatedns_record_present", "d.api.azureml.ms", command=command + "-other")
    no_command = [fail("privatedns_record_present", f"{n}.notebooks.azure.net") for n in "ef"]

    found = problems(diagnose([*same, other, *no_command]))

    assert sorted([1, 1, 1, 3]) == sorted(len(p.causes) for p in found)
    [grouped] = [p for p in found if len(p.causes) == 3]
    assert grouped.lead.uid == min(f.uid for f in same)


def test_a_cycle_of_needs_is_cut_and_leaves_a_root() -> None:
    a = fail("dns_resolver_answers", "10.0.0.4", breaks={"x"}, needs={"y"})
    b = fail("dns_resolver_answers", "10.0.0.5", breaks={"y"}, needs={"x"})

    diagnosed = diagnose([a, b])

    [root] = [f for f in diagnosed if not f.caused_by]
    [symptom] = [f for f in diagnosed if f.caused_by]
    assert symptom.caused_by == (root.uid,)
    assert root.uid == min(a.uid, b.uid)


def test_only_fails_take_part() -> None:
    """An error or skipped finding neither causes nor follows: its links are ignored."""
    error = Finding(
        META["dns_resolver_answers"], Status.ERROR, "10.0.0.4", "no", breaks=frozenset({"x"})
    )
    name = fail("dns_name_resolves_private_endpoint", NAME, needs={"x"})

    diagnosed = diagnose([error, name])

    assert diagnosed == (error, name)


@pytest.fixture(scope="module")
def demo_events() -> list[dict[str, Any]]:
    return scenario_events("demo")


@pytest.mark.parametrize("scenario", builtin_names())
def test_each_builtin_scenario_prints_one_problem_per_planted_problem(scenario: str) -> None:
    """Each planted problem is the lead (or a same-fix cause) of exactly one problem, of the
    check the scenario names, and no problem is left over."""
    planted = builtin_scenario(scenario).planted
    found = event_problems(scenario_events(scenario))

    assert len(planted) == len(found)
    for plant in planted:
        matching = [
            p
            for p in found
            if any(
                c["check_id"] == plant.check
                and plant.resource.lower() in f"{c['resource_id']} {c['subject']}".lower()
                for c in p.causes
            )
        ]
        assert 1 == len(matching), (plant, [p.lead["check_id"] for p in matching])
    assert all(p.lead["cause_identified"] for p in found)


def test_the_demo_plants_21_problems(demo_events: list[dict[str, Any]]) -> None:
    """The README's figure: 21 planted problems, 21 printed."""
    assert len(builtin_scenario().planted) == len(event_problems(demo_events)) == 21


def test_every_demo_symptom_names_root_causes_of_the_run(
    demo_events: list[dict[str, Any]],
) -> None:
    fails = {e["uid"]: e for e in demo_events if e["status"] == "fail"}
    symptoms = [e for e in fails.values() if not e["root_cause"]]

    assert len(symptoms) == 18
    for symptom in symptoms:
        assert symptom["caused_by"] and symptom["cause_identified"] is None
        assert all(fails[uid]["root_cause"] for uid in symptom["caused_by"])
    assert all(e["caused_by"] == [] for e in demo_events if e["status"] != "fail")
    assert all(e["root_cause"] is None for e in demo_events if e["status"] != "fail")


def test_the_table_leads_with_problems_and_hides_passes(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """First line: the problem count; a symptom is printed under its cause; passes only with
    --all; the summary line keeps every count."""
    assert 0 == main(["demo"])
    lines = capsys.readouterr().out.splitlines()
    assert (
        lines[0] == "21 problem(s): 23 root-cause finding(s), 18 finding(s) that follow from them"
    )
    assert lines[2].startswith("1. CRITICAL  ")
    start = next(i for i, x in enumerate(lines) if x.endswith("dns_resolver_answers  10.0.0.5"))
    block = lines[start : lines.index("", start)]
    follows = next(i for i, x in enumerate(block) if x.strip().startswith("follows from it ("))
    assert any("dns_custom_server_forwards_zones  10.0.0.5:" in x for x in block[follows:])
    assert not any(x.startswith("PASS ") for x in lines)
    assert lines[-1].endswith("(passes hidden: --all shows them)")

    assert 0 == main(["demo", "--all"])
    shown = capsys.readouterr().out.splitlines()
    assert any(x.startswith("PASS ") for x in shown)
    assert not shown[-1].endswith("(passes hidden: --all shows them)")
