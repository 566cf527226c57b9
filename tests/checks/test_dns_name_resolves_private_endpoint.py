"""dns_name_resolves_private_endpoint: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import dataclasses

from netverify.config import WORKSPACE_TYPE
from netverify.facts import (
    EndpointAddresses,
    ExpectedName,
    PrivateEndpointConnection,
    Read,
    Workspace,
)
from netverify.model import Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    ENDPOINT_ID,
    HOST,
    VNET_ID,
    arm_id,
    check_findings,
    check_statuses,
    dns_answer,
    dns_facts,
    expected_name,
    healthy_answers,
    only_finding,
    workspace,
)

CHECK_ID = "dns_name_resolves_private_endpoint"


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_headline_fails_on_public_answer_and_carries_the_matrix() -> None:
    """The workload's resolver gives the public IP: fail, evidence has every resolver's answer."""
    answers = [
        dns_answer(HOST, ("52.1.1.1",)),
        dns_answer(CUSTOM, ("52.1.1.1",)),
        dns_answer(AZURE),
    ]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert Status.FAIL is finding.status
    assert finding.evidence is not None
    cells = {c["resolver"]: c for c in finding.evidence.observed["resolutions"]}
    assert ["52.1.1.1"] == cells[HOST]["addresses"]
    assert (["10.0.1.5"], "azure") == (cells[AZURE]["addresses"], cells[AZURE]["resolver_kind"])
    assert ["ws.workspace.eastus.privatelink.api.azureml.ms"] == cells[AZURE]["cname_chain"]


def test_headline_fails_when_the_resolver_fails_on_a_name_that_exists() -> None:
    """No answer from the workload's resolver for a name Azure DNS resolves privately: the
    workload cannot resolve it - a fail (exit 1), not "could not observe"."""
    answers = [
        dns_answer(HOST, (), rcode="TIMEOUT", chain=()),
        dns_answer(CUSTOM),
        dns_answer(AZURE),
    ]

    finding = only_finding(CHECK_ID, dns_facts(answers))

    assert Status.FAIL is finding.status
    assert finding.message == (
        f"{API_NAME} (workspace API of mlw-test) does not resolve through host (TIMEOUT), "
        "although Azure DNS gives it its private endpoint 10.0.1.5: the workload cannot resolve "
        "it (the DNS server's own finding says why)."
    )


def test_headline_is_an_error_when_nothing_shows_the_name_exists() -> None:
    """Azure DNS fails as well and no linked zone holds the record: not observed (error)."""
    answers = [
        dns_answer(HOST, (), rcode="SERVFAIL", chain=()),
        dns_answer(CUSTOM, (), rcode="SERVFAIL", chain=()),
        dns_answer(AZURE, (), rcode="TIMEOUT", chain=()),
    ]

    assert [Status.ERROR] == check_statuses(CHECK_ID, dns_facts(answers, zones=[]))


def test_scoring_name_no_endpoint_serves_fails_with_why() -> None:
    """Kind 6: the workspace's endpoint predates online endpoints, so no endpoint lists the
    scoring record; the name is judged (not dropped) and the fix is the one that works."""
    scoring = dataclasses.replace(
        expected_name("ep-a.eastus.inference.ml.azure.com", endpoints=()), purpose="scoring"
    )
    facts = dns_facts(healthy_answers("ep-a.eastus.inference.ml.azure.com"), names=[scoring])

    [finding] = [f for f in check_findings(CHECK_ID, facts) if f.status is Status.FAIL]

    assert (
        "is served by no private endpoint: no private endpoint of mlw-test lists" in finding.message
    )
    assert "before online endpoints existed (May 2022)" in finding.message
    assert finding.remediation is not None and "Recreate" in finding.remediation.text


def _connected(ws_name: str, *endpoints: str | None, upper: bool = False) -> Read[Workspace]:
    """A read workspace whose privateEndpointConnections name ``endpoints`` (None: a
    connection without a private endpoint id); ``upper``: its id spelled upper-case."""
    ws = workspace(ws_name)
    ws = dataclasses.replace(ws, id=ws.id.upper()) if upper else ws
    connections = tuple(
        PrivateEndpointConnection(f"{ws.id}/privateEndpointConnections/c{i}", pe, "Approved", None)
        for i, pe in enumerate(endpoints)
    )
    return Read(ws.id, value=dataclasses.replace(ws, private_endpoint_connections=connections))


def test_scoring_names_no_endpoint_serves_name_their_own_workspace_endpoints() -> None:
    """Several names served by no endpoint, of workspaces with several private endpoints (ids
    spelled in another case than the names' workspace ids): each remediation lists its own
    workspace's endpoints in their order; a workspace not read gets the placeholder."""
    pe = ENDPOINT_ID.replace("pe-mlw-test", "PE-MLW-TEST-{}")
    test = _connected("mlw-test", pe.format(1), None, pe.format(2), upper=True)
    other = _connected("mlw-other", pe.format(3))
    scoring = [
        dataclasses.replace(
            expected_name(f"ep-{n}.eastus.inference.ml.azure.com", endpoints=()),
            purpose="scoring",
            workspace_id=arm_id(WORKSPACE_TYPE, ws),
            workspace_name=ws,
        )
        for n, ws in ((1, "mlw-test"), (2, "mlw-other"), (3, "mlw-unread"))
    ]
    answers = [
        a for n in (1, 2, 3) for a in healthy_answers(f"ep-{n}.eastus.inference.ml.azure.com")
    ]
    facts = dataclasses.replace(dns_facts(answers, names=scoring), workspaces=(test, other))

    fails = [f for f in check_findings(CHECK_ID, facts) if f.status is Status.FAIL]

    show = "az network private-endpoint show --query customDnsConfigs --ids "
    assert [(f.resource_id, f.remediation and f.remediation.command) for f in fails] == [
        ("ep-1.eastus.inference.ml.azure.com", show + f"{pe.format(1)} {pe.format(2)}"),
        ("ep-2.eastus.inference.ml.azure.com", show + pe.format(3)),
        ("ep-3.eastus.inference.ml.azure.com", show + "<private-endpoint-id>"),
    ]


SPOKE_ENDPOINT = ENDPOINT_ID.replace("pe-mlw-test", "pe-mlw-spoke")
SPOKE_VNET = VNET_ID.replace("vnet-hub", "vnet-spoke")
OTHER_ENDPOINT = ENDPOINT_ID.replace("pe-mlw-test", "pe-mlw-other")
OTHER_VNET = VNET_ID.replace("vnet-hub", "vnet-other")


def _two_endpoints(reachable: tuple[str, ...]) -> list[ExpectedName]:
    return [
        expected_name(
            endpoints=(
                EndpointAddresses(SPOKE_ENDPOINT, ("10.2.0.5",), SPOKE_VNET),
                EndpointAddresses(OTHER_ENDPOINT, ("10.3.0.5",), OTHER_VNET),
            ),
            reachable=reachable,
        )
    ]


def test_answer_of_a_peered_spoke_endpoint_is_right_from_the_hub() -> None:
    """Kind 2, hub-and-spoke: the endpoint lives in a spoke peered with the agent's hub; its
    IP is the right answer, and the other VNet's endpoint is not demanded as well."""
    facts = dns_facts(healthy_answers(ip="10.2.0.5"), names=_two_endpoints((SPOKE_ENDPOINT,)))

    assert [Status.PASS] == check_statuses(CHECK_ID, facts)


def test_answer_of_an_endpoint_the_agent_cannot_reach_fails() -> None:
    """The same name answered with the IP of the endpoint in an unpeered VNet: wrong from here."""
    facts = dns_facts(healthy_answers(ip="10.3.0.5"), names=_two_endpoints((SPOKE_ENDPOINT,)))

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert "not to its private endpoint 10.2.0.5" in finding.message
    assert [SPOKE_ENDPOINT] == finding.evidence.observed["private_endpoints"]


def test_checks_of_one_run_show_one_name_row_each_with_its_own_keys() -> None:
    """The name's row is built once per run and shared by the checks that show it: this
    check's evidence is the row itself, and a key another check adds (dns_answer_inside_vnet's
    ``outside``) stays in that check's evidence."""
    facts = dns_facts(healthy_answers())

    [inside] = check_findings("dns_answer_inside_vnet", facts)
    [mine] = check_findings(CHECK_ID, facts)

    assert inside.evidence is not None and mine.evidence is not None and facts.dns is not None
    assert inside.evidence.observed == {**mine.evidence.observed, "outside": {}}
    assert mine.evidence.observed == {
        "fqdn": API_NAME,
        "purpose": "workspace API",
        "workspace": "mlw-test",
        "private_endpoints": [ENDPOINT_ID],
        "sources": [],
        "resolutions": mine.evidence.observed["resolutions"],
    }
    assert [r["resolver"] for r in mine.evidence.observed["resolutions"]] == [
        r.name for r in facts.dns.resolvers
    ]
