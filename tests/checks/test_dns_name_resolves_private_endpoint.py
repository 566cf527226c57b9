"""dns_name_resolves_private_endpoint: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import dataclasses

from netverify.config import WORKSPACE_TYPE
from netverify.facts import (
    DnsAnswer,
    EndpointAddresses,
    ExpectedName,
    Facts,
    NameNote,
    PrivateEndpointConnection,
    Read,
    ReadFailure,
    ReadProblem,
    VirtualNetwork,
    Workspace,
)
from netverify.model import Link, Status
from netverify.testing import (
    API_NAME,
    AZURE,
    CUSTOM,
    ENDPOINT_ID,
    HOST,
    RESOLVERS,
    SECOND_SERVER,
    TWO_SERVERS_VNET,
    VNET_ID,
    arm_id,
    check_findings,
    check_statuses,
    dns_answer,
    dns_facts,
    expected_name,
    failed,
    healthy_answers,
    mixed_case,
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


# -- Failed reads, notes, several resolvers and IPs, withheld endpoints (in full) -----------

TWO_IPS = ("10.0.1.5", "10.0.1.6")
PENDING_ENDPOINT = ENDPOINT_ID.replace("pe-mlw-test", "pe-mlw-pending")


def _two_ip_name() -> ExpectedName:
    return expected_name(ips=TWO_IPS)


def _vnet_servers(*answers: DnsAnswer, names: list[ExpectedName] | None = None) -> Facts:
    """No host resolver: the VNet's two DNS servers (and Azure DNS) judge the name."""
    return dns_facts(
        list(answers),
        names=names or [_two_ip_name()],
        vnet=TWO_SERVERS_VNET,
        resolvers=[*RESOLVERS, SECOND_SERVER],
        host_resolver=False,
    )


def test_each_failed_read_is_said_with_what_could_not_be_read() -> None:
    """A 404 on a private endpoint the workspace links to is a broken link (fail); a 404 on
    an online endpoint list or on the agent's VNet is not knowing (error). The name is still
    judged, by the host (the VNet unread)."""
    pe = failed(ENDPOINT_ID, ReadProblem.NOT_FOUND, status_code=404)
    endpoints = failed(
        f"{arm_id(WORKSPACE_TYPE, 'mlw-test')}/onlineEndpoints",
        ReadProblem.NOT_FOUND,
        status_code=404,
        message="ARM answered 404",
    )
    vnet = failed(VNET_ID, ReadProblem.NOT_FOUND, status_code=404, message="ARM answered 404")
    facts = dns_facts(healthy_answers(), private_endpoints=[pe], gaps=[endpoints], vnet=vnet)

    findings = check_findings(CHECK_ID, facts)

    assert [(f.status, f.resource_id, f.message) for f in findings] == [
        (
            Status.FAIL,
            ENDPOINT_ID,
            f"The linked private endpoint {ENDPOINT_ID} does not exist (ARM answered 404).",
        ),
        (
            Status.ERROR,
            endpoints.resource_id,
            f"Cannot read the online endpoint list {endpoints.resource_id}: ARM answered 404",
        ),
        (Status.ERROR, VNET_ID, f"Cannot read the agent VNet {VNET_ID}: ARM answered 404"),
        (
            Status.PASS,
            API_NAME,
            f"{API_NAME} (workspace API of mlw-test) resolves to its private endpoint 10.0.1.5.",
        ),
    ]


def test_a_name_deliberately_not_judged_is_a_skip_with_why_and_no_agent_vnet_is_fine() -> None:
    facts = dns_facts(healthy_answers(), agent_vnet=False)
    assert facts.dns is not None
    note = NameNote(f"{ENDPOINT_ID}/k8s", arm_id(WORKSPACE_TYPE, "mlw-test"), "Not judged: why.")
    facts = dataclasses.replace(facts, dns=dataclasses.replace(facts.dns, notes=(note,)))

    findings = check_findings(CHECK_ID, facts)

    assert [(f.status, f.resource_id, f.message, f.subject) for f in findings[:1]] == [
        (Status.SKIPPED, note.resource_id, "Not judged: why.", note.workspace_id)
    ]
    assert [Status.SKIPPED, Status.PASS] == [f.status for f in findings]


