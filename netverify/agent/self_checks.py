"""Findings about the agent itself: its configuration and its runs, resource ``netverify``.

They travel like any finding (stdout, sinks, state and change events), so a SIEM sees an agent
that lost its configuration or cannot finish a run, and sees it resolved afterwards. The agent's
name is the subject: each agent of a fleet has its own uid for the same check.
"""

from __future__ import annotations

from netverify.model import CheckMeta, Finding, Severity, Status

AGENT_RESOURCE = "netverify"

CONFIG_VALID = CheckMeta(
    id="netverify_config_valid",
    title="The agent's configuration file is valid",
    severity=Severity.HIGH,
    rationale=(
        "A reload with an invalid configuration keeps the previous one running: the agent goes"
        " on checking what it checked before, not what the file now says."
    ),
    remediation_text="Fix the configuration file {path}, then reload the agent.",
    remediation_command="netverify config check {path}",
)

RUN_COMPLETED = CheckMeta(
    id="netverify_run_completed",
    title="The agent's scheduled run completed",
    severity=Severity.HIGH,
    rationale=(
        "A run that times out or crashes delivers no findings: nothing is verified until a run"
        " completes again."
    ),
    remediation_text=(
        "Read the agent's log (journalctl -u netverify.service) for the cause; raise"
        " schedule.run_timeout_seconds if the estate simply needs longer."
    ),
    remediation_command="",
)


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
