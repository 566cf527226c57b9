"""Findings about the agent itself: its configuration and its runs, resource ``netverify``.

They travel like any finding (stdout, sinks, state and change events), so a SIEM sees an agent
that lost its configuration or cannot finish a run, and sees it resolved afterwards. The agent's
name is the subject: each agent of a fleet has its own uid for the same check.
"""

from __future__ import annotations

from pathlib import Path

from netverify.checklib.catalog import load_meta
from netverify.model import Finding, Status

AGENT_RESOURCE = "netverify"

# The agent's own checks carry their metadata in agent/checks/<id>/metadata.toml, like every
# check in checks/; they are not in the catalog because no facts are judged to make them.
_METADATA = Path(__file__).parent / "checks"
CONFIG_VALID = load_meta(_METADATA / "netverify_config_valid")
RUN_COMPLETED = load_meta(_METADATA / "netverify_run_completed")


def config_rejected(agent: str, path: str, problem: str) -> Finding:
    return Finding(
        CONFIG_VALID,
        Status.ERROR,
        AGENT_RESOURCE,
        f"The configuration {path} was not reloaded, the previous one stays in force: {problem}",
        remediation=CONFIG_VALID.remediation(path=path),
        subject=agent,
    )


def config_accepted(agent: str, path: str) -> Finding:
    return Finding(
        CONFIG_VALID,
        Status.PASS,
        AGENT_RESOURCE,
        f"The configuration {path} is in force.",
        subject=agent,
    )


def run_failed(agent: str, problem: str) -> Finding:
    return Finding(
        RUN_COMPLETED,
        Status.ERROR,
        AGENT_RESOURCE,
        f"The scheduled run did not complete: {problem}",
        remediation=RUN_COMPLETED.remediation(),
        subject=agent,
    )


def run_completed(agent: str) -> Finding:
    return Finding(
        RUN_COMPLETED, Status.PASS, AGENT_RESOURCE, "The scheduled run completed.", subject=agent
    )
