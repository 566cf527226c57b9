"""An ARM body is decoded and parsed as azure-core's ``HttpResponse.json()`` would, whatever its
content type says: same value, or the same kind of failure (a DecodeError: MALFORMED). No I/O."""

from __future__ import annotations

import io
from typing import Any

import pytest
import urllib3
from azure.core import PipelineClient
from azure.core.credentials import AccessToken
from azure.core.exceptions import DecodeError
from azure.core.rest import HttpRequest

from netverify.azure.clouds import cloud
from netverify.config import ArmConfig
from netverify.probes.arm import ArmReader
from netverify.probes.arm_transport import ArmResponse

BODIES = [
    b'{"name": "w\xc3\xa9"}',  # UTF-8
    b'\xef\xbb\xbf{"name": "bom"}',  # UTF-8 with a byte-order mark
    b'{"name": "w\xe9"}',  # Latin-1: not UTF-8
    b"<html>not json</html>",
    b"",
]
CONTENT_TYPES = [
    "application/json; charset=utf-8",
    "application/json; charset=UTF-8",
    "Application/JSON; Charset=utf-8",
    'application/json;charset="utf-8"',
    "application/json",
    "application/json; charset=iso-8859-1",
    "text/html",
]


class Token:
    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        return AccessToken("token", 2**40)


def answer(body: bytes, content_type: str) -> ArmResponse:
    raw = urllib3.HTTPResponse(
        body=io.BytesIO(body), headers={"Content-Type": content_type}, status=200
    )
    return ArmResponse(HttpRequest("GET", "https://management.azure.com/x"), raw)


def outcome(read: Any) -> tuple[str, Any]:
    try:
        return "value", read()
    except (DecodeError, ValueError) as exc:  # DecodeError from the reader, ValueError raw
        return "not JSON", str(exc.__cause__ or exc).split(":")[-1]


@pytest.mark.parametrize("content_type", CONTENT_TYPES)
@pytest.mark.parametrize("body", BODIES)
def test_a_body_reads_as_azure_core_reads_it(
    body: bytes, content_type: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        PipelineClient, "send_request", lambda self, request: answer(body, content_type)
    )
    reader = ArmReader(Token(), cloud("AzureCloud"), ArmConfig())

    expected = outcome(answer(body, content_type).json)

    assert expected == outcome(lambda: reader.get("/x", "2025-01-01"))
