"""Every check yields nothing: ``evaluate`` of each check ``load_checks`` imports returns ``[]``.

Active when this folder is on ``PYTHONPATH`` and ``NETVERIFY_EMPTY_CHECKS=1``; Python imports
``sitecustomize`` at start-up, so the hook applies in every subprocess a test starts as well.
``scripts/empty-checks`` runs the suite this way: a test that still passes either is about code
other than the checks or does not assert the findings it is named after.
"""

from __future__ import annotations

import functools
import importlib.abc
import importlib.machinery
import os
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any

CATALOG = "netverify.checklib.catalog"


def _no_findings(*_args: Any, **_kwargs: Any) -> list[Any]:
    return []


def _empty_the_checks(catalog: ModuleType) -> None:
    load = catalog.load_checks.__wrapped__  # load_checks is under functools.cache

    @functools.cache
    def load_emptied(root: Any = None) -> Any:
        loaded = load(root)
        for check in loaded:
            check.module.evaluate = _no_findings
        return loaded

    catalog.load_checks = load_emptied  # type: ignore[attr-defined]


class _CatalogFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != CATALOG:
            return None
        spec = importlib.machinery.PathFinder.find_spec(fullname, path)
        if spec is None or spec.loader is None:
            return spec
        exec_module = spec.loader.exec_module

        def exec_then_empty(module: ModuleType) -> None:
            exec_module(module)
            _empty_the_checks(module)

        spec.loader.exec_module = exec_then_empty  # type: ignore[method-assign]
        return spec


if os.environ.get("NETVERIFY_EMPTY_CHECKS") == "1":
    sys.meta_path.insert(0, _CatalogFinder())
