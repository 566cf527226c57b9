"""Move a scenario into another Azure cloud's naming, so one scenario serves all three clouds.

Every DNS name under one of the source cloud's suffixes or zones (``netverify.azure.clouds``) is renamed
to the target's, and each region the scenario uses becomes a real region of the target cloud (as a
location and as the region label inside names): ``<guid>.workspace.eastus.api.azureml.ms``
becomes ``<guid>.workspace.chinanorth3.api.ml.azure.cn`` in Azure China, a resource in westus
lands in chinaeast2.
"""

from __future__ import annotations

from typing import Any

from netverify.azure.clouds import CLOUDS, Cloud, CloudName
from netverify.sim.scenario import Scenario, parse_scenario

# Real regions of each cloud for the simulated tenant's resources, the home region first: a
# scenario's regions map onto them in order of first use (its default location first).
REGIONS = {
    CloudName.PUBLIC: ("eastus", "westus", "westeurope", "northeurope"),
    CloudName.CHINA: ("chinanorth3", "chinaeast2", "chinanorth2", "chinaeast3"),
    CloudName.US_GOVERNMENT: ("usgovvirginia", "usgovarizona", "usgovtexas", "usdodeast"),
}
_DNS_FIELDS = (
    "aml_api_zone",
    "aml_notebooks_zone",
    "keyvault_zone",
    "acr_zone",
    "aml_api_suffix",
    "inference_suffix",
    "keyvault_suffix",
    "acr_suffix",
)
_LOCATION_KEYS = {"location", "default_location"}


def in_cloud(scenario: Scenario, target: CloudName | str) -> Scenario:
    """``scenario`` as it would look in the ``target`` cloud (itself if it is already there)."""
    source, goal = CLOUDS[scenario.cloud], CLOUDS[CloudName(target)]
    if source.name is goal.name:
        return scenario
    document = scenario.model_dump(mode="json")
    renamer = _Renamer(source, goal, _regions(document, scenario.default_location))
    document = renamer.walk(document, None)
    document["cloud"] = goal.name.value
    return parse_scenario(document, f"scenario in {goal.name.value}")


def _regions(document: Any, default: str) -> list[str]:
    """The regions a scenario document places resources in, its default first, then in order
    of first use."""
    found = [default]

    def visit(value: Any, key: str | None) -> None:
        if isinstance(value, dict):
            for k, v in value.items():
                visit(v, k)
        elif isinstance(value, list):
            for v in value:
                visit(v, key)
        elif key in _LOCATION_KEYS and isinstance(value, str) and value not in found:
            found.append(value)

    visit(document, None)
    return found


class _Renamer:
    def __init__(self, source: Cloud, goal: Cloud, regions: list[str]) -> None:
        pairs: dict[str, str] = {getattr(source, f): getattr(goal, f) for f in _DNS_FIELDS}
        pairs.update(
            zip(source.conditional_forwarder_zones, goal.conditional_forwarder_zones, strict=True)
        )
        # The public zone each privatelink zone hangs under (vaultcore.azure.net, ...): custom
        # DNS servers forward those too.
        pairs.update(
            (
                getattr(source, f).removeprefix("privatelink."),
                getattr(goal, f).removeprefix("privatelink."),
            )
            for f in _DNS_FIELDS
            if f.endswith("_zone")
        )
        # Storage zones (one per sub-resource) and the public zones they hang under.
        for old, new in zip(source.storage_zones, goal.storage_zones, strict=True):
            pairs[old.zone] = new.zone
            pairs[old.zone.removeprefix("privatelink.")] = new.zone.removeprefix("privatelink.")
        # Longest first, so privatelink.api.azureml.ms is renamed as a zone, not as a suffix.
        self.suffixes = sorted(pairs.items(), key=lambda p: -len(p[0]))
        targets = REGIONS[goal.name]
        if len(regions) > len(targets):
            raise ValueError(
                f"the scenario uses {len(regions)} regions ({', '.join(regions)}); netverify "
                f"knows {len(targets)} of {goal.name.value}"
            )
        self.regions = dict(zip(regions, targets, strict=False))

    def walk(self, value: Any, key: str | None) -> Any:
        if isinstance(value, dict):
            return {k: self.walk(v, k) for k, v in value.items()}
        if isinstance(value, list):
            return [self.walk(v, key) for v in value]
        if isinstance(value, str):
            if key in _LOCATION_KEYS and value in self.regions:
                return self.regions[value]
            return self.rename(value, relative=key == "name")
        return value

    def rename(self, name: str, *, relative: bool) -> str:
        """A DNS name under a source suffix (absolute with its final dot too), or a record name
        relative to a zone; else as is."""
        if name.endswith(".") and len(name) > 1:
            return self.rename(name[:-1], relative=False) + "."
        for old, new in self.suffixes:
            if name == old or name.endswith("." + old):
                return self._relabel(name.removesuffix(old)) + new
        # Record names such as `<guid>.workspace.eastus` carry the region but no suffix.
        return self._relabel(name) if relative and "." in name else name

    def _relabel(self, name: str) -> str:
        return ".".join(self.regions.get(label, label) for label in name.split("."))
