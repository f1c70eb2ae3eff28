"""405 answers list every method of their path (RFC 9110 §15.5.6).

Starlette answers a request whose path matches but whose method does not with the `Allow` of
the first route it tried, so a path served by several routes (GET and POST of
`/v1/campaigns`) advertises only one of them. This ASGI middleware sets `Allow` on every 405
from all the routes that match the path.
"""

from __future__ import annotations

from collections.abc import Sequence

from starlette.datastructures import MutableHeaders
from starlette.routing import BaseRoute, Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["AllowEveryMethod", "allowed_methods"]

METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE")
"""The methods the app's routes may serve, in the order `Allow` lists them."""


def allowed_methods(routes: Sequence[BaseRoute], scope: Scope) -> list[str]:
    """The methods some route fully matches for the request's path: asked of each route as
    the router would (included routers answer for the routes inside them)."""
    return [
        method
        for method in METHODS
        if any(route.matches({**scope, "method": method})[0] == Match.FULL for route in routes)
    ]


class AllowEveryMethod:
    """Rewrites the `Allow` header of 405 answers; give it the app's live route list."""

    def __init__(self, app: ASGIApp, *, routes: Sequence[BaseRoute]) -> None:
        self.app = app
        self.routes = routes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_allow(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] == 405:
                methods = allowed_methods(self.routes, scope)
                if methods:
                    MutableHeaders(scope=message)["Allow"] = ", ".join(methods)
            await send(message)

        await self.app(scope, receive, send_with_allow)
