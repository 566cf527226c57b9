"""privatedns_record_present: fires on its root cause, stays quiet on a healthy matrix (hand-built facts, no I/O)."""

from __future__ import annotations

import pytest

from netverify.facts import EndpointAddresses, PrivateEndpoint, Read, ReadProblem
from netverify.model import Finding, Status
from netverify.testing import (
    API_NAME,
    ENDPOINT_ID,
    SUBSCRIPTION,
    VNET_ID,
    ZONE_ID,
    arm_id,
    check_statuses,
    dns_facts,
    expected_name,
    failed,
    healthy_answers,
    only_finding,
    private_zone,
)

CHECK_ID = "privatedns_record_present"


def test_healthy_matrix_passes() -> None:
    """One name, its linked zone holds the right record, every resolver answers privately."""
    assert {Status.PASS} == set(check_statuses(CHECK_ID, dns_facts(healthy_answers())))


def test_record_missing() -> None:
    """The zone lacks the record: fail with the add-record command and the endpoint's IP."""
    facts = dns_facts(healthy_answers(), zones=[private_zone({})])

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.remediation is not None
    assert "--record-set-name 'ws.workspace.eastus' --ipv4-address 10.0.1.5" in (
        finding.remediation.command or ""
    )
    assert "recreate" not in finding.remediation.text


def test_record_looked_up_in_the_linked_zone() -> None:
    """Of two zones of one name, the linked one is what Azure DNS serves: its record counts."""
    twin = ZONE_ID.replace("rg-test", "rg-hub")
    facts = dns_facts(
        healthy_answers(),
        names=[expected_name(zone_ids=(ZONE_ID, twin))],
        zones=[private_zone(linked=()), private_zone({}, zone_id=twin)],
    )

    assert [Status.FAIL] == check_statuses(CHECK_ID, facts)


def _pe(pe_id: str, zone_ids: tuple[str, ...], groups: tuple[str, ...]) -> PrivateEndpoint:
    return PrivateEndpoint(
        id=pe_id,
        name=pe_id.rsplit("/", 1)[-1],
        subnet_id=f"{VNET_ID}/subnets/pe",
        target_ids=(),
        group_ids=("amlworkspace",),
        custom_dns_configs=(),
        zone_ids=zone_ids,
        zone_group_names=groups,
    )


OTHER_ZONE = arm_id("Microsoft.Network/privateDnsZones", "privatelink.other.example")


def test_a_missing_record_of_two_ips_adds_both_and_names_only_the_named() -> None:
    """Two IPs to add (one command each, joined); a name no endpoint serves is left to
    dns_name_resolves_private_endpoint; the endpoint's zone group names the zone in upper case,
    so the zone group is not blamed."""
    served = expected_name(ips=("10.0.1.5", "10.0.1.6"))
    unserved = expected_name("ws.workspace.eastus.cert.api.azureml.ms", endpoints=[])
    group = _pe(ENDPOINT_ID, (ZONE_ID.upper(),), ("default",))
    facts = dns_facts(
        healthy_answers(),
        names=[served, unserved],
        zones=[private_zone({})],
        private_endpoints=[Read(ENDPOINT_ID, value=group)],
    )

    finding = only_finding(CHECK_ID, facts)

    assert (Status.FAIL, API_NAME) == (finding.status, finding.resource_id)
    assert finding.message.startswith(
        f"Zone privatelink.api.azureml.ms has no A record ws.workspace.eastus: {API_NAME} "
        "(workspace API of mlw-test) cannot resolve to its private endpoint."
    )
    add = (
        "az network private-dns record-set a add-record --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test --zone-name "
        "privatelink.api.azureml.ms --record-set-name 'ws.workspace.eastus' --ipv4-address {}"
    )
    assert f"{add.format('10.0.1.5')} && {add.format('10.0.1.6')}" == (finding.remediation.command)
    assert ([ZONE_ID], {}) == (
        finding.evidence.observed["zones"],
        finding.evidence.observed["record"],
    )
    assert {"record": "ws.workspace.eastus.privatelink.api.azureml.ms", "type": "A"} == (
        finding.evidence.expected
    )
    assert "zone_group_zones" not in finding.evidence.observed


