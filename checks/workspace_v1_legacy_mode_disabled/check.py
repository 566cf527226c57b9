"""Workspaces must not run in v1 legacy mode: managed online endpoints need the v2 API."""

from collections.abc import Iterator

from netverify.checklib.catalog import load_meta
from netverify.checklib.judging import failed_read
from netverify.facts import Facts
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    for read in facts.workspaces:
        ws = read.value
        if ws is None:
            yield failed_read(META, read, "workspace", linked=False)
            continue
        evidence = Evidence({"v1LegacyMode": ws.v1_legacy_mode}, {"v1LegacyMode": False})
        if ws.v1_legacy_mode:
            yield Finding(
                META,
                Status.FAIL,
                ws.id,
                f"Workspace {ws.name} has v1_legacy_mode = true: its managed online endpoints "
                "cannot work (v2 API unsupported).",
                evidence,
                META.remediation(workspace_name=ws.name, workspace_id=ws.id),
            )
        else:
            yield Finding(
                META, Status.PASS, ws.id, f"Workspace {ws.name} has v1_legacy_mode off.", evidence
            )
