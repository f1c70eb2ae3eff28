"""The signature of CRM callbacks, as Stripe signs its webhooks: the header
`X-Dialer-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">`.

The timestamp is signed with the body, so a receiver that refuses old timestamps (`verify`,
five minutes by default) cannot be fed a captured callback again later. Each try of a
delivery is signed anew with the time of that try; the body stays the same.
"""

from __future__ import annotations

import hashlib
import hmac
from typing import Final

__all__ = ["SIGNATURE_HEADER", "TOLERANCE", "sign", "verify"]

SIGNATURE_HEADER: Final = "X-Dialer-Signature"
TOLERANCE: Final = 300
"""Seconds a signature's timestamp may be away from the receiver's clock."""


def _digest(body: bytes, secret: str, timestamp: int) -> str:
    signed = str(timestamp).encode() + b"." + body
    return hmac.new(secret.encode(), signed, hashlib.sha256).hexdigest()


def sign(body: bytes, secret: str, *, timestamp: int) -> str:
    """The signature header's value for `body` sent at `timestamp` (unix seconds)."""
    return f"t={timestamp},v1={_digest(body, secret, timestamp)}"


def verify(
    body: bytes, secret: str, header: str, *, now: float, tolerance: float = TOLERANCE
) -> bool:
    """What a receiver checks: the header is well formed, its timestamp is within `tolerance`
    seconds of `now` (unix seconds), and a `v1` is the HMAC of this body (constant-time)."""
    fields = [item.partition("=") for item in header.split(",")]
    stamps = [value for key, _, value in fields if key.strip() == "t"]
    if len(stamps) != 1 or not (stamps[0].isascii() and stamps[0].strip().isdigit()):
        return False
    timestamp = int(stamps[0])
    if abs(now - timestamp) > tolerance:
        return False
    expected = _digest(body, secret, timestamp).encode()
    return any(
        hmac.compare_digest(expected, value.strip().encode())
        for key, _, value in fields
        if key.strip() == "v1"
    )
