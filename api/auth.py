"""Bearer API keys (docs/design.md §9): every `/v1` route needs `Authorization: Bearer <key>`.

The keys are `DIALER_API_KEYS`. The given key is compared with every configured key in
constant time, and all of them are compared, so the answer's timing tells nothing about which
key came close. No key configured means no access, not open access.
"""

from __future__ import annotations

import hmac
from collections.abc import Sequence
from typing import Annotated

from fastapi import APIRouter, Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import SecretStr
from starlette.exceptions import HTTPException

from api.resources import ResourcesDep
from api.schemas import errors

__all__ = ["key_matches", "keyed_router", "require_api_key"]

_bearer = HTTPBearer(auto_error=False, description="an API key of DIALER_API_KEYS")
_CHALLENGE = {"WWW-Authenticate": "Bearer"}


def key_matches(given: str, keys: Sequence[SecretStr]) -> bool:
    found = False
    for key in keys:
        secret = key.get_secret_value().encode()
        found |= bool(secret) and hmac.compare_digest(given.encode(), secret)
    return found


async def require_api_key(
    resources: ResourcesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    if credentials is None:
        raise HTTPException(401, "an API key is needed: Authorization: Bearer <key>", _CHALLENGE)
    if not key_matches(credentials.credentials, resources.settings.api_keys):
        raise HTTPException(401, "the API key is not valid", _CHALLENGE)


def keyed_router(prefix: str, tag: str) -> APIRouter:
    """A `/v1` router whose every route needs an API key."""
    return APIRouter(
        prefix=prefix,
        tags=[tag],
        dependencies=[Depends(require_api_key)],
        responses=errors(400, 401),
    )
