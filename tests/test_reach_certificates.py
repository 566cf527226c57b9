"""The reachability probe verifies the certificate as a client does and records what answered:
a certificate for another name, from an untrusted issuer, or expired is a verification failure
on a connection that did connect. Loopback TLS listeners with trustme CAs only."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import trustme

from netverify.config import ConfigError, ReachabilityConfig, parse_config
from netverify.facts import Reachability
from netverify.probes.reach import probe, probe_all
from netverify.sim.endpoints import TlsListener

SCORING = "ep-a.eastus.inference.ml.azure.com"


@pytest.fixture
def agent_ca(tmp_path: Path) -> tuple[trustme.CA, Path]:
    """The CA the agent trusts through ``reachability.ca_file``."""
    authority = trustme.CA(organization_name="Simulated Azure CA")
    path = tmp_path / "ca.pem"
    authority.cert_pem.write_to_path(str(path))
    return authority, path


@pytest.fixture
def listeners() -> Iterator[list[TlsListener]]:
    started: list[TlsListener] = []
    yield started
    for listener in started:
        listener.stop()


def serve(
    started: list[TlsListener], authority: trustme.CA, *names: str, **bounds: datetime
) -> str:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert(*names, common_name=names[0], **bounds).configure_cert(context)  # type: ignore[arg-type]
    listener = TlsListener(context)
    listener.start()
    started.append(listener)
    return listener.address


def run(fqdn: str, address: str, target: str, ca_file: Path) -> Reachability:
    config = ReachabilityConfig(timeout_seconds=1.0, address_map={address: target}, ca_file=ca_file)
    return asyncio.run(probe(fqdn, address, config))


def test_verified_certificate_is_recorded(
    agent_ca: tuple[trustme.CA, Path], listeners: list[TlsListener]
) -> None:
    """A wildcard for the name's parent from a trusted CA: TLS ok, and what answered is kept."""
    authority, ca_file = agent_ca
    target = serve(listeners, authority, "*.eastus.inference.ml.azure.com")

    result = run("EP-A.EastUS.inference.ml.azure.com", "10.0.1.7", target, ca_file)

    assert (True, True, 0, "") == (
        result.connected,
        result.tls_ok,
        result.verify_code,
        result.verify_message,
    )
    assert result.certificate is not None
    assert ("*.eastus.inference.ml.azure.com",) == result.certificate.dns_names
    assert "CN=*.eastus.inference.ml.azure.com" in result.certificate.subject
    assert "O=Simulated Azure CA" in result.certificate.issuer


def test_inspecting_device_certificate_for_its_own_name(
    agent_ca: tuple[trustme.CA, Path], listeners: list[TlsListener]
) -> None:
    """H22's shape: another name, another CA. Connected, not TLS ok, and the certificate read
    on the unverified second handshake names the device and its issuer."""
    inspection = trustme.CA(organization_name="Corp TLS Inspection CA")
    target = serve(listeners, inspection, "tls-inspection.corp.example")

    result = run(SCORING, "10.0.1.7", target, agent_ca[1])

    assert (True, False) == (result.connected, result.tls_ok)
    assert (20, "unable to get local issuer certificate") == (
        result.verify_code,
        result.verify_message,
    )
    assert result.detail == (
        "TLS certificate verification failed: unable to get local issuer certificate"
    )
    assert result.certificate is not None
    assert ("tls-inspection.corp.example",) == result.certificate.dns_names
    assert result.certificate.subject.startswith("CN=tls-inspection.corp.example,")
    assert "O=Corp TLS Inspection CA" in result.certificate.issuer
    # Both handshakes sent the name as SNI.
    assert [SCORING, SCORING] == listeners[0].server_names


def test_trusted_issuer_but_another_name(
    agent_ca: tuple[trustme.CA, Path], listeners: list[TlsListener]
) -> None:
    """A wildcard for another suffix from the trusted CA: OpenSSL's hostname mismatch."""
    authority, ca_file = agent_ca
    target = serve(listeners, authority, "*.westeurope.inference.ml.azure.com")

    result = run(SCORING, "fd00:0:0:1::7", target, ca_file)

    assert ("fd00:0:0:1::7", True, False, 62) == (
        result.address,
        result.connected,
        result.tls_ok,
        result.verify_code,
    )
    assert f"Hostname mismatch, certificate is not valid for '{SCORING}'." == result.verify_message
    assert result.certificate is not None
    assert ("*.westeurope.inference.ml.azure.com",) == result.certificate.dns_names


def test_expired_certificate(
    agent_ca: tuple[trustme.CA, Path], listeners: list[TlsListener]
) -> None:
    authority, ca_file = agent_ca
    target = serve(
        listeners,
        authority,
        "*.eastus.inference.ml.azure.com",
        not_before=datetime(2020, 1, 1, tzinfo=UTC),
        not_after=datetime(2021, 1, 1, tzinfo=UTC),
    )

    result = run(SCORING, "10.0.1.7", target, ca_file)

    assert (True, False, 10, "certificate has expired") == (
        result.connected,
        result.tls_ok,
        result.verify_code,
        result.verify_message,
    )
    assert result.certificate is not None
    assert datetime(2021, 1, 1, tzinfo=UTC) == result.certificate.not_after


def test_without_ca_file_the_system_store_alone_decides(
    agent_ca: tuple[trustme.CA, Path], listeners: list[TlsListener]
) -> None:
    """The tenant's CA is in no system store: without ca_file the same front end is untrusted,
    in each of several probes run together."""
    target = serve(listeners, agent_ca[0], "*.eastus.inference.ml.azure.com")
    config = ReachabilityConfig(
        timeout_seconds=1.0, address_map={"10.0.1.7": target, "10.0.1.8": target}
    )

    results = asyncio.run(probe_all([(SCORING, "10.0.1.7"), (SCORING, "10.0.1.8")], config))

    assert [(True, False, 20)] * 2 == [(r.connected, r.tls_ok, r.verify_code) for r in results]


def test_ca_file_that_is_not_pem_is_a_config_error(tmp_path: Path) -> None:
    path = tmp_path / "ca.pem"
    path.write_text("not a certificate\n", encoding="utf-8")

    with pytest.raises(ConfigError) as raised:
        parse_config(f'[reachability]\nca_file = "{path}"\n', "c.toml")

    assert str(raised.value).startswith(
        f"c.toml: reachability.ca_file: {path} holds no PEM CA certificate ssl can load"
    )


def test_an_address_outside_the_map_is_not_contacted(
    agent_ca: tuple[trustme.CA, Path], listeners: list[TlsListener]
) -> None:
    """With a map (a stand-in world) only the addresses it names are tried, as the scoring
    probe does: 10.0.1.99 is not, so nothing is sent there (pytest-socket would refuse it and
    the probe would record that failure instead) and the record says so."""
    authority, ca_file = agent_ca
    target = serve(listeners, authority, SCORING)
    config = ReachabilityConfig(
        timeout_seconds=1.0, address_map={"10.0.1.5": target}, ca_file=ca_file
    )

    mapped, outside = asyncio.run(
        probe_all([(SCORING, "10.0.1.5"), (SCORING, "10.0.1.99")], config)
    )

    assert (True, True, True) == (mapped.contacted, mapped.connected, mapped.tls_ok)
    assert (
        SCORING,
        "10.0.1.99",
        "10.0.1.99:443",
        False,
        False,
        False,
        "10.0.1.99 is not in reachability.address_map: not contacted",
    ) == (
        outside.fqdn,
        outside.address,
        outside.target,
        outside.contacted,
        outside.connected,
        outside.tls_ok,
        outside.detail,
    )
