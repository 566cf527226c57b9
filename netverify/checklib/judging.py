"""Verdicts that every check gives the same way, so the SIEM sees one wording for one situation."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from netverify.facts import Facts, Read, ReadProblem, Workspace
from netverify.model import CheckMeta, Evidence, Finding, Remediation, Status


def failed_read(meta: CheckMeta, read: Read[Any], what: str, *, linked: bool) -> Finding:
    """A resource the check needs could not be read.

    A 404 on a resource the workspace links to is a ``fail``: the link points at nothing. Every
    other failure (403, throttling, outages, bad bodies, and a 404 on a resource named in the
    config) is an ``error``: netverify could not observe, which says nothing about the resource.
    """
    failure = read.failure
    assert failure is not None, "failed_read needs a Read that failed"
    observed: dict[str, object] = {"problem": failure.problem.value, "detail": failure.message}
    if failure.status_code is not None:
        observed["http_status"] = failure.status_code
    if failure.problem is ReadProblem.NOT_FOUND and linked:
        return Finding(
            meta,
            Status.FAIL,
            read.resource_id,
            f"The linked {what} {read.resource_id} does not exist (ARM answered 404).",
            Evidence(observed, {"exists": True}),
            Remediation(
                f"Restore the {what}, or link the workspace to an existing one.",
                f"az resource show --ids {read.resource_id}",
            ),
        )
    if failure.problem is ReadProblem.FORBIDDEN:
        permission = failure.permission or "*/read on this resource"
        observed["missing_permission"] = permission
        return Finding(
            meta,
            Status.ERROR,
            read.resource_id,
            f"Cannot read the {what} {read.resource_id}: the agent's identity lacks {permission}.",
            Evidence(observed),
            Remediation(
                f"Grant the agent's identity {permission} (see deploy/ for netverify's "
                "least-privilege role) on the resource, its group or its subscription."
            ),
        )
    return Finding(
        meta,
        Status.ERROR,
        read.resource_id,
        f"Cannot read the {what} {read.resource_id}: {failure.message}",
        Evidence(observed),
    )


def unreadable(meta: CheckMeta, resource_id: str, read: Read[Any] | None, what: str) -> Finding:
    """Why a linked resource holds no value to judge.

    ``read`` is None when the run did not probe it (skipped, reported on ``resource_id``);
    a read that failed is ``failed_read`` with ``linked=True`` (a 404 is a broken link).
    """
    if read is None:
        return skipped(meta, resource_id, f"The {what} was not probed in this run.")
    return failed_read(meta, read, what, linked=True)


def skipped(meta: CheckMeta, resource_id: str, reason: str) -> Finding:
    return Finding(meta, Status.SKIPPED, resource_id, reason)


def workspaces_by_link(
    meta: CheckMeta,
    facts: Facts,
    link: Callable[[Workspace], str | None],
    what: str,
    users: dict[str, list[Workspace]],
) -> Iterator[Finding]:
    """Fill ``users`` (linked resource's lower-case id -> its workspaces), so a resource that
    several workspaces share is judged once; yield a skip for each workspace that cannot say."""
    for read in facts.workspaces:
        ws = facts.with_hub(read.value) if read.value is not None else None
        if ws is None:
            yield skipped(meta, read.resource_id, "The workspace could not be read.")
        elif (linked := link(ws)) is None:
            yield skipped(meta, ws.id, f"Workspace {ws.name} names no {what}.")
        else:
            users.setdefault(linked.lower(), []).append(ws)
