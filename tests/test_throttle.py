"""ARM's per-subscription read budget: the simulated bucket, and the policy that keeps netverify
inside it (x-ms-ratelimit-remaining-subscription-reads) instead of running into 429s."""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.transport import HttpRequest

from netverify.model import Status
from netverify.probes.throttle import REMAINING_READS, ReadBudgetPolicy
from netverify.runner import run_once
from netverify.sim.generate import large_tenant
from tests.conftest import TenantFactory

SUB = "00000000-0000-4000-8000-000000000001"
URL = f"https://management.azure.com/subscriptions/{SUB}/resourceGroups/rg/providers/X/y/z"


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def exchange(policy: ReadBudgetPolicy, remaining: str | None = None) -> None:
    """One GET through the policy; the answer carries ``remaining`` in the header."""
    request = PipelineRequest(HttpRequest("GET", URL), context=None)  # type: ignore[arg-type]
    policy.on_request(request)

    class Answer:
        headers = {REMAINING_READS: remaining} if remaining is not None else {}

    policy.on_response(request, PipelineResponse(request.http_request, Answer(), None))  # type: ignore[arg-type]


def test_reads_wait_once_the_budget_nears_the_reserve() -> None:
    """With 12 reads left and a reserve of 10, the third read waits for one token (1/25 s)."""
    clock = FakeClock()
    policy = ReadBudgetPolicy(10, sleep=clock.sleep, clock=lambda: clock.now)

    exchange(policy, "12")
    exchange(policy)  # 11 left
    exchange(policy)  # 10 left
    exchange(policy)  # 9 left: wait

    assert [0.04] == [round(s, 3) for s in clock.slept]


def test_the_budget_refills_with_time() -> None:
    """A second after the header said 10, the bucket has refilled and no read waits."""
    clock = FakeClock()
    policy = ReadBudgetPolicy(10, sleep=clock.sleep, clock=lambda: clock.now)
    exchange(policy, "10")
    clock.now += 1.0

    exchange(policy)

    assert [] == clock.slept
    assert 0.0 == policy.wait_seconds(SUB)


def test_a_negative_remaining_count_waits_only_for_the_reserve() -> None:
    """A header of -100000 counts as an empty bucket: the next read waits (10 + 1) / 25 s, not
    the hour that 100000 missing tokens would take."""
    clock = FakeClock()
    policy = ReadBudgetPolicy(10, sleep=clock.sleep, clock=lambda: clock.now)

    exchange(policy, "-100000")
    exchange(policy)

    assert [0.44] == [round(s, 3) for s in clock.slept]


def test_a_subscription_never_heard_from_does_not_wait() -> None:
    """Without a header there is nothing to go by: no wait."""
    clock = FakeClock()
    policy = ReadBudgetPolicy(10, sleep=clock.sleep, clock=lambda: clock.now)

    exchange(policy)

    assert [] == clock.slept


def test_simulated_arm_throttles_past_its_bucket(start_tenant: TenantFactory) -> None:
    """The simulated bucket counts down in the header, then answers 429 with Retry-After."""
    tenant = start_tenant(large_tenant(1, 1, 1).model_copy(update={"read_bucket": 2}))
    context = ssl.create_default_context(cafile=str(tenant.ca_path))
    token = tenant.arm.tokens.issue()
    answers: list[tuple[int, Any, Any]] = []
    for _ in range(3):
        request = urllib.request.Request(
            f"{tenant.arm.url}{tenant.workspace_ids()[0]}?api-version=2025-12-01",
            headers={"Authorization": f"Bearer {token}"},
        )
        try:
            with urllib.request.urlopen(request, context=context) as answer:
                answers.append((answer.status, answer.headers[REMAINING_READS], None))
        except urllib.error.HTTPError as exc:
            answers.append((exc.code, exc.headers[REMAINING_READS], exc.headers["Retry-After"]))

    assert [(200, "1", None), (200, "0", None), (429, "0", "1")] == answers


def test_netverify_stays_inside_a_small_budget(start_tenant: TenantFactory) -> None:
    """Against a bucket of 20 reads refilled at 40/s, a run of ~40 reads sees no 429: it waits
    on the header instead, and every workspace is still judged."""
    scenario = large_tenant(1, 6, 12).model_copy(
        update={"read_bucket": 20, "read_refill_per_second": 40.0}
    )
    tenant = start_tenant(scenario)

    result = run_once(tenant.config(arm={"reserve_reads": 10}))

    assert [] == [r.path for r in tenant.arm.requests if r.status == 429]
    assert len(tenant.arm.requests) > 30
    judged = [f for f in result.findings if f.check.id == "workspace_v1_legacy_mode_disabled"]
    assert 6 == len(judged)
    assert all(f.status is Status.PASS for f in judged)
