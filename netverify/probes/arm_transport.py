"""The HTTP transport under the ARM reader's azure-core pipeline: urllib3's pool, directly.

azure-core's ``RequestsTransport`` sends each request through a requests ``Session``, whose
settings merge, request preparation and per-request checks (the CA bundle is looked up on disk
every time) cost about three times what urllib3's keep-alive request does; a tenant scan
sends thousands of requests under one GIL, so that cost bounds how many are in flight. This
transport hands each attempt to one urllib3 pool and maps urllib3's errors onto azure-core's
exceptions as ``RequestsTransport`` does, so the pipeline's retry, redirect and token policies
see what they saw before. What requests did for the reader is kept: the proxy that
``HTTPS_PROXY``/``HTTP_PROXY``/``ALL_PROXY`` name for the ARM endpoint unless ``NO_PROXY``
exempts it (read once, with requests' rules), its credentials as ``Proxy-Authorization``,
certificate verification against ``arm.ca_bundle`` or else requests' CA bundle (certifi), and
requests' default ``Accept`` and ``Accept-Encoding`` headers.
"""

from __future__ import annotations

from typing import Any

import certifi
import urllib3
from azure.core.exceptions import (
    IncompleteReadError,
    ServiceRequestError,
    ServiceRequestTimeoutError,
    ServiceResponseError,
    ServiceResponseTimeoutError,
)
from azure.core.pipeline.transport import HttpTransport
from azure.core.rest import HttpRequest, HttpResponse

# azure-core's own transports build their answers on this class (the rest API's HttpResponse
# with its backward-compatible attributes, which the pipeline's policies use).
from azure.core.rest._http_response_impl import HttpResponseImpl
from requests.utils import get_auth_from_url, get_environ_proxies, select_proxy
from urllib3.exceptions import (
    ConnectTimeoutError,
    NewConnectionError,
    ProtocolError,
    ReadTimeoutError,
)

from netverify.probes.cancel import Cancel

# ARM ties the requests that carry one correlation id together in its logs and the activity
# log: every request of a run carries the run's id.
CORRELATION_HEADER = "x-ms-correlation-request-id"
# What requests sent by default (its user agent is replaced by the pipeline's).
DEFAULT_HEADERS = {"Accept-Encoding": "gzip, deflate", "Accept": "*/*"}


class ArmResponse(HttpResponseImpl):
    """A whole (already read) urllib3 answer as azure-core's rest ``HttpResponse``."""

    def __init__(self, request: HttpRequest, answer: urllib3.BaseHTTPResponse) -> None:
        super().__init__(
            request=request,
            internal_response=answer,
            status_code=answer.status,
            reason=answer.reason or "",
            headers=answer.headers,  # HTTPHeaderDict: case-insensitive, as azure-core's
            content_type=answer.headers.get("Content-Type"),
            stream_download_generator=None,
        )
        self._content = answer.data
        self._is_stream_consumed = True


class RunTransport(HttpTransport[HttpRequest, HttpResponse]):
    """Sends one run's ARM requests over one urllib3 connection pool per origin (at most
    ``pool_size`` connections each, the reads in flight). Before each request (every attempt,
    every page) it checks the run's ``Cancel`` (a cancelled run raises ``RunCancelled`` and
    sends nothing) and stamps ``run_id`` as the ARM correlation id.

    ``endpoint`` is the ARM endpoint whose proxy settings apply; ``ca_bundle`` a PEM file of
    the CAs to trust (None: certifi's); ``timeout_seconds`` bounds the connect and each read
    unless the pipeline passes ``connection_timeout``/``read_timeout``. Raises azure-core's
    ``ServiceRequestError`` (no connection, TLS refused, proxy failed; its ``...TimeoutError``
    for a connect timeout), ``ServiceResponseError`` (connection broken mid-answer;
    ``...TimeoutError`` for a read timeout) or ``IncompleteReadError`` (a body shorter than its
    Content-Length), as ``RequestsTransport`` does.
    """

    def __init__(
        self,
        cancel: Cancel,
        run_id: str | None,
        *,
        endpoint: str,
        ca_bundle: str | None,
        timeout_seconds: float,
        pool_size: int,
    ) -> None:
        self._cancel = cancel
        self._run_id = run_id
        self._timeout = timeout_seconds
        self._default_timeout = urllib3.Timeout(connect=timeout_seconds, read=timeout_seconds)
        tls: dict[str, Any] = {
            "cert_reqs": "CERT_REQUIRED",
            "ca_certs": ca_bundle or certifi.where(),
        }
        proxy = select_proxy(endpoint, get_environ_proxies(endpoint))
        self._pool: urllib3.PoolManager
        if proxy:
            user, password = get_auth_from_url(proxy)
            headers = urllib3.make_headers(proxy_basic_auth=f"{user}:{password}") if user else {}
            self._pool = urllib3.ProxyManager(
                proxy, proxy_headers=headers, num_pools=4, maxsize=pool_size, **tls
            )
        else:
            self._pool = urllib3.PoolManager(num_pools=4, maxsize=pool_size, **tls)

    def send(self, request: HttpRequest, **kwargs: Any) -> HttpResponse:
        self._cancel.check()
        headers = DEFAULT_HEADERS | dict(request.headers)
        if self._run_id:
            headers[CORRELATION_HEADER] = self._run_id
        timeout = (
            urllib3.Timeout(
                connect=kwargs.get("connection_timeout", self._timeout),
                read=kwargs.get("read_timeout", self._timeout),
            )
            if "connection_timeout" in kwargs or "read_timeout" in kwargs
            else self._default_timeout
        )
        try:
            answer = self._pool.urlopen(
                request.method,
                request.url,
                body=request.content,
                headers=headers,
                redirect=False,  # the pipeline's RedirectPolicy follows them, host-checked
                retries=False,  # the pipeline's RetryPolicy retries; urllib3 raises at once
                timeout=timeout,
            )
        except NewConnectionError as exc:  # before ConnectTimeoutError: it subclasses that
            raise ServiceRequestError(exc, error=exc) from exc
        except ConnectTimeoutError as exc:
            raise ServiceRequestTimeoutError(exc, error=exc) from exc
        except ReadTimeoutError as exc:
            raise ServiceResponseTimeoutError(exc, error=exc) from exc
        except ProtocolError as exc:
            if "IncompleteRead" in str(exc):
                raise IncompleteReadError(exc, error=exc) from exc
            raise ServiceResponseError(exc, error=exc) from exc
        except urllib3.exceptions.HTTPError as exc:  # TLS, proxy, a malformed answer
            raise ServiceRequestError(exc, error=exc) from exc
        return ArmResponse(request, answer)

    def open(self) -> None:
        """Nothing to open: the pool connects on demand."""

    def close(self) -> None:
        self._pool.clear()

    def __enter__(self) -> RunTransport:
        return self

    def __exit__(self, *args: object) -> None:
        self.close()
