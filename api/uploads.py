"""Parsing a contacts upload (DESIGN §9): a multipart CSV/XLSX file or a JSON contacts list.

One route takes both, so the body is read by hand after a look at its content type; the
OpenAPI document describes both forms (`UPLOAD_BODY`). The body's size is capped by the
router's `max_body_size` (413) before any of it is parsed.
"""

from __future__ import annotations

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
                            "description": "CSV (UTF-8, UTF-8 with BOM or Windows-1251) or XLSX",
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
            return ContactsFile(await upload.read(), upload.filename, phone_column, delimiter)
    if media == "application/json":
        try:
            body = ContactsUpload.model_validate_json(await request.body())
        except ValidationError as error:
            raise RequestValidationError(
                [{**item, "loc": ("body", *item["loc"])} for item in error.errors()]
            ) from None
        return ContactRows([contact.model_dump(exclude_none=True) for contact in body.contacts])
    raise ApiError(
        415,
        "unsupported_media_type",
        'send multipart/form-data with a `file` field, or application/json {"contacts": [...]}',
        details={"content_type": media or None},
    )


def _text(form: FormData, name: str) -> str | None:
    value = form.get(name)
    if value is None:
        return None
    if not isinstance(value, str):
        raise Invalid(name, "must be a plain form field, not a file")
    return value or None


def _delimiter(value: str | None) -> str | None:
    if value is None:
        return None
    if value not in DELIMITERS:
        raise Invalid("delimiter", f"{value!r} is not one of: , ; tab")
    return DELIMITERS[value]
