"""Parsing a contacts upload (docs/design.md §9): a multipart CSV/XLSX file or a JSON contacts list.

One route takes both, so the body is read by hand after a look at its content type; the
OpenAPI document describes both forms (`UPLOAD_BODY`). The body's size is capped by the
router's `max_body_size` (413) before any of it is parsed.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any, Final

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel, ConfigDict, ValidationError
from starlette.datastructures import FormData, UploadFile

from api.errors import ApiError
from campaigns.errors import Invalid
from campaigns.spec import ContactSpec

__all__ = ["UPLOAD_BODY", "ContactRows", "ContactsFile", "ContactsUpload", "read_contacts"]

DELIMITERS: Final = {",": ",", ";": ";", "\t": "\t", "tab": "\t"}
MAX_FORM_FIELDS: Final = 8
MAX_ENCODING_NAME: Final = 64


class ContactsUpload(BaseModel):
    """The JSON form of a contacts upload."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    contacts: list[ContactSpec]


UPLOAD_BODY: Final[dict[str, Any]] = {
    "requestBody": {
        "required": True,
        "content": {
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "required": ["file"],
                    "properties": {
                        "file": {
                            "type": "string",
                            "format": "binary",
                            "description": "CSV (UTF-8 with or without BOM, UTF-16, "
                            "Windows-1251 or KOI8-R) or XLSX",
                        },
                        "phone_column": {
                            "type": "string",
                            "description": "the phone column's name; found by name when unset",
                        },
                        "delimiter": {
                            "type": "string",
                            "enum": list(DELIMITERS),
                            "description": "CSV delimiter; detected when unset",
                        },
                        "encoding": {
                            "type": "string",
                            "maxLength": MAX_ENCODING_NAME,
                            "description": "the CSV's encoding (utf-8, cp1251, koi8-r, utf-16, "
                            "any Python codec name); detected when unset",
                        },
                    },
                }
            },
            "application/json": {
                "schema": {
                    "type": "object",
                    "required": ["contacts"],
                    "additionalProperties": False,
                    "properties": {
                        "contacts": {
                            "type": "array",
                            "items": {"$ref": "#/components/schemas/ContactSpec"},
                        }
                    },
                }
            },
        },
    }
}


@dataclass(frozen=True)
class ContactsFile:
    """A CSV or XLSX file, with the form's reading options."""

    data: bytes
    filename: str | None
    phone_column: str | None
    delimiter: str | None
    encoding: str | None


@dataclass(frozen=True)
class ContactRows:
    """The JSON form's contacts, as rows for the importer."""

    rows: list[dict[str, Any]]


async def read_contacts(request: Request) -> ContactsFile | ContactRows:
    """The request's contacts, parsed from whichever form it sends; nothing is imported here."""
    media = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if media == "multipart/form-data":
        async with request.form(max_files=1, max_fields=MAX_FORM_FIELDS) as form:
            upload = form.get("file")
            if not isinstance(upload, UploadFile):
                raise Invalid("file", "a multipart field `file` holding the CSV or XLSX is needed")
            phone_column = (_text(form, "phone_column") or "").strip() or None
            delimiter = _delimiter(_text(form, "delimiter"))
            encoding = _encoding(_text(form, "encoding"))
            return ContactsFile(
                await upload.read(), upload.filename, phone_column, delimiter, encoding
            )
    if media == "application/json":
        return ContactRows(await asyncio.to_thread(_contact_rows, await request.body()))
    raise ApiError(
        415,
        "unsupported_media_type",
        'send multipart/form-data with a `file` field, or application/json {"contacts": [...]}',
        details={"content_type": media or None},
    )


def _contact_rows(body: bytes) -> list[dict[str, Any]]:
    """The JSON upload's contacts; validated in a thread, as a million of them take seconds."""
    try:
        upload = ContactsUpload.model_validate_json(body)
    except ValidationError as error:
        raise RequestValidationError(
            [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
        ) from None
    return [contact.model_dump(exclude_none=True) for contact in upload.contacts]


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(name, "must be a plain form field, not a file")
    return value or None


def _encoding(value: str | None) -> str | None:
    """Checked against Python's codecs by the importer; only its length here."""
    if value is None or not value.strip():
        return None
    if len(value) > MAX_ENCODING_NAME:
        raise Invalid("encoding", f"{value[:MAX_ENCODING_NAME]!r}… is not an encoding name")
    return value.strip()


def _delimiter(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in DELIMITERS:
        raise Invalid("delimiter", f"{value!r} is not one of: , ; tab")
    return DELIMITERS[value]
