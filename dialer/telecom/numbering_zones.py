"""Region text of Russia's numbering-plan registry → the IANA zone of its local time.

The registry names regions loosely ("г. Москва|Московская обл.", "Республика Саха /Якутия/",
"г. Санкт-Петербург * Ленинградская область", "Российская Федерация"), so a text is cut into
parts and each part matched by a distinctive stem of a federal subject's name. A text whose
parts lie in different zones, or that names no subject, has no zone: the caller treats the
number as of unknown zone rather than guess an hour.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Final

__all__ = ["RUSSIAN_ZONES", "region_zone"]

RUSSIAN_ZONES: Final = (
    "Europe/Kaliningrad",  # UTC+2
    "Europe/Moscow",  # UTC+3
    "Europe/Samara",  # UTC+4
    "Asia/Yekaterinburg",  # UTC+5
    "Asia/Omsk",  # UTC+6
    "Asia/Krasnoyarsk",  # UTC+7
    "Asia/Irkutsk",  # UTC+8
    "Asia/Yakutsk",  # UTC+9
    "Asia/Vladivostok",  # UTC+10
    "Asia/Magadan",  # UTC+11
    "Asia/Kamchatka",  # UTC+12
)
"""One zone per UTC offset of Russia's eleven; none of them keeps daylight saving time."""

_FINER: Final = (
    # Yakutia's districts east of the Yakutsk zone (the rest of the republic, Asia/Yakutsk)
    ("верхоянск", "Asia/Vladivostok"),
    ("оймякон", "Asia/Vladivostok"),
    ("усть-янск", "Asia/Vladivostok"),
    ("томпонск", "Asia/Vladivostok"),
    ("усть-майск", "Asia/Vladivostok"),
    ("эвено-бытантайск", "Asia/Vladivostok"),
    ("среднеколымск", "Asia/Srednekolymsk"),
    ("верхнеколымск", "Asia/Srednekolymsk"),
    ("нижнеколымск", "Asia/Srednekolymsk"),
    ("абыйск", "Asia/Srednekolymsk"),
    ("аллаиховск", "Asia/Srednekolymsk"),
    ("момск", "Asia/Srednekolymsk"),
    # the northern Kuril Islands keep UTC+11 like the rest of Sakhalin oblast
    ("северо-курильск", "Asia/Srednekolymsk"),
)
"""Areas inside a subject that spans zones; matched before the subjects."""