def test_a_scoring_name_no_endpoint_serves_names_the_workspace_endpoints_to_show() -> None:
    """The command lists the workspace's own private endpoints (its id read in another case),
    not another workspace's; a workspace read that failed is passed over."""
    scoring = dataclasses.replace(
        expected_name("ep-a.eastus.inference.ml.azure.com", endpoints=(), record="*.g.eastus"),
        purpose="scoring",
    )
    own = dataclasses.replace(
        workspace(),
        id=mixed_case(workspace().id),
        private_endpoint_connections=(
            PrivateEndpointConnection(f"{ENDPOINT_ID}/c", ENDPOINT_ID, "Approved", None),
            PrivateEndpointConnection(f"{OTHER_ENDPOINT}/c", OTHER_ENDPOINT, "Approved", None),
            PrivateEndpointConnection("/pending", None, "Pending", None),
        ),
    )
    other = dataclasses.replace(
        workspace("mlw-other"),
        private_endpoint_connections=(
            PrivateEndpointConnection(f"{SPOKE_ENDPOINT}/c", SPOKE_ENDPOINT, "Approved", None),
        ),
    )
    reads = (
        Read(arm_id(WORKSPACE_TYPE, "mlw-gone"), failure=ReadFailure(ReadProblem.FORBIDDEN, "403")),
        Read(other.id, value=other),
        Read(own.id, value=own),
    )
    facts = dns_facts(healthy_answers(scoring.fqdn), names=[scoring])

    [finding] = check_findings(CHECK_ID, dataclasses.replace(facts, workspaces=reads))
    [alone] = check_findings(CHECK_ID, facts)

    assert (Status.FAIL, scoring.fqdn) == (finding.status, finding.resource_id)
    assert finding.message == (
        f"{scoring.fqdn} (scoring of mlw-test) is served by no private endpoint: no private "
        "endpoint of mlw-test lists *.g.eastus in its customDnsConfigs or zone group. A "
        "workspace private endpoint created before online endpoints existed (May 2022) lacks "
        "the scoring record."
    )
    assert finding.remediation is not None
    assert finding.remediation.text == (
        "Recreate the private endpoint of workspace mlw-test (its customDnsConfigs lack the "
        "scoring name, which Azure adds only at creation), then confirm the new one lists it "
        "with the command below."
    )
    assert finding.remediation.command == (
        "az network private-endpoint show --query customDnsConfigs --ids "
        f"{ENDPOINT_ID} {OTHER_ENDPOINT}"
    )
    assert alone.remediation is not None
    assert alone.remediation.command == (
        "az network private-endpoint show --query customDnsConfigs --ids <private-endpoint-id>"
    )


def test_a_name_no_resolver_was_asked_about_is_an_error_naming_who_was_not_asked() -> None:
    [finding] = check_findings(CHECK_ID, _vnet_servers())
    # The VNet hands out no DNS server and Azure DNS is not configured: nobody to ask.
    no_dns = VirtualNetwork(VNET_ID, "vnet-hub", ("10.0.0.0/16",), ())
    [nobody] = check_findings(
        CHECK_ID, dns_facts([], resolvers=[RESOLVERS[1]], host_resolver=False, vnet=no_dns)
    )

    assert (Status.ERROR, API_NAME) == (finding.status, finding.resource_id)
    assert finding.message == (
        f"{API_NAME} (workspace API of mlw-test) has no recorded answer from custom 10.0.0.4, "
        "custom 10.0.0.5: whether it resolves was not observed."
    )
    assert nobody.message == (
        f"{API_NAME} (workspace API of mlw-test) has no recorded answer from any resolver (no "
        "host resolver, no VNet DNS server): whether it resolves was not observed."
    )


def test_one_vnet_server_failing_beside_one_that_answers_right_passes() -> None:
    """The name works through the VNet's DNS (dns_resolver_answers reports the failing one)."""
    facts = _vnet_servers(
        dns_answer(CUSTOM, (), rcode="TIMEOUT", chain=()), dns_answer(SECOND_SERVER.name, TWO_IPS)
    )

    finding = only_finding(CHECK_ID, facts)

    assert (Status.PASS, API_NAME) == (finding.status, finding.resource_id)
    assert finding.message == (
        f"{API_NAME} (workspace API of mlw-test) resolves to its private endpoint 10.0.1.5, "
        "10.0.1.6."
    )
    assert finding.evidence is not None
    assert {"addresses": list(TWO_IPS), "resolver": [CUSTOM, SECOND_SERVER.name]} == dict(
        finding.evidence.expected
    )


