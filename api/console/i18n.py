"""The console's message catalogue: Russian first, English too (issue 12).

Catalogues are `locales/<lang>.json`, flat keys to texts with `{name}` fields. The language is
the `dialer_lang` cookie (the switch on every page), else the browser's Accept-Language, else
Russian. A key missing from English falls back to Russian, so a page never shows a bare key.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Final

__all__ = ["DEFAULT", "LANGUAGES", "Translator", "pick_language"]

LANGUAGES: Final = ("ru", "en")
DEFAULT: Final = "ru"
_LOCALES: Final = Path(__file__).with_name("locales")


@cache
def catalogue(lang: str) -> Mapping[str, str]:
    texts: dict[str, str] = json.loads((_LOCALES / f"{lang}.json").read_text(encoding="utf-8"))
    return texts


def pick_language(cookie: str | None, accept_language: str | None) -> str:
    """The cookie's language, else the first of ours the browser prefers, else Russian."""
    if cookie in LANGUAGES:
        return str(cookie)
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate((accept_language or "").split(",")):
        tag, _, params = item.strip().partition(";")
        quality = 1.0
        if params.strip().startswith("q="):
            try:
                quality = float(params.strip()[2:])
            except ValueError:
                quality = 0.0
        primary = tag.strip().lower().split("-")[0]
        if primary in LANGUAGES and quality > 0:
            ranked.append((-quality, position, primary))
    return min(ranked)[2] if ranked else DEFAULT


@dataclass(frozen=True)
class Translator:
    lang: str

    def __call__(self, key: str, **fields: object) -> str:
        text = catalogue(self.lang).get(key) or catalogue(DEFAULT).get(key) or key
        return text.format(**fields) if fields else text

    def has(self, key: str) -> bool:
        return key in catalogue(DEFAULT)