_SUBJECTS: Final = (
    # UTC+2
    ("калининград", "Europe/Kaliningrad"),
    # UTC+3
    ("москв", "Europe/Moscow"),
    ("московск", "Europe/Moscow"),
    ("санкт-петербург", "Europe/Moscow"),
    ("ленинградск", "Europe/Moscow"),
    ("белгородск", "Europe/Moscow"),
    ("брянск", "Europe/Moscow"),
    ("владимирск", "Europe/Moscow"),
    ("воронежск", "Europe/Moscow"),
    ("ивановск", "Europe/Moscow"),
    ("калужск", "Europe/Moscow"),
    ("костромск", "Europe/Moscow"),
    ("курск", "Europe/Moscow"),
    ("липецк", "Europe/Moscow"),
    ("орловск", "Europe/Moscow"),
    ("рязанск", "Europe/Moscow"),
    ("смоленск", "Europe/Moscow"),
    ("тамбовск", "Europe/Moscow"),
    ("тверск", "Europe/Moscow"),
    ("тульск", "Europe/Moscow"),
    ("ярославск", "Europe/Moscow"),
    ("архангельск", "Europe/Moscow"),
    ("вологодск", "Europe/Moscow"),
    ("мурманск", "Europe/Moscow"),
    ("новгородск", "Europe/Moscow"),
    ("псковск", "Europe/Moscow"),
    ("карелия", "Europe/Moscow"),
    ("коми-пермяцк", "Asia/Yekaterinburg"),
    ("коми", "Europe/Moscow"),
    ("адыгея", "Europe/Moscow"),
    ("калмыкия", "Europe/Moscow"),
    ("краснодарск", "Europe/Moscow"),
    ("ростовск", "Europe/Moscow"),
    ("дагестан", "Europe/Moscow"),
    ("ингушетия", "Europe/Moscow"),
    ("кабардино-балкар", "Europe/Moscow"),
    ("карачаево-черкес", "Europe/Moscow"),
    ("осетия", "Europe/Moscow"),
    ("чеченск", "Europe/Moscow"),
    ("ставропольск", "Europe/Moscow"),
    ("марий эл", "Europe/Moscow"),
    ("мордовия", "Europe/Moscow"),
    ("татарстан", "Europe/Moscow"),
    ("чуваш", "Europe/Moscow"),
    ("нижегородск", "Europe/Moscow"),
    ("пензенск", "Europe/Moscow"),
    ("донецк", "Europe/Moscow"),
    ("луганск", "Europe/Moscow"),
    ("запорожск", "Europe/Moscow"),
    ("херсонск", "Europe/Moscow"),
    ("крым", "Europe/Simferopol"),
    ("севастопол", "Europe/Simferopol"),
    ("волгоградск", "Europe/Volgograd"),
    ("кировск", "Europe/Kirov"),
    # UTC+4
    ("самарск", "Europe/Samara"),
    ("удмурт", "Europe/Samara"),
    ("ульяновск", "Europe/Ulyanovsk"),
    ("саратовск", "Europe/Saratov"),
    ("астраханск", "Europe/Astrakhan"),
    # UTC+5
    ("ямало-ненецк", "Asia/Yekaterinburg"),
    ("ненецк", "Europe/Moscow"),  # after ямало-ненецк
    ("свердловск", "Asia/Yekaterinburg"),
    ("челябинск", "Asia/Yekaterinburg"),
    ("курганск", "Asia/Yekaterinburg"),
    ("тюменск", "Asia/Yekaterinburg"),
    ("ханты", "Asia/Yekaterinburg"),
    ("югра", "Asia/Yekaterinburg"),
    ("пермск", "Asia/Yekaterinburg"),
    ("башкортостан", "Asia/Yekaterinburg"),
    ("оренбургск", "Asia/Yekaterinburg"),
    # UTC+6
    ("омск", "Asia/Omsk"),  # "томск" contains it: Tomsk is matched as a word first
    # UTC+7
    ("новосибирск", "Asia/Novosibirsk"),
    ("алтай", "Asia/Barnaul"),
    ("кемеровск", "Asia/Novokuznetsk"),
    ("кузбасс", "Asia/Novokuznetsk"),
    ("красноярск", "Asia/Krasnoyarsk"),
    ("тыва", "Asia/Krasnoyarsk"),
    ("тува", "Asia/Krasnoyarsk"),
    ("хакасия", "Asia/Krasnoyarsk"),
    # UTC+8
    ("иркутск", "Asia/Irkutsk"),
    ("бурятия", "Asia/Irkutsk"),
    # UTC+9
    ("сахалин", "Asia/Sakhalin"),  # before саха
    ("саха", "Asia/Yakutsk"),
    ("якутия", "Asia/Yakutsk"),
    ("амурск", "Asia/Yakutsk"),
    ("забайкальск", "Asia/Chita"),
    ("чита", "Asia/Chita"),
    # UTC+10
    ("приморск", "Asia/Vladivostok"),
    ("хабаровск", "Asia/Vladivostok"),
    ("еврейск", "Asia/Vladivostok"),
    # UTC+11
    ("магаданск", "Asia/Magadan"),
    ("курильск", "Asia/Sakhalin"),
    # UTC+12
    ("камчатск", "Asia/Kamchatka"),
    ("корякск", "Asia/Kamchatka"),
    ("чукотск", "Asia/Anadyr"),
)
"""Every federal subject by a stem of its name; a stem that is part of another stem comes
after it (ямало-ненецк before ненецк, сахалин before саха)."""

_WORD_TOMSK: Final = re.compile(r"(?<![а-я])томск")
_PARTS: Final = re.compile(r"\s*(?:\||\*|;|,|\sи\s)\s*")
_NOISE: Final = re.compile(r"[\"'«»()/\\]+")


def _normal(text: str) -> str:
    return " ".join(_NOISE.sub(" ", text.casefold().replace("ё", "е")).split())


def _finer_zone(part: str) -> str | None:
    return next((zone for stem, zone in _FINER if stem in part), None)


def _subject_zone(part: str) -> str | None:
    if _WORD_TOMSK.search(part):
        return "Asia/Tomsk"
    return next((zone for stem, zone in _SUBJECTS if stem in part), None)


@lru_cache(maxsize=4096)
def region_zone(region: str) -> str | None:
    """The IANA zone of a registry region text; None when it names no subject or subjects in
    different zones (an operator-wide "Российская Федерация", "Сибирь и Дальний Восток").
    A finer area named beside its subject ("Оймяконский р-н|Республика Саха") decides."""
    parts = [p for p in _PARTS.split(_normal(region)) if p]
    finer: set[str | None] = {zone for zone in map(_finer_zone, parts) if zone}
    zones = finer or {_subject_zone(part) for part in parts}
    if len(zones) != 1:
        return None
    return zones.pop()
