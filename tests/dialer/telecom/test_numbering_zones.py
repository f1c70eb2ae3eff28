from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from dialer.telecom.numbering_zones import _CITIES, _FINER, _SUBJECTS, RUSSIAN_ZONES, region_zone


@pytest.mark.parametrize(
    ("region", "zone"),
    [
        ("Калининградская обл.", "Europe/Kaliningrad"),
        ("г. Москва|Московская обл.", "Europe/Moscow"),
        ("г. Москва * Московская область", "Europe/Moscow"),
        ("Москва и Московская область", "Europe/Moscow"),
        ("г. Санкт-Петербург и Ленинградская область", "Europe/Moscow"),
        ("Архангельская область и Ненецкий автономный округ", "Europe/Moscow"),
        ("Республика Крым и г. Севастополь", "Europe/Simferopol"),
        ("Кировская обл.", "Europe/Kirov"),
        ("Волгоградская обл.", "Europe/Volgograd"),
        ("Самарская обл.", "Europe/Samara"),
        ("Удмуртская Республика", "Europe/Samara"),
        ("Ульяновская обл.", "Europe/Ulyanovsk"),
        ("Саратовская обл.", "Europe/Saratov"),
        ("Астраханская обл.", "Europe/Astrakhan"),
        ("Свердловская обл.", "Asia/Yekaterinburg"),
        ("Ямало-Ненецкий АО", "Asia/Yekaterinburg"),
        ("Ханты - Мансийский - Югра АО", "Asia/Yekaterinburg"),
        ("Коми-Пермяцкий округ|Пермский край", "Asia/Yekaterinburg"),
        ("Республика Башкортостан", "Asia/Yekaterinburg"),
        ("Омская обл.", "Asia/Omsk"),
        ("Томская обл.", "Asia/Tomsk"),
        ("Новосибирская обл.", "Asia/Novosibirsk"),
        ("Алтайский край", "Asia/Barnaul"),
        ("Республика Алтай", "Asia/Barnaul"),
        ("Кемеровская область - Кузбасс", "Asia/Novokuznetsk"),
        ("Красноярский край", "Asia/Krasnoyarsk"),
        ("Республика Тыва", "Asia/Krasnoyarsk"),
        ("Республика Хакасия", "Asia/Krasnoyarsk"),
        ("Иркутская обл.", "Asia/Irkutsk"),
        ("Республика Бурятия", "Asia/Irkutsk"),
        ("Республика Саха /Якутия/", "Asia/Yakutsk"),
        ("Оймяконский р-н|Республика Саха (Якутия)", "Asia/Vladivostok"),
        ("Верхоянский улус|Республика Саха /Якутия/", "Asia/Vladivostok"),
        ("Среднеколымский улус|Республика Саха /Якутия/", "Asia/Srednekolymsk"),
        ("Амурская обл.", "Asia/Yakutsk"),
        ("г.о. Город Чита|Забайкальский край", "Asia/Chita"),
        ("Приморский край", "Asia/Vladivostok"),
        ("Хабаровский край", "Asia/Vladivostok"),
        ("Еврейская автономная обл.", "Asia/Vladivostok"),
        ("Магаданская обл.", "Asia/Magadan"),
        ("Сахалинская обл.", "Asia/Sakhalin"),
        ("Корякский округ|Камчатский край", "Asia/Kamchatka"),
        ("Чукотский АО", "Asia/Anadyr"),
        ("Российская Федерация", None),
        ("Сибирь и Дальний Восток", None),
        ("г. Москва|Калининградская обл.", None),
        ("Оймяконский р-н|Среднеколымский улус", None),
        ("", None),
        # 2015 spellings
        ("г. Москва и Московская обл.", "Europe/Moscow"),
        ("Кемеровская обл.", "Asia/Novokuznetsk"),
        ("Республика Крым", "Europe/Simferopol"),
        # towns named without their subject
        ("г. Сочи", "Europe/Moscow"),
        ("г. Минеральные Воды|р-н Минераловодский", "Europe/Moscow"),
        ("г. Симферополь", "Europe/Simferopol"),
        ("г. Новокузнецк", "Asia/Novokuznetsk"),
        ("Сургутский район и г. Сургут", "Asia/Yekaterinburg"),
        ("г. Курган", "Asia/Yekaterinburg"),
        ("р-н Таймырский Долгано-Ненецкий", "Asia/Krasnoyarsk"),
        ("г. Южно-Сахалинск", "Asia/Sakhalin"),
        ("г. Петропавловск-Камчатский", "Asia/Kamchatka"),
        # districts and towns whose names hold another subject's stem
        ("г. Курганинск", None),
        ("р-н Матвеево-Курганский", None),
        ("р-н Талдомский", None),
        ("р-н Кировский", None),
        ("р-н Приморский", None),
        ("р-н Красноярский", None),
        ("р-н Свердловский", None),
        ("р-н Амурский", None),
    ],
)
def test_a_registry_region_text_gives_its_zone(region: str, zone: str | None) -> None:
    assert region_zone(region) == zone


def test_every_zone_in_the_table_is_a_real_zone_without_summer_time() -> None:
    zones = {zone for _, zone in (*_SUBJECTS, *_FINER, *_CITIES)} | set(RUSSIAN_ZONES)
    for name in zones:
        assert _offset(name, 1) == _offset(name, 7), name


def test_russian_zones_are_the_eleven_offsets_from_utc_plus_2_to_12() -> None:
    assert [_offset(name, 1) for name in RUSSIAN_ZONES] == [
        timedelta(hours=h) for h in range(2, 13)
    ]


def _offset(name: str, month: int) -> timedelta | None:
    return ZoneInfo(name).utcoffset(datetime(2026, month, 15, 12))
