"""The fault campaign's own case API on a few cases, so bench/fault_campaign.py does not rot."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pytest

BENCH = Path(__file__).resolve().parents[1] / "bench" / "fault_campaign.py"


@pytest.fixture(scope="module")
def campaign_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fault_campaign", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fault_campaign"] = module  # dataclasses resolve their annotations through it
    spec.loader.exec_module(module)
    return module


def named(module: ModuleType, kind: str, name: str):  # type: ignore[no-untyped-def]
    return next(c for c in module.all_cases() if (c.kind, c.name) == (kind, name))


def test_cases_cover_every_kind_with_unique_names(campaign_module: ModuleType) -> None:
    """At least 60 cases over the six kinds, no name twice (a table row per kind)."""
    cases = campaign_module.all_cases()
    assert len(cases) >= 60
    assert {"config", "arm", "token", "dns", "sink", "secret"} == {c.kind for c in cases}
    assert len(cases) == len({(c.kind, c.name) for c in cases})


def test_an_arm_fault_and_a_syntax_error_are_judged_right(
    campaign_module: ModuleType, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A vault answering 503 is an error finding while the rest is judged; a TOML syntax error
    exits 2 naming the file: both right, within their bounds, nothing left behind."""
    monkeypatch.setenv("IDENTITY_ENDPOINT", "unset")  # the campaign sets it; monkeypatch restores
    monkeypatch.setenv("IDENTITY_HEADER", "unset")
    with campaign_module.campaign_on_demo() as campaign:
        results = [
            campaign_module.run_case(campaign, named(campaign_module, kind, name))
            for kind, name in (("arm", "vault 503 always"), ("config", "TOML syntax error"))
        ]
    assert [(r.right, r.hung, r.reason) for r in results] == [(True, False, ""), (True, False, "")]
    table = campaign_module.table(results)
    assert "total  | 2      | 2      | 0" in table
    assert "hangs: 0" in table


def test_a_wrong_outcome_is_counted_with_its_reason(campaign_module: ModuleType) -> None:
    """A case whose judge says wrong shows up in the wrong column with its one-line reason."""
    module = campaign_module
    case = module.Case("config", "always wrong", lambda campaign: module.Outcome("said no"))
    result = module.run_case(None, case)
    assert (False, "said no") == (result.right, result.reason)
    assert "config | 1      | 0      | 1" in module.table([result])
