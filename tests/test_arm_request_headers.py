"""The headers every ARM request carries: the SDK clients' user agent with netverify's moniker,
and a client request id of its own per request (kept by its retries). No I/O."""

from __future__ import annotations

import uuid

from azure.core.pipeline import PipelineContext, PipelineRequest
from azure.core.pipeline.policies import UserAgentPolicy
from azure.core.rest import HttpRequest

from netverify.probes.arm import CLIENT_REQUEST_ID, RequestHeadersPolicy

URL = "https://management.azure.com/subscriptions?api-version=2022-12-01"


def sent(policy: RequestHeadersPolicy, request: HttpRequest) -> dict[str, str]:
    policy.on_request(PipelineRequest(request, PipelineContext(None)))
    return dict(request.headers)


def test_each_request_gets_the_sdk_user_agent_and_an_id_of_its_own() -> None:
    policy = RequestHeadersPolicy(sdk_moniker="netverify/9.9")
    first, second = HttpRequest("GET", URL), HttpRequest("GET", URL)

    headers = [sent(policy, first), sent(policy, second)]

    agent = UserAgentPolicy(sdk_moniker="netverify/9.9").user_agent
    assert "azsdk-python-netverify/9.9" in agent
    assert [agent, agent] == [h["User-Agent"] for h in headers]
    ids = [uuid.UUID(h[CLIENT_REQUEST_ID]) for h in headers]
    assert ids[0] != ids[1]
    assert [str(i) for i in ids] == [h[CLIENT_REQUEST_ID] for h in headers]
    assert {4} == {i.version for i in ids}
    assert {"User-Agent", CLIENT_REQUEST_ID} == set(headers[0])


def test_a_retry_keeps_its_request_id_and_a_set_user_agent_is_kept() -> None:
    policy = RequestHeadersPolicy(sdk_moniker="netverify/9.9")
    request = HttpRequest("GET", URL, headers={"User-Agent": "mine"})

    first = sent(policy, request)
    retried = sent(policy, request)

    assert first == retried
    assert "mine" == retried["User-Agent"]
