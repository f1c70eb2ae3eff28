"""`/webhooks/mtt/{token}`: MTT's events, on one URL in every format (docs/design.md §10).

The token in the path is the only secret MTT can send (no signature, no header), so a wrong one
answers exactly what an unknown route answers and stores nothing; it is compared in constant
time, and `MaskWebhookToken` keeps it out of the access log, which prints the path. Answers:
200 once stored and applied (also for duplicates and events of unknown calls), 400 for a body
that is stored but cannot be parsed, 413 past `MAX_BODY_BYTES`, 500 when applying failed (the
event is stored; MTT may retry and the sweeper re-applies it).
"""

from __future__ import annotations

import hmac
import json
import re
from collections.abc import Mapping
from functools import lru_cache
from types import MappingProxyType

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import SecretStr
from starlette.exceptions import HTTPException

from api.errors import ApiError, error_response
from api.log_redaction import RedactingFilter
from api.resources import app_resources

__all__ = ["MAX_BODY_BYTES", "MaskWebhookToken", "mask_token", "router", "token_matches"]

MAX_BODY_BYTES = 64 * 1024
_TOKEN_IN_PATH = re.compile(r"(/webhooks/mtt/)[^/?#\s\"]+")

router = APIRouter()
_NO_QUERY: Mapping[str, str] = MappingProxyType({})


def token_matches(given: str, expected: SecretStr) -> bool:
    """Constant-time comparison; an unset token matches nothing."""
    secret = expected.get_secret_value()
    return bool(secret) and hmac.compare_digest(given.encode(), secret.encode())


def mask_token(text: str) -> str:
    return _TOKEN_IN_PATH.sub(r"\1***", text)


class MaskWebhookToken(RedactingFilter):
    """Replaces the token in any logged webhook path or URL."""

    def redact(self, text: str) -> str:
        return mask_token(text) if "/webhooks/mtt/" in text else text


async def mtt_events(request: Request) -> Response:
    """GET too: MTT's older APIs deliver events as query parameters of a GET."""
    resources = app_resources(request.app)
    if not token_matches(request.path_params["token"], resources.settings.webhook_token):
        raise HTTPException(404)
    body = await _read_body(request, MAX_BODY_BYTES)
    # MTT's POSTs carry no query string: not parsing an empty one saves a few % of the request
    query = request.query_params if request.scope["query_string"] else _NO_QUERY
    receipt = await resources.inbox.receive(body, request.headers.get("content-type"), query)
    if receipt.parse_error is not None:
        return error_response(400, "unparseable_event", receipt.parse_error)
    if receipt.apply_error is not None:
        return error_response(
            500, "apply_failed", "the event is stored but applying it failed; it will be retried"
        )
    answer = _counts(receipt.stored, receipt.duplicates, receipt.unmatched)
    return Response(answer, media_type="application/json")


@lru_cache(maxsize=64)
def _counts(stored: int, duplicates: int, unmatched: int) -> bytes:
    """The 200's JSON, encoded once per distinct answer: nearly every one is 1, 0, 0."""
    counts = {"stored": stored, "duplicates": duplicates, "unmatched": unmatched}
    return json.dumps(counts, separators=(",", ":")).encode()


# A plain Starlette route: FastAPI's parameter and dependency machinery costs more per request
# than storing the event does, and this route needs neither.
router.add_route(
    "/webhooks/mtt/{token}", mtt_events, methods=["POST", "GET"], include_in_schema=False
)


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def _too_large(limit: int) -> ApiError:
    return ApiError(413, "payload_too_large", f"the body is larger than {limit} bytes")