def test_both_vnet_servers_failing_a_name_that_exists_fails_in_full() -> None:
    facts = _vnet_servers(
        dns_answer(CUSTOM, (), rcode="TIMEOUT", chain=()),
        dns_answer(SECOND_SERVER.name, (), rcode="SERVFAIL", chain=()),
        dns_answer(AZURE, TWO_IPS),
    )

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.message == (
        f"{API_NAME} (workspace API of mlw-test) does not resolve through custom 10.0.0.4, "
        "custom 10.0.0.5 (TIMEOUT), although Azure DNS gives it its private endpoint 10.0.1.5, "
        "10.0.1.6: the workload cannot resolve it (the DNS server's own finding says why)."
    )
    assert finding.remediation is not None
    assert finding.remediation.text == (
        f"Follow the failing DNS findings of this run for {API_NAME}: zone missing or not "
        "linked, record missing or stale, custom DNS server forwarders, host resolver. Check "
        "the name by hand from a machine in the VNet with the command below; it must return "
        "10.0.1.5, 10.0.1.6."
    )
    assert f"nslookup {API_NAME}" == finding.remediation.command
    assert {
        Link.record(API_NAME),
        Link.answer(API_NAME, CUSTOM),
        Link.answer(API_NAME, SECOND_SERVER.name),
    } == finding.needs


def test_both_vnet_servers_failing_a_name_nothing_shows_to_exist_is_an_error() -> None:
    facts = dns_facts(
        [
            dns_answer(CUSTOM, (), rcode="TIMEOUT", chain=()),
            dns_answer(SECOND_SERVER.name, (), rcode="SERVFAIL", chain=()),
        ],
        names=[_two_ip_name()],
        vnet=TWO_SERVERS_VNET,
        resolvers=[*RESOLVERS, SECOND_SERVER],
        host_resolver=False,
        zones=[],
    )

    finding = only_finding(CHECK_ID, facts)

    assert (
        Status.ERROR,
        f"No answer for {API_NAME} from custom 10.0.0.4, custom 10.0.0.5: TIMEOUT.",
    ) == (
        finding.status,
        finding.message,
    )


def test_the_address_of_an_endpoint_not_approved_is_named_as_such() -> None:
    """The host answers exactly the IP of a second endpoint whose connection is pending."""
    name = dataclasses.replace(
        _two_ip_name(), withheld=(EndpointAddresses(PENDING_ENDPOINT, ("10.0.9.5",), VNET_ID),)
    )
    answers = [
        dns_answer(HOST, ("10.0.9.5",)),
        dns_answer(CUSTOM, TWO_IPS),
        dns_answer(AZURE, TWO_IPS),
    ]

    finding = only_finding(CHECK_ID, dns_facts(answers, names=[name]))

    assert Status.FAIL is finding.status
    assert finding.message == (
        f"{API_NAME} (workspace API of mlw-test) resolves to private 10.0.9.5 through host, not "
        "to its private endpoint 10.0.1.5, 10.0.1.6 (the address of a private endpoint whose "
        "connection is not Approved: privateendpoint_connection_approved)."
    )
    assert finding.remediation is not None
    assert finding.remediation.text.endswith("it must return 10.0.1.5, 10.0.1.6.")
    assert {
        Link.record(API_NAME),
        Link.answer(API_NAME, HOST),
        Link.address("10.0.9.5"),
    } == finding.needs


def test_a_public_answer_beside_a_withheld_endpoint_is_only_a_wrong_answer() -> None:
    name = dataclasses.replace(
        _two_ip_name(), withheld=(EndpointAddresses(PENDING_ENDPOINT, ("10.0.9.5",), VNET_ID),)
    )
    answers = [
        dns_answer(HOST, ("52.1.1.1",), chain=()),
        dns_answer(CUSTOM, ("52.1.1.1",), chain=()),
        dns_answer(AZURE, TWO_IPS),
    ]

    finding = only_finding(CHECK_ID, dns_facts(answers, names=[name]))

    assert finding.message == (
        f"{API_NAME} (workspace API of mlw-test) resolves to public 52.1.1.1 through host, not "
        "to its private endpoint 10.0.1.5, 10.0.1.6."
    )
    assert {
        Link.record(API_NAME),
        Link.answer(API_NAME, HOST),
        Link.answer(API_NAME, CUSTOM),
    } == finding.needs


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
