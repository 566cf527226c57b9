"""`netverify demo` shows every DNS failure class, and says what plays the custom DNS server."""

from __future__ import annotations

import json
import os

import pytest

from netverify.cli import main
from netverify.sim.custom_dns import NAMED
from netverify.sim.tenant import REAL_SERVERS

# (check, status) the demo tenant must show: one per DNS root cause.
DNS_FAILURE_CLASSES = {
    ("privatedns_zone_exists", "fail"),
    ("privatedns_zone_linked_agent_vnet", "fail"),
    ("privatedns_record_present", "fail"),
    ("privatedns_record_matches_endpoint", "fail"),
    ("dns_custom_server_forwards_zones", "fail"),
    ("dns_answer_inside_vnet", "fail"),
    ("dns_host_resolver_matches_vnet", "fail"),
    ("dns_resolver_answers", "fail"),  # the VNet's second server is down: an outage
    ("privateendpoint_tls_reachable", "fail"),
    ("dns_forwarding_ruleset_no_loop", "fail"),
    ("dns_name_resolves_private_endpoint", "fail"),
}


@pytest.mark.parametrize(
    "custom_dns",
    [
        pytest.param(
            "bind",
            marks=[
                pytest.mark.servers,
                pytest.mark.skipif(not os.path.exists(NAMED), reason="BIND missing"),
            ],
        ),
        "standin",
    ],
)
def test_demo_shows_each_dns_failure_class(
    custom_dns: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each root cause appears in the demo, and the healthy workspace's names all resolve."""
    assert 0 == main(["demo", "--custom-dns", custom_dns, "--output", "jsonl"])
    captured = capsys.readouterr()
    events = [json.loads(line) for line in captured.out.splitlines()]

    assert DNS_FAILURE_CLASSES <= {(e["check_id"], e["status"]) for e in events}
    healthy = [
        e
        for e in events
        if e["check_id"] == "dns_name_resolves_private_endpoint"
        and e["evidence"]  # notes (a Microsoft-managed endpoint left alone) carry none
        and e["evidence"]["observed"]["workspace"] == "mlw-healthy"
        and e["evidence"]["observed"]["purpose"] != "notebooks"
    ]
    assert 4 == len(healthy)  # API, certificate, scoring, Key Vault
    assert {"pass"} == {e["status"] for e in healthy}
    # Both TLS failure classes: nothing answers (stale IPs), and a firewall that inspects TLS in
    # front of mlw-broken's scoring IP (its certificate, not the endpoint's; no NSG advice).
    tls = [
        e
        for e in events
        if e["check_id"] == "privateendpoint_tls_reachable" and e["status"] == "fail"
    ]
    assert any("the TCP connection on port 443 fails" in e["message"] for e in tls)
    [inspected] = [e for e in tls if "terminates TLS" in e["message"]]
    assert "ep-churn.westus.inference.ml.azure.com at 10.0.1.9 answers TLS" in inspected["message"]
    assert (
        "OU=TLS inspection,O=Contoso TLS Inspection CA"
        == (inspected["evidence"]["observed"]["certificate"]["issuer"])
    )
    assert "NSG" not in inspected["remediation"]["text"]
    # A connection that was never approved: its own finding, its names noted, not judged.
    [pending] = [
        e
        for e in events
        if e["check_id"] == "privateendpoint_connection_approved" and e["status"] == "fail"
    ]
    assert pending["message"] == (
        "Storage account stbroken (used by mlw-broken): the connection of private endpoint "
        "pe-stbroken is Pending, not Approved: the request waits for the owner's approval, so "
        "Private Link drops the traffic to 10.0.1.40."
    )
    assert ("Pending", [True]) == (
        pending["evidence"]["observed"]["status"],
        [s["manualApproval"] for s in pending["evidence"]["observed"]["privateEndpointSide"]],
    )
    assert not [
        e
        for e in events
        if "10.0.1.40" in json.dumps(e) and e is not pending and e["status"] == "fail"
    ]
    # Issue 18's classes: a VNet server down is an outage (fail, no cause made up); the
    # firewall's DNS proxy strips private answers (its exemption, no forwarder); the spoke's
    # ruleset loops back to its resolver's inbound endpoint.
    servers = {
        e["resource_id"]: e
        for e in events
        if e["check_id"] == "dns_custom_server_forwards_zones" and e["status"] == "fail"
    }
    assert servers["10.0.0.5"]["message"].endswith("; cause not identified.")
    assert "reaches Azure DNS but drops the private address" in servers["10.0.0.6"]["message"]
    assert "forward-zone" not in servers["10.0.0.6"]["remediation"]["text"]
    [loop] = [
        e
        for e in events
        if e["check_id"] == "dns_forwarding_ruleset_no_loop" and e["status"] == "fail"
    ]
    assert (
        "forwards privatelink.api.azureml.ms to 10.1.0.68 (rule privatelink-api)" in loop["message"]
    )
    assert "corp.contoso.example" not in loop["message"]
    said = "a real bind (/usr/sbin/named)" if custom_dns == "bind" else "a Python stand-in"
    assert said in captured.err


def test_demo_without_any_dns_server_installed_says_so(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """No BIND, Unbound or dnsmasq on the machine: the demo still runs, on the stand-in, and
    says that it did."""
    missing = {kind: ("/nonexistent/" + kind, start) for kind, (_, start) in REAL_SERVERS.items()}
    monkeypatch.setattr("netverify.sim.tenant.REAL_SERVERS", missing)

    assert 0 == main(["demo", "--output", "jsonl"])
    captured = capsys.readouterr()

    assert (
        "a Python stand-in that forwards like dnsmasq (no BIND, Unbound or dnsmasq is installed"
        in captured.err
    )
    checks = {json.loads(line)["check_id"] for line in captured.out.splitlines()}
    assert "dns_custom_server_forwards_zones" in checks


# Checks that judge the zone inventory behind a name: they must never fail beside a pass.
INVENTORY_CHECKS = (
    "privatedns_zone_exists",
    "privatedns_zone_linked_agent_vnet",
    "privatedns_record_present",
    "privatedns_record_matches_endpoint",
)


def test_demo_findings_do_not_contradict_each_other(capsys: pytest.CaptureFixture[str]) -> None:
    """A name that resolves to its private endpoint never has a zone or record fail beside it:
    the DNS evidence and the inventory agree, on every name of the demo."""
    assert 0 == main(["demo", "--custom-dns", "standin", "--output", "jsonl"])
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    resolved = {
        e["resource_id"].lower()
        for e in events
        if e["check_id"] == "dns_name_resolves_private_endpoint" and e["status"] == "pass"
    }
    inventory_fails = [
        e for e in events if e["check_id"] in INVENTORY_CHECKS and e["status"] == "fail"
    ]

    assert inventory_fails
    for event in inventory_fails:
        names = [n["fqdn"] for n in event["evidence"]["observed"].get("names", [])]
        blamed = {n.lower() for n in names or [event["resource_id"]]}
        assert not blamed & resolved, (event["check_id"], event["message"])
