"""The words of a refused webhook body (dialer.telecom.events formats its errors from them).

Kept apart from the parser so the parser stays readable; a translation (the console's) recognises
each error by its template. `{value}`, `{name}` and the like are quoted from the body as sent;
`{detail}` is Python's own explanation (a JSON or date error), quoted as it is.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Final

__all__ = ["GRAMMAR", "JSON_TYPES", "PARSE_ERRORS"]

GRAMMAR: Final[Mapping[str, str]] = MappingProxyType(
    {
        "originate": "o_<number>",
        "hangup": "h_<number>_<cause>_<duration>",
        "notify": "n_<number>",
    }
)
"""The `event` field's grammar of each event kind."""

JSON_TYPES: Final[Mapping[str, str]] = MappingProxyType(
    {
        "object": "an object",
        "list": "a list",
        "string": "a string",
        "boolean": "a boolean",
        "null": "null",
        "number": "a number",
    }
)
"""How an error names the JSON type of a value that is not what it should be."""

PARSE_ERRORS: Final[Mapping[str, str]] = MappingProxyType(
    {
        "in_event": "event {index} of {count} ({format}): {error}",
        "too_deep": "body is nested too deeply",
        "not_utf8": "body is not UTF-8: {detail} at byte {byte}",
        "empty": "empty body and no query parameters",
        "not_json": "body is neither valid JSON ({detail}) nor k=v in braces",
        "json_body": "JSON body is {json_type}, expected an object or a list",
        "empty_list": "JSON list is empty: no events",
        "list_item": "item {index} of the JSON list is {json_type}, expected an object",
        "data_depth": "field 'data' is nested more than {limit} times",
        "data_value": (
            "field 'data' is {json_type} {value}, expected an object or a non-empty k=v string"
        ),
        "not_pair": "k=v segment {value} is not name=value",
        "bad_escapes": "k=v segment {value} has %-escapes that are not UTF-8",
        "twice": "field {name} given twice: {first} and {second}",
        "no_fields": "k=v text {value} has no fields",
        "bad_chars": "field {name} contains NUL or an unpaired surrogate",
        "twice_differently": "field {name} given twice with different values",
        "no_event": "missing field 'event' (fields: {fields})",
        "no_id": "neither 'id' nor 'CallID' is given",
        "not_transfer": "field 'event' value {value} cannot be type=transfer",
        "letter": "field 'event' value {value}: unknown event letter {letter} (expected o, h or n)",
        "number": "field 'event' value {value}: number {number} is not 1..{digits} digits",
        "not_whole": (
            "field 'event' value {value}: {part} {text} is not a non-negative whole number"
        ),
        "out_of_range": "field 'event' value {value}: {part} {text} is out of range 0..{limit}",
        "no_kind": "field 'event' value {value} is not " + " or ".join(GRAMMAR.values()),
        "grammar": "field 'event' value {value} is not {grammar}",
        "dtmf": "field 'dtmf' value {value} is not a digit 1..9 or 'null'",
        "date_format": "field 'date_time' value {value} is not YYYY-MM-DD-HH-MM-SS",
        "bad_date": "field 'date_time' value {value}: {detail}",
        "identifier": "field {name} value {value} is not 1..128 printable ASCII characters",
    }
)
"""Every reason a body is refused, by a stable name; a template that another one fits is listed
after it (`grammar` after `number`, `no_kind` and the other `field 'event'` ones)."""
