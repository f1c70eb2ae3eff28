"""Credentials in query strings never reach a log line."""

from __future__ import annotations

import logging

import httpx
import pytest

from api.log_redaction import RedactQuerySecrets, redact_query


@pytest.mark.parametrize(
    ("text", "logged"),
    [
        ("GET /v1/campaigns?api_key=s3cret", "GET /v1/campaigns?api_key=***"),
        ("/x?limit=5&token=s3cret&cursor=9", "/x?limit=5&token=***&cursor=9"),
        ("/x?KEY=a&Access_Token=b;password=c", "/x?KEY=***&Access_Token=***;password=***"),
        ("/x?api%5Fkey=s3cret&sig=abc", "/x?api%5Fkey=***&sig=***"),
        ('"GET /x?key=s3cret HTTP/1.1" 200', '"GET /x?key=*** HTTP/1.1" 200'),
        ("/x?limit=5&status=running", "/x?limit=5&status=running"),
        ("/x?key=", "/x?key=***"),
        ("no query: key=s3cret", "no query: key=s3cret"),
    ],
)
def test_credential_values_are_masked(text: str, logged: str) -> None:
    assert redact_query(text) == logged


def test_the_access_log_record_is_masked_and_other_arguments_kept() -> None:
    """uvicorn's access log passes the path with its query string as an argument."""
    args = ("127.0.0.1:5000", "GET", "/v1/campaigns?api_key=s3cret", "1.1", 200)
    record = logging.LogRecord(
        "uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d', args, None
    )
    assert RedactQuerySecrets().filter(record)
    assert record.getMessage() == '127.0.0.1:5000 - "GET /v1/campaigns?api_key=*** HTTP/1.1" 200'


def test_a_url_object_is_masked() -> None:
    """httpx logs each request's URL as an `httpx.URL`: a CRM callback URL may carry a token."""
    url = httpx.URL("https://crm.example/hook?token=s3cret&id=1")
    record = logging.LogRecord(
        "httpx", logging.INFO, __file__, 1, "HTTP Request: %s %s", ("POST", url), None
    )
    RedactQuerySecrets().filter(record)
    assert record.getMessage() == "HTTP Request: POST https://crm.example/hook?token=***&id=1"
