"""A workspace whose registry is behind a VNet needs an image-build compute."""

from collections.abc import Iterator

from netverify.azure.arm_ids import cli_subscription
from netverify.checklib.catalog import load_meta
from netverify.checklib.judging import skipped, unreadable
from netverify.facts import Facts
from netverify.model import Evidence, Finding, Status

META = load_meta(__file__)


def evaluate(facts: Facts) -> Iterator[Finding]:
    for read in facts.workspaces:
        ws = facts.with_hub(read.value) if read.value is not None else None
        if ws is None:
            yield skipped(META, read.resource_id, "The workspace could not be read.")
            continue
        if ws.container_registry_id is None:
            yield skipped(META, ws.id, f"Workspace {ws.name} names no container registry.")
            continue
        registry_read = facts.registry(ws.container_registry_id)
        registry = registry_read.value if registry_read is not None else None
        if registry is None:
            yield unreadable(META, ws.id, registry_read, "container registry")
            continue
        private = registry.public_network_access == "Disabled" or registry.default_action == "Deny"
        evidence = Evidence(
            {
                "imageBuildCompute": ws.image_build_compute,
                "registry": registry.name,
                "registryPublicNetworkAccess": registry.public_network_access,
                "registryDefaultAction": registry.default_action,
            },
            {"imageBuildCompute": "a compute cluster name"} if private else {},
        )
        if not private:
            message = f"Workspace {ws.name}: registry {registry.name} is public; images build without a VNet compute."
            yield Finding(META, Status.PASS, ws.id, message, evidence)
        elif ws.image_build_compute:
            message = f"Workspace {ws.name} builds images on {ws.image_build_compute} (registry {registry.name} is private)."
            yield Finding(META, Status.PASS, ws.id, message, evidence)
        else:
            yield Finding(
                META,
                Status.FAIL,
                ws.id,
                f"Workspace {ws.name} has no image-build compute although registry "
                f'{registry.name} is private: image builds fail with "failed to communicate '
                "with the workspace's container registry\".",
                evidence,
                META.remediation(
                    workspace_name=ws.name,
                    subscription=cli_subscription(ws.id),
                    resource_group=ws.resource_group,
                ),
            )
