"""Secrets out of logged query strings.

uvicorn's access log prints each request's path with its query string, so a client that sends
its API key as `?api_key=…` would leave the key in api.log; a CRM callback URL may carry the
receiver's token the same way. The value of every query parameter whose name looks like a
credential is replaced by `***`, wherever a query string appears in a record.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import unquote_plus

__all__ = ["MASK", "RedactQuerySecrets", "RedactingFilter", "redact_query"]

MASK = "***"
_SECRET_NAME = re.compile(r"key|token|secret|passw|pwd|sig|auth|credential|session", re.I)
_QUERY = re.compile(r"\?[^\s\"'<>#]+")
_PAIR = re.compile(r"([?&;])([^=&;]*)=([^&;]*)")


def redact_query(text: str) -> str:
    """`text` with the values of credential-like query parameters masked."""
    return _QUERY.sub(_redact_pairs, text) if "?" in text else text


def _redact_pairs(query: re.Match[str]) -> str:
    return _PAIR.sub(_redact_pair, query.group())


def _redact_pair(pair: re.Match[str]) -> str:
    lead, name, _ = pair.groups()
    return f"{lead}{name}={MASK}" if _SECRET_NAME.search(unquote_plus(name)) else pair.group()


class RedactingFilter(logging.Filter):
    """Rewrites a record's message and its arguments with `redact`: uvicorn's access log passes
    the path as an argument, httpx's request log an `httpx.URL`."""

    def redact(self, text: str) -> str:
        raise NotImplementedError

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = self.redact(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(self._argument(arg) for arg in record.args)
        return True

    def _argument(self, arg: object) -> object:
        if isinstance(arg, int | float | bool) or arg is None:
            return arg
        text = str(arg)
        redacted = self.redact(text)
        return arg if redacted == text else redacted


class RedactQuerySecrets(RedactingFilter):
    """Masks credential-like query parameters wherever a query string is logged."""

    def redact(self, text: str) -> str:
        return redact_query(text)
