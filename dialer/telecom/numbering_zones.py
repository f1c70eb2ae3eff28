"""Region text of Russia's numbering-plan registry → the IANA zone of its local time.

The registry names regions loosely ("г. Москва|Московская обл.", "Республика Саха /Якутия/",
"г. Санкт-Петербург * Ленинградская область", "Российская Федерация"), so a text is cut into
parts and each part matched by a distinctive stem of a federal subject's name, or else by the
name of a town that the registry names alone ("г. Сочи", mostly in ABC files). A text whose
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
    ("кировская", "Europe/Kirov"),  # not the Кировский districts of other subjects
    # UTC+4
    ("самарск", "Europe/Samara"),
    ("удмурт", "Europe/Samara"),
    ("ульяновск", "Europe/Ulyanovsk"),
    ("саратовск", "Europe/Saratov"),
    ("астраханск", "Europe/Astrakhan"),
    # UTC+5
    ("ямало-ненецк", "Asia/Yekaterinburg"),
    ("ненецк", "Europe/Moscow"),  # after ямало-ненецк
    ("свердловская", "Asia/Yekaterinburg"),
    ("челябинск", "Asia/Yekaterinburg"),
    ("курганск", "Asia/Yekaterinburg"),
    ("тюменск", "Asia/Yekaterinburg"),
    ("ханты", "Asia/Yekaterinburg"),
    ("югра", "Asia/Yekaterinburg"),
    ("пермск", "Asia/Yekaterinburg"),
    ("башкортостан", "Asia/Yekaterinburg"),
    ("оренбургск", "Asia/Yekaterinburg"),
    # UTC+6
    ("омск", "Asia/Omsk"),
    ("томск", "Asia/Tomsk"),
    # UTC+7
    ("новосибирск", "Asia/Novosibirsk"),
    ("алтай", "Asia/Barnaul"),
    ("кемеровск", "Asia/Novokuznetsk"),
    ("кузбасс", "Asia/Novokuznetsk"),
    ("красноярский кр", "Asia/Krasnoyarsk"),  # not Samara's Красноярский район
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
    ("амурская", "Asia/Yakutsk"),  # not Khabarovsk krai's Амурский район
    ("забайкальск", "Asia/Chita"),
    ("чита", "Asia/Chita"),
    # UTC+10
    ("приморский кр", "Asia/Vladivostok"),  # not Arkhangelsk's Приморский район
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
"""Every federal subject by the start of a word of its name; a stem that begins another stem
comes after it (сахалин before саха). A stem that a district of another subject also begins
with ("Кировский район") is written out further."""

_CITIES: Final = (
    # UTC+3
    ("сочи", "Europe/Moscow"),
    ("краснодар", "Europe/Moscow"),
    ("новороссийск", "Europe/Moscow"),
    ("ростов-на-дону", "Europe/Moscow"),
    ("ставрополь", "Europe/Moscow"),
    ("минеральн.. воды", "Europe/Moscow"),
    ("минераловодск[а-я]*", "Europe/Moscow"),
    ("пятигорск", "Europe/Moscow"),
    ("ярославль", "Europe/Moscow"),
    ("чебоксары", "Europe/Moscow"),
    ("сыктывкар", "Europe/Moscow"),
    ("череповец", "Europe/Moscow"),
    ("вологда", "Europe/Moscow"),
    ("псков", "Europe/Moscow"),
    ("орел", "Europe/Moscow"),
    ("петрозаводск", "Europe/Moscow"),
    ("калуга", "Europe/Moscow"),
    ("владимир", "Europe/Moscow"),
    ("воронеж", "Europe/Moscow"),
    ("тамбов", "Europe/Moscow"),
    ("тула", "Europe/Moscow"),
    ("тверь", "Europe/Moscow"),
    ("рязань", "Europe/Moscow"),
    ("владикавказ", "Europe/Moscow"),
    ("иваново", "Europe/Moscow"),
    ("казань", "Europe/Moscow"),
    ("набережные челны", "Europe/Moscow"),
    ("нижний новгород", "Europe/Moscow"),
    ("йошкар-ола", "Europe/Moscow"),
    ("пенза", "Europe/Moscow"),
    ("саранск", "Europe/Moscow"),
    ("назрань", "Europe/Moscow"),
    ("кострома", "Europe/Moscow"),
    ("костромск[а-я]*", "Europe/Moscow"),
    ("белгород", "Europe/Moscow"),
    ("махачкала", "Europe/Moscow"),
    ("нальчик", "Europe/Moscow"),
    ("черкесск", "Europe/Moscow"),
    ("грозный", "Europe/Moscow"),
    ("майкоп", "Europe/Moscow"),
    ("элиста", "Europe/Moscow"),
    ("симферополь", "Europe/Simferopol"),
    ("ялта", "Europe/Simferopol"),
    ("евпатория", "Europe/Simferopol"),
    ("керчь", "Europe/Simferopol"),
    ("феодосия", "Europe/Simferopol"),
    ("обнинск", "Europe/Moscow"),
    ("волгоград", "Europe/Volgograd"),
    ("волжский", "Europe/Volgograd"),
    ("киров", "Europe/Kirov"),
    # UTC+4
    ("самара", "Europe/Samara"),
    ("тольятти", "Europe/Samara"),
    ("сызрань", "Europe/Samara"),
    ("новокуйбышевск", "Europe/Samara"),
    ("ижевск", "Europe/Samara"),
    ("ува", "Europe/Samara"),
    ("увинск[а-я]*", "Europe/Samara"),
    ("саратов", "Europe/Saratov"),
    ("астрахань", "Europe/Astrakhan"),
    # UTC+5
    ("екатеринбург", "Asia/Yekaterinburg"),
    ("нижний тагил", "Asia/Yekaterinburg"),
    ("магнитогорск", "Asia/Yekaterinburg"),
    ("пермь", "Asia/Yekaterinburg"),
    ("тюмень", "Asia/Yekaterinburg"),
    ("курган", "Asia/Yekaterinburg"),
    ("уфа", "Asia/Yekaterinburg"),
    ("стерлитамак", "Asia/Yekaterinburg"),
    ("нефтекамск", "Asia/Yekaterinburg"),
    ("салават", "Asia/Yekaterinburg"),
    ("оренбург", "Asia/Yekaterinburg"),
    ("абзелиловск[а-я]*", "Asia/Yekaterinburg"),
    ("белорецк[а-я]*", "Asia/Yekaterinburg"),
    ("сургут", "Asia/Yekaterinburg"),
    ("сургутск[а-я]*", "Asia/Yekaterinburg"),
    ("нижневартовск", "Asia/Yekaterinburg"),
    ("салехард", "Asia/Yekaterinburg"),
    # UTC+7
    ("барнаул", "Asia/Barnaul"),
    ("бийск", "Asia/Barnaul"),
    ("кемерово", "Asia/Novokuznetsk"),
    ("новокузнецк", "Asia/Novokuznetsk"),
    ("норильск", "Asia/Krasnoyarsk"),
    ("абакан", "Asia/Krasnoyarsk"),
    ("кызыл", "Asia/Krasnoyarsk"),
    ("эвенкийск[а-я]*", "Asia/Krasnoyarsk"),
    ("таймырск[а-я]*", "Asia/Krasnoyarsk"),
    # UTC+8
    ("улан-удэ", "Asia/Irkutsk"),
    ("братск", "Asia/Irkutsk"),
    ("ангарск", "Asia/Irkutsk"),
    # UTC+9
    ("якутск", "Asia/Yakutsk"),
    ("благовещенск", "Asia/Yakutsk"),
    ("нерюнгри", "Asia/Yakutsk"),
    ("красноярск", "Asia/Krasnoyarsk"),
    # UTC+10
    ("владивосток", "Asia/Vladivostok"),
    ("находка", "Asia/Vladivostok"),
    ("комсомольск-на-амуре", "Asia/Vladivostok"),
    ("биробиджан", "Asia/Vladivostok"),
    # UTC+11
    ("магадан", "Asia/Magadan"),
    ("южно-сахалинск", "Asia/Sakhalin"),
    # UTC+12
    ("петропавловск-камчатский", "Asia/Kamchatka"),
    ("анадырь", "Asia/Anadyr"),
)
"""Towns the registry names without their subject (mostly in ABC files and older DEF files),
as whole words ("курган" must not take Курганинск, in Krasnodar krai, with it); an entry
ending in [а-я]* is a stem of a district's or town's adjective."""

_WORD: Final = "(?<![а-я-])"
_FINER_WORDS: Final = tuple((re.compile(_WORD + stem), zone) for stem, zone in _FINER)
_PLACE_WORDS: Final = (
    *((re.compile(_WORD + stem), zone) for stem, zone in _SUBJECTS),
    *((re.compile(f"{_WORD}{name}(?![а-я-])"), zone) for name, zone in _CITIES),
)
_PARTS: Final = re.compile(r"\s*(?:\||\*|;|,|\sи\s)\s*")
_NOISE: Final = re.compile(r"[\"'«»()/\\]+")


def _normal(text: str) -> str:
    return " ".join(_NOISE.sub(" ", text.casefold().replace("ё", "е")).split())


def _finer_zone(part: str) -> str | None:
    return next((zone for word, zone in _FINER_WORDS if word.search(part)), None)


def _subject_zone(part: str) -> str | None:
    """A subject's stem first, then a town's name."""
    return next((zone for word, zone in _PLACE_WORDS if word.search(part)), None)


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