@pytest.mark.parametrize(("groups", "group"), [(("zg-corp",), "zg-corp"), ((), "default")])
def test_a_zone_group_that_names_another_zone_is_the_fix(
    groups: tuple[str, ...], group: str
) -> None:
    """Two endpoints serve the name: one unreadable (403), one whose zone group writes into
    another zone only: the zone group is the fix, with its name (Azure's "default" if none)."""
    other_pe = arm_id("Microsoft.Network/privateEndpoints", "pe-mlw-other")
    name = expected_name(
        endpoints=[
            EndpointAddresses(other_pe, ("10.0.1.6",), VNET_ID),
            EndpointAddresses(ENDPOINT_ID, ("10.0.1.5",), VNET_ID),
        ]
    )
    facts = dns_facts(
        healthy_answers(),
        names=[name],
        zones=[private_zone({})],
        private_endpoints=[
            failed(other_pe, ReadProblem.FORBIDDEN, status_code=403),
            Read(ENDPOINT_ID, value=_pe(ENDPOINT_ID, (OTHER_ZONE,), groups)),
        ],
    )

    finding = only_finding(CHECK_ID, facts)

    assert Status.FAIL is finding.status
    assert finding.message.startswith(
        f"Zone privatelink.api.azureml.ms ({ZONE_ID}) has no A record ws.workspace.eastus: it is "
        "not in the zone group of private endpoint pe-mlw-test, so Azure never writes it; "
        f"{API_NAME} (workspace API of mlw-test) cannot resolve to 10.0.1.6, 10.0.1.5."
    )
    assert [OTHER_ZONE] == finding.evidence.observed["zone_group_zones"]
    assert finding.remediation.text == (
        f"Add zone {ZONE_ID} to the zone group of private endpoint pe-mlw-test, so Azure writes "
        "ws.workspace.eastus there (or add the record by hand)."
    )
    assert finding.remediation.command == (
        "az network private-endpoint dns-zone-group add --subscription 00000000-1111-2222-3333-444444444444 --resource-group rg-test --endpoint-name "
        f"pe-mlw-test --name {group} --zone-name privatelink-api-azureml-ms --private-dns-zone "
        f"{ZONE_ID}"
    )


def test_no_readable_zone_is_skipped_naming_the_zone() -> None:
    """The only zone is unreadable (403): nothing to look in, skipped, not failed."""
    facts = dns_facts(
        healthy_answers(), zones=[failed(ZONE_ID, ReadProblem.FORBIDDEN, status_code=403)]
    )

    finding = only_finding(CHECK_ID, facts)

    assert (Status.SKIPPED, API_NAME, None) == (
        finding.status,
        finding.resource_id,
        finding.evidence,
    )
    assert "No readable zone privatelink.api.azureml.ms to look in." == finding.message


def test_hub_and_spoke_the_zone_group_command_names_the_endpoints_subscription() -> None:
    """The zones live in a central subscription, the private endpoint in the spoke's: the
    zone-group command names the endpoint's subscription (the CLI's may be either), the zone
    by its full id; the record command, the zone's subscription and group."""
    central = "99999999-8888-4777-8666-555555555555"
    zone_id = ZONE_ID.replace(SUBSCRIPTION, central).replace("rg-test", "rg-dns")
    spoke_pe = ENDPOINT_ID.replace("rg-test", "rg-spoke")
    name = expected_name(
        zone_ids=(zone_id,), endpoints=[EndpointAddresses(spoke_pe, ("10.0.1.5",), VNET_ID)]
    )

    def record_finding(group_zone: str) -> Finding:
        """The finding when the spoke endpoint's zone group names ``group_zone``."""
        group = _pe(spoke_pe, (group_zone,), ("default",))
        return only_finding(
            CHECK_ID,
            dns_facts(
                healthy_answers(),
                names=[name],
                zones=[private_zone({}, zone_id=zone_id)],
                private_endpoints=[Read(spoke_pe, value=group)],
            ),
        )

    finding = record_finding(OTHER_ZONE)

    assert Status.FAIL is finding.status and finding.remediation is not None
    assert finding.remediation.command == (
        f"az network private-endpoint dns-zone-group add --subscription {SUBSCRIPTION} "
        "--resource-group rg-spoke --endpoint-name pe-mlw-test --name default --zone-name "
        f"privatelink-api-azureml-ms --private-dns-zone {zone_id}"
    )
    # The endpoint's zone group names the central zone: the record is added there.
    added = record_finding(zone_id)
    assert added.remediation is not None
    assert added.remediation.command == (
        f"az network private-dns record-set a add-record --subscription {central} "
        "--resource-group rg-dns --zone-name privatelink.api.azureml.ms --record-set-name "
        "'ws.workspace.eastus' --ipv4-address 10.0.1.5"
    )
