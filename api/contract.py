"""The OpenAPI document states what the validators enforce.

Many fields are checked by validators (a DTMF digit, a time of day, a redial category, a
callback URL) whose rules pydantic cannot put in the generated schema. They are stated here,
on the generated document, so a client validating against /openapi.json sends nothing the
server refuses for its form. Rules between fields (distinct digits, a window's start before
its end, a template's variables) are beyond JSON Schema: they stay documented 422s.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import FastAPI

from api.uploads import MAX_FORM_FIELDS
from campaigns.single_calls import MAX_KEY_CHARS
from dialer.telecom.causes import Category
from dialer.telecom.numbers import PHONE_PATTERN
from dialer.telecom.redial import MAX_DELAY_SECONDS
from dialer.telecom.voice import SPEED_MAX, SPEED_MIN

__all__ = ["state_enforced_rules"]

Schema = dict[str, Any]

TIME_OF_DAY: Schema = {
    "type": "string",
    "pattern": "^(?:(?:[01]?[0-9]|2[0-3]):[0-5][0-9]|24:00)$",
    "description": "HH:MM, 00:00 to 24:00",
}
SPAN: Schema = {
    "type": "array",
    "prefixItems": [TIME_OF_DAY, TIME_OF_DAY],
    "minItems": 2,
    "maxItems": 2,
}
HTTP_URL: Schema = {
    "type": "string",
    "pattern": "^https?://[A-Za-z0-9](?:[A-Za-z0-9.-]*[A-Za-z0-9])?(?::[0-9]{1,5})?(?:/[!-~]*)?$",
    "description": "an absolute http(s) URL",
}
_PLACEHOLDER = "\\{[^{}]*[^{}\\s][^{}]*\\}"
_TOKEN = f"(?:[^{{}}]|\\{{\\{{|\\}}\\}}|{_PLACEHOLDER})"
_VISIBLE = f"(?:[^{{}}\\s]|\\{{\\{{|\\}}\\}}|{_PLACEHOLDER})"
TEMPLATE = f"^{_TOKEN}*{_VISIBLE}{_TOKEN}*$"
"""Not blank: literal text, `{{` and `}}`, and `{name}` placeholders whose name is not blank."""
REDIAL_DELAYS: Schema = {
    "type": "array",
    "items": {"type": "integer", "minimum": 0, "maximum": MAX_DELAY_SECONDS},
}
REDIAL_CATEGORIES = [category.value for category in Category if category is not Category.LISTENED]


def _redial(delays: Schema) -> Schema:
    return {
        "type": "object",
        "propertyNames": {"enum": REDIAL_CATEGORIES},
        "additionalProperties": delays,
        "description": "policy category → delays in seconds of its successive redials",
    }


def _nullable(schema: Schema) -> Schema:
    return {"anyOf": [schema, {"type": "null"}]}


def _text(schema: Schema, pattern: str) -> Schema:
    """A string's (or a nullable string's) schema with a pattern, which null ignores."""
    return schema | {"pattern": pattern}


PROPERTIES: dict[str, dict[str, Schema]] = {
    "DtmfAction": {"digit": {"type": "integer", "minimum": 1, "maximum": 9}},
    "Voice": {"speed": {"type": "number", "minimum": SPEED_MIN, "maximum": SPEED_MAX}},
    "Schedule": {"workdays": SPAN, "weekends": SPAN},
    "CampaignSpec": {"crm_callback_url": _nullable(HTTP_URL), "redial": _redial(REDIAL_DELAYS)},
    "CallSpec": {"crm_callback_url": _nullable(HTTP_URL), "redial": _redial(REDIAL_DELAYS)},
    "CampaignPatch": {
        "crm_callback_url": _nullable(HTTP_URL),
        "redial": _nullable(_redial(_nullable(REDIAL_DELAYS))),
    },
}
"""Component → property → the schema that states its validator's rule."""


def _state(document: Schema) -> None:
    components = document["components"]["schemas"]
    for name, properties in PROPERTIES.items():
        for field, schema in properties.items():
            target = components[name]["properties"][field]
            default = target.get("default")
            target.clear()
            target.update(schema | ({} if default is None else {"default": default}))
    menu = components["DtmfAction"]
    menu["oneOf"] = [
        {"properties": {"action": {"enum": ["notify", "opt_out"]}, "number": {"type": "null"}}},
        {
            "properties": {
                "action": {"const": "transfer"},
                "number": {"type": "string", "pattern": PHONE_PATTERN},
            },
            "required": ["number"],
        },
    ]
    for spec in ("CampaignSpec", "CallSpec", "CampaignPatch"):
        properties = components[spec]["properties"]
        properties["message"] = _text(properties["message"], TEMPLATE)
        properties["name"] = _text(properties["name"], "\\S")
    upload = document["paths"]["/v1/campaigns/{campaign_id}/contacts"]["post"]["requestBody"]
    form = upload["content"]["multipart/form-data"]["schema"]
    form |= {"maxProperties": MAX_FORM_FIELDS + 1, "additionalProperties": {"type": "string"}}
    header = document["paths"]["/v1/calls"]["post"]["parameters"][0]
    header["schema"] = {"type": "string", "minLength": 1, "maxLength": MAX_KEY_CHARS}


def state_enforced_rules(app: FastAPI) -> None:
    """Make `app.openapi()` answer the generated document with the validators' rules stated."""
    generate: Callable[[], Schema] = app.openapi

    stated: list[Schema] = []

    def openapi() -> Schema:
        if not stated:
            document = generate()
            _state(document)
            stated.append(document)
        return stated[0]

    app.openapi = openapi  # type: ignore[method-assign]
