"""The finding model: what a check says about one resource, and the metadata it says it with."""

from __future__ import annotations

import string
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

# uuid5 namespace for finding uids: the same check on the same resource (and subject) gets the
# same uid in every run, on every agent, so a SIEM can follow one problem over time.
FINDING_NAMESPACE = uuid.UUID("6f1c2b0e-4a59-5d3e-9c8e-2f4d5a7b9c01")


class Severity(StrEnum):
    INFO = "info"
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    CRITICAL = "critical"


# Most severe first: the order problems and failing findings are read in (0 = critical).
SEVERITY_RANK = {s.value: rank for rank, s in enumerate(reversed(Severity))}


class Status(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    ERROR = "error"  # netverify could not observe what the check needs
    SKIPPED = "skipped"  # the check does not apply, or what it depends on could not be read


@dataclass(frozen=True, slots=True)
class Remediation:
    text: str
    command: str | None = None


@dataclass(frozen=True, slots=True)
class CheckMeta:
    """One check's metadata, read from ``checks/<id>/metadata.toml``."""

    id: str
    title: str
    severity: Severity
    rationale: str
    remediation_text: str
    remediation_command: str
    references: tuple[str, ...] = ()

    @property
    def command_placeholders(self) -> frozenset[str]:
        return frozenset(
            name for _, name, _, _ in string.Formatter().parse(self.remediation_command) if name
        )

    def remediation(self, **names: str) -> Remediation:
        """The remediation with the resource's names filled into the ``az`` command."""
        command = self.remediation_command.format(**names) if self.remediation_command else None
        return Remediation(self.remediation_text.format(**names), command)


@dataclass(frozen=True, slots=True)
class Evidence:
    """What was observed, next to what the check expected."""

    observed: Mapping[str, Any]
    expected: Mapping[str, Any] = field(default_factory=dict)


class Link:
    """Names of the links of the resolution and serving chain, as ``Finding.breaks`` and
    ``Finding.needs`` hold them. Names are case-insensitive (lower-cased here); a resolver is
    its label as in the resolution matrix (``host``, ``custom 10.0.0.4``, ``azure 168.63.129.16``).
    """

    @staticmethod
    def answer(fqdn: str, resolver: str) -> str:
        """The answer ``resolver`` gives for ``fqdn`` (its forwarders, local zones, cache)."""
        return f"answer {fqdn.lower()} {resolver.lower()}"

    @staticmethod
    def route(fqdn: str, resolver: str) -> str:
        """Where ``resolver``'s query for ``fqdn`` is sent after it (a ruleset rule, a loop)."""
        return f"route {fqdn.lower()} {resolver.lower()}"

    @staticmethod
    def record(fqdn: str) -> str:
        """Azure DNS's private data for ``fqdn``: its zone exists, is linked, holds the record."""
        return f"record {fqdn.lower()}"

    @staticmethod
    def address(ip: str) -> str:
        """Private Link carries traffic to the private endpoint at ``ip`` (its connection is
        Approved)."""
        return f"address {ip.lower()}"

    @staticmethod
    def transport(fqdn: str, ip: str) -> str:
        """TCP and TLS to ``ip`` complete for ``fqdn``, with a certificate for the name."""
        return f"transport {fqdn.lower()} {ip.lower()}"

    @staticmethod
    def resource(resource_id: str) -> str:
        """An ARM resource is in the state its users need (a connection Approved, a deployment
        Succeeded)."""
        return f"resource {resource_id.lower()}"


@dataclass(frozen=True, slots=True)
class Finding:
    check: CheckMeta
    status: Status
    resource_id: str
    message: str
    evidence: Evidence | None = None
    remediation: Remediation | None = None
    # Tells apart several findings of one check on one resource (e.g. one per FQDN).
    subject: str = ""
    # The links of the chain (``Link``) this fail proves broken, and those whose breakage would
    # explain it: the evidence ``netverify.diagnose`` relates symptoms to their causes by.
    breaks: frozenset[str] = frozenset()
    needs: frozenset[str] = frozenset()
    # Set by ``netverify.diagnose``: the uids of the root-cause findings this fail follows from.
    caused_by: tuple[str, ...] = ()
    # Set by ``netverify.runner.evaluate``: the Azure region of the resource (``Facts.regions``),
    # None when the run read none (a failed read, the agent's own resolvers, ``netverify``).
    region: str | None = None

    @property
    def uid(self) -> str:
        key = f"{self.check.id}|{self.resource_id.lower()}|{self.subject.lower()}"
        return str(uuid.uuid5(FINDING_NAMESPACE, key))


# netverify could not run at all (bad config, no credential): `run` and `doctor` exit with it.
EXIT_CANNOT_RUN = 2


class CannotRun(Exception):
    """What netverify was given cannot be used (a config, a check folder, a spool): the message
    names what and where; the CLI prints it in one line and exits ``EXIT_CANNOT_RUN``."""


def exit_code(findings: list[Finding] | tuple[Finding, ...]) -> int:
    """0 all pass, 1 at least one fail, 3 no fail but something could not be observed."""
    return exit_code_of({f.status for f in findings})


def exit_code_of(statuses: set[Status]) -> int:
    """``exit_code`` for bare statuses (``netverify doctor`` uses it for its own verdicts)."""
    if Status.FAIL in statuses:
        return 1
    if Status.ERROR in statuses:
        return 3
    return 0


@dataclass(frozen=True, slots=True)
class Agent:
    """The agent that ran: its name (the host name unless configured) and the VNet it runs in."""

    name: str
    vnet_id: str | None


@dataclass(frozen=True, slots=True)
class RunContext:
    """One run's identity: a uuid4 run id, start/observation times (UTC) and the cloud name."""

    run_id: str
    started_at: datetime
    observed_at: datetime
    agent: Agent
    cloud: str
