"""Stay inside ARM's per-subscription read budget instead of running into 429s.

ARM throttles reads with a token bucket per subscription and principal (250 tokens, 25 more each
second) and reports what is left in ``x-ms-ratelimit-remaining-subscription-reads`` on every
answer. This policy mirrors that bucket: it takes the header as the truth whenever one arrives,
refills its estimate with time in between, and before a read that would leave fewer than
``reserve`` tokens it waits until the bucket has refilled that far. A 429 that still happens is
retried after its ``Retry-After`` by ``CappedRetryPolicy``: azure-core's retries, with the wait
capped so that a ``Retry-After: 100000`` cannot hold the run for a day.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline.policies import RetryPolicy, SansIOHTTPPolicy

REMAINING_READS = "x-ms-ratelimit-remaining-subscription-reads"
REFILL_PER_SECOND = 25.0  # ARM's subscription read bucket refill rate


class ReadBudgetPolicy(SansIOHTTPPolicy[Any, Any]):
    """Shared by every client of one run; thread-safe."""

    def __init__(
        self,
        reserve: int,
        *,
        refill_per_second: float = REFILL_PER_SECOND,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self._reserve = reserve
        self._refill = refill_per_second
        self._sleep = sleep
        self._clock = clock
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[float, float]] = {}  # subscription -> (tokens, at)

    def on_request(self, request: PipelineRequest[Any]) -> None:
        subscription = _subscription(request.http_request.url)
        if subscription is None or request.http_request.method != "GET":
            return
        with self._lock:
            known = self._tokens.get(subscription)
            if known is None:
                return  # nothing heard from this subscription yet
            now = self._clock()
            tokens = known[0] + (now - known[1]) * self._refill - 1
            self._tokens[subscription] = (tokens, now)
        if tokens < self._reserve:
            self._sleep((self._reserve - tokens) / self._refill)

    def on_response(
        self, request: PipelineRequest[Any], response: PipelineResponse[Any, Any]
    ) -> None:
        subscription = _subscription(request.http_request.url)
        header = response.http_response.headers.get(REMAINING_READS)
        if subscription is None or header is None:
            return
        try:
            # ARM's bucket never holds less than nothing; a negative (or NaN) count would make
            # the next read wait for as long as the number says.
            remaining = max(0.0, float(header))
        except ValueError:
            return
        with self._lock:
            self._tokens[subscription] = (remaining, self._clock())

    def wait_seconds(self, subscription: str) -> float:
        """How long a read against ``subscription`` would wait now (for tests and logs)."""
        with self._lock:
            known = self._tokens.get(subscription.lower())
            if known is None:
                return 0.0
            tokens = known[0] + (self._clock() - known[1]) * self._refill - 1
        return max(0.0, (self._reserve - tokens) / self._refill)


class CappedRetryPolicy(RetryPolicy[Any, Any]):
    """azure-core's ``RetryPolicy`` (same ``retry_*`` keywords), but a server's ``Retry-After``
    is honoured only up to ``max_retry_after`` seconds, and every wait goes through ``sleep``."""

    def __init__(
        self,
        *,
        max_retry_after: float,
        sleep: Callable[[float], None] = time.sleep,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self._max_retry_after = max_retry_after
        self._sleep = sleep

    def get_retry_after(self, response: PipelineResponse[Any, Any]) -> float | None:
        asked = super().get_retry_after(response)
        return None if asked is None else min(asked, self._max_retry_after)

    def sleep(
        self,
        settings: dict[str, Any],
        transport: Any,
        response: PipelineResponse[Any, Any] | None = None,
    ) -> None:
        """As azure-core: the (capped) Retry-After if the answer had one, else the back-off."""
        wait = (self.get_retry_after(response) if response else None) or self.get_backoff_time(
            settings
        )
        if wait > 0:
            self._sleep(wait)


def _subscription(url: str) -> str | None:
    marker = "/subscriptions/"
    at = url.lower().find(marker)
    if at < 0:
        return None
    return url[at + len(marker) :].split("/", 1)[0].split("?", 1)[0].lower() or None
