"""Each private IP a workspace name resolved to answers TCP and a TLS handshake."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.connections import ConnectionState, all_states
from netverify.facts import APPROVED, Facts
from netverify.model import Evidence, Finding, Remediation, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    dns = facts.dns
    if dns is None:
        return
    withheld = _withheld_ips(facts)
    for probe in dns.reachability:
        observed = {
            "fqdn": probe.fqdn,
            "address": probe.address,
            "port": probe.port,
            "connected_to": probe.target,
            "tcp": probe.connected,
            "tls": probe.tls_ok,
            "latency_ms": round(probe.latency_ms, 1),
            "detail": probe.detail,
        }
        expected = {"tcp": True, "tls": True}
        subject = f"{probe.address}:{probe.port}"
        if probe.tls_ok:
            yield Finding(
                META,
                Status.PASS,
                probe.fqdn,
                f"{probe.fqdn} at {probe.address} accepts TCP {probe.port} and TLS.",
                Evidence(observed, expected),
                subject=subject,
            )
            continue
        stage = "TLS handshake" if probe.connected else "TCP connection"
        held = withheld.get(probe.address)
        if held is not None and not probe.connected:
            # Private Link drops the traffic of a connection that is not Approved: that, not
            # an NSG or a route, is the first cause (privateendpoint_connection_approved).
            observed["privateEndpoint"] = held.endpoint_id
            observed["connectionStatus"] = held.status
            yield Finding(
                META,
                Status.FAIL,
                probe.fqdn,
                f"{probe.fqdn} resolves to {probe.address} but the TCP connection on port "
                f"{probe.port} fails: {probe.address} is private endpoint "
                f"{_name(held.endpoint_id)}, whose connection to {held.owner.kind} "
                f"{held.owner.name} is {held.status}, not Approved, so Private Link drops "
                "its traffic.",
                Evidence(observed, expected),
                Remediation(
                    f"Have the connection of private endpoint {_name(held.endpoint_id)} to "
                    f"{held.owner.kind} {held.owner.name} approved (see "
                    "privateendpoint_connection_approved); NSGs, firewalls and routes are not "
                    "the first suspect.",
                    f"az network private-endpoint-connection show --id {held.connection.id}",
                ),
                subject=subject,
            )
            continue
        yield Finding(
            META,
            Status.FAIL,
            probe.fqdn,
            f"{probe.fqdn} resolves to {probe.address} but the {stage} on port {probe.port} "
            f"fails: {probe.detail}.",
            Evidence(observed, expected),
            META.remediation(
                fqdn=probe.fqdn, address=probe.address, detail=probe.detail, port=str(probe.port)
            ),
            subject=subject,
        )


def _withheld_ips(facts: Facts) -> dict[str, ConnectionState]:
    """IP -> the connection, not Approved, of the private endpoint that has it."""
    return {
        ip: state
        for state in all_states(facts)
        if state.status not in (None, APPROVED)
        and state.endpoint is not None
        and state.endpoint.value is not None
        for ip in state.endpoint.value.ips
    }


def _name(arm_id: str) -> str:
    return arm_id.rstrip("/").rsplit("/", 1)[-1]
