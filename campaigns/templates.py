"""Message templates: `{column}` placeholders filled from a contact's variables.

Templates are user input, so they are parsed by a small grammar of our own instead of
`str.format` (which would allow `{0.__class__}` attribute and `{x[0]}` index access).
`{{` and `}}` stand for literal braces; any other lone brace is an error.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Final

_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")
# The errors' texts, public so a translation recognises them ({field}: the variable part).
UNMATCHED: Final = "unmatched {brace} at position {position}; write {double} for a literal brace"
EMPTY_PLACEHOLDER: Final = "empty placeholder {{}} at position {position}"
UNKNOWN_PLACEHOLDERS: Final = "unknown placeholder(s) {names}; available columns: {columns}"
NO_VALUE: Final = "no value for placeholder {name}"
NO_COLUMNS: Final = "none"


class TemplateError(ValueError):
    """The template is malformed or names a variable that does not exist."""


@dataclass(frozen=True, slots=True)
class Template:
    """A parsed template: literal text and placeholder names, alternating."""

    parts: tuple[str | tuple[str], ...]
    """A `str` is literal text; a 1-tuple holds a placeholder's name."""

    @property
    def names(self) -> frozenset[str]:
        return frozenset(part[0] for part in self.parts if isinstance(part, tuple))

    @property
    def literal(self) -> str:
        """The text the template renders to whatever its variables hold."""
        return "".join(part for part in self.parts if isinstance(part, str))


@lru_cache(maxsize=1024)
def parse(template: str) -> Template:
    parts: list[str | tuple[str]] = []
    literal: list[str] = []
    position = 0
    for match in _TOKEN.finditer(template):
        literal.append(template[position : match.start()])
        position = match.end()
        token = match.group(0)
        if token in ("{{", "}}"):
            literal.append(token[0])
            continue
        name = match.group(1)
        if name is None:
            raise TemplateError(
                UNMATCHED.format(brace=repr(token), position=match.start() + 1, double=token * 2)
            )
        name = name.strip()
        if not name:
            raise TemplateError(EMPTY_PLACEHOLDER.format(position=match.start() + 1))
        parts.append("".join(literal))
        literal.clear()
        parts.append((name,))
    literal.append(template[position:])
    parts.append("".join(literal))
    return Template(tuple(part for part in parts if part != ""))


def placeholders(template: str) -> set[str]:
    return set(parse(template).names)


def check(template: str, columns: Iterable[str]) -> None:
    """Refuse a template before anything is stored if a placeholder has no column."""
    available = list(columns)
    unknown = placeholders(template) - set(available)
    if unknown:
        names = ", ".join(f"{{{name}}}" for name in sorted(unknown))
        have = ", ".join(available) if available else NO_COLUMNS
        raise TemplateError(UNKNOWN_PLACEHOLDERS.format(names=names, columns=have))


def render(template: str, variables: Mapping[str, object]) -> str:
    out: list[str] = []
    for part in parse(template).parts:
        if isinstance(part, str):
            out.append(part)
            continue
        try:
            value = variables[part[0]]
        except KeyError:
            raise TemplateError(NO_VALUE.format(name=f"{{{part[0]}}}")) from None
        out.append("" if value is None else str(value))
    return "".join(out)
