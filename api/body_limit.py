"""The request body limit of the REST API (`DIALER_MAX_UPLOAD_BYTES`), answered in the one
error shape.

Starlette's own body limit answers a plain-text 413; this one refuses a declared
Content-Length over the limit before reading anything, and stops a body sent without one (or
longer than declared) as soon as it passes the limit, raising an HTTPException(413) that the
app's error handlers answer like any other error.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import error_response

__all__ = ["BodyLimit"]


class BodyLimit:
    """ASGI middleware limiting the bodies of requests whose path starts with `prefix`."""

    def __init__(self, app: ASGIApp, *, limit: int, prefix: str = "/v1/") -> None:
        self.app = app
        self.limit = limit
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not str(scope["path"]).startswith(self.prefix):
            await self.app(scope, receive, send)
            return
        message = f"the body is larger than {self.limit} bytes"
        declared = Headers(scope=scope).get("content-length", "")
        if declared.isdigit() and int(declared) > self.limit:
            await error_response(413, "payload_too_large", message)(scope, receive, send)
            return
        received = 0

        async def limited() -> Message:
            nonlocal received
            item = await receive()
            if item["type"] == "http.request":
                received += len(item.get("body", b""))
                if received > self.limit:
                    raise HTTPException(413, message)
            return item

        await self.app(scope, limited, send)
