"""Findings about the agent itself: its configuration and its runs, resource ``netverify``.

They travel like any finding (stdout, sinks, state and change events), so a SIEM sees an agent
that lost its configuration or cannot finish a run, and sees it resolved afterwards. The agent's
name is the subject: each agent of a fleet has its own uid for the same check.
"""

from __future__ import annotations

from pathlib import Path

from netverify.checklib.catalog import load_meta
from netverify.model import CheckMeta, Finding, Remediation, Status

AGENT_RESOURCE = "netverify"

# The agent's own checks carry their metadata in agent/checks/<id>/metadata.toml, like every
# check in checks/; they are not in the catalog because no facts are judged to make them.
_METADATA = Path(__file__).parent / "checks"
CONFIG_VALID = load_meta(_METADATA / "netverify_config_valid")
RUN_COMPLETED = load_meta(_METADATA / "netverify_run_completed")


def config_rejected(agent: str, path: str, problem: str) -> Finding:
    message = (
        f"The configuration {path} was not reloaded, the previous one stays in force: {problem}"
    )
    return _error(CONFIG_VALID, agent, message, CONFIG_VALID.remediation(path=path))


def config_accepted(agent: str, path: str) -> Finding:
    return _passed(CONFIG_VALID, agent, f"The configuration {path} is in force.")


def run_failed(agent: str, problem: str) -> Finding:
    message = f"The scheduled run did not complete: {problem}"
    return _error(RUN_COMPLETED, agent, message, RUN_COMPLETED.remediation())


def run_completed(agent: str) -> Finding:
    return _passed(RUN_COMPLETED, agent, "The scheduled run completed.")


def _error(meta: CheckMeta, agent: str, message: str, remediation: Remediation) -> Finding:
    return Finding(meta, Status.ERROR, AGENT_RESOURCE, message, None, remediation, agent)


def _passed(meta: CheckMeta, agent: str, message: str) -> Finding:
    return Finding(meta, Status.PASS, AGENT_RESOURCE, message, subject=agent)
