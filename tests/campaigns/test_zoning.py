"""Import: each callee's zone, region and operator from the numbering plan (issue 14)."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.exporter import CONTACT_COLUMNS, export_contacts
from campaigns.importer import import_contacts
from campaigns.rowchecks import Checked, check_rows
from campaigns.tables import Contact
from campaigns.windows import UNKNOWN_ZONE
from campaigns.zoning import Zoning
from dialer.settings import UnknownZone
from dialer.telecom.numbering import NumberingPlan, parse_registry
from dialer.telecom.numbering_zones import RUSSIAN_ZONES
from tests.campaigns.files import read_csv_export
from tests.db_fixtures import insert_campaign
from tests.dialer.telecom.numbering_files import registry_file

Sessions = async_sessionmaker[AsyncSession]

# real ranges of the package's snapshot: a mobile (DEF) and a landline (ABC) in every zone
ELEVEN_ZONES = [
    ("79114500000", "Europe/Kaliningrad", "Калининградская обл."),
    ("74012500000", "Europe/Kaliningrad", "г. Калининград"),
    ("79161234567", "Europe/Moscow", "г. Москва и Московская область"),
    ("74991234567", "Europe/Moscow", "г. Москва"),
    ("79272000000", "Europe/Samara", "Самарская обл."),
    ("78462700000", "Europe/Samara", "г. Самара"),
    ("79122000000", "Asia/Yekaterinburg", "Свердловская обл."),
    ("73433000000", "Asia/Yekaterinburg", "г. Екатеринбург"),
    ("79136000000", "Asia/Omsk", "Омская обл."),
    ("73812500000", "Asia/Omsk", "г. Омск"),
    ("79135000000", "Asia/Krasnoyarsk", "Красноярский край"),
    ("73912500000", "Asia/Krasnoyarsk", "г. Красноярск"),
    ("79148700000", "Asia/Irkutsk", "Иркутская обл."),
    ("73952500000", "Asia/Irkutsk", "г. Иркутск"),
    ("79142200000", "Asia/Yakutsk", "Республика Саха /Якутия/"),
    ("74112400000", "Asia/Yakutsk", "г. Якутск"),
    ("79147000000", "Asia/Vladivostok", "Приморский край"),
    ("74232400000", "Asia/Vladivostok", "г. Владивосток"),
    ("79140300000", "Asia/Magadan", "Магаданская обл."),
    ("74132600000", "Asia/Magadan", "г. Магадан"),
    ("79140200000", "Asia/Kamchatka", "Камчатский край"),
    ("74152400000", "Asia/Kamchatka", "г. Петропавловск-Камчатский"),
]


def _checked(numbers: list[str], zoning: Zoning | None = None, **columns: list[str]) -> Checked:
    frame = pd.DataFrame({"phone": numbers, **columns}, dtype=pd.StringDtype("pyarrow"))
    frame.index = pd.RangeIndex(2, len(numbers) + 2)
    return check_rows(frame, message="Hi", default_timezone="Europe/Samara", zoning=zoning)


def _regions(checked: Checked) -> list[str | None]:
    codes = checked.contacts["place"]
    return [checked.places[code][0] if code >= 0 else None for code in codes]


def _zones(numbers: list[str], zoning: Zoning | None = None, **columns: list[str]) -> list[str]:
    return list(_checked(numbers, zoning, **columns).contacts["timezone"])


def test_the_zone_table_covers_a_mobile_and_a_landline_of_every_russian_zone() -> None:
    numbers = {(n[1] == "9", zone) for n, zone, _ in ELEVEN_ZONES}
    assert numbers == {(mobile, zone) for mobile in (True, False) for zone in RUSSIAN_ZONES}


@pytest.mark.parametrize(("number", "zone", "region"), ELEVEN_ZONES)
def test_numbers_of_each_of_the_eleven_zones_get_their_zone_from_the_plan(
    number: str, zone: str, region: str
) -> None:
    checked = _checked([number])
    assert (list(checked.contacts["timezone"]), _regions(checked)) == ([zone], [region])


def test_the_whole_zone_table_in_one_import() -> None:
    assert _zones([n for n, _, _ in ELEVEN_ZONES]) == [z for _, z, _ in ELEVEN_ZONES]


@pytest.mark.parametrize(
    ("policy", "zones"),
    [
        (UnknownZone.STRICT, [UNKNOWN_ZONE, UNKNOWN_ZONE, "America/New_York"]),
        (UnknownZone.DEFAULT, ["Europe/Samara", "Europe/Samara", "America/New_York"]),
    ],
)
def test_a_number_of_unknown_zone_follows_the_policy(policy: UnknownZone, zones: list[str]) -> None:
    plan = NumberingPlan(parse_registry(registry_file(), "DEF-9xx.csv"), {})
    numbers = ["79580000001", "79101234567", "12025550123"]  # Российская Федерация; no range
    assert _zones(numbers, Zoning(plan, policy)) == zones


def test_the_file_timezone_column_overrides_the_plan() -> None:
    numbers = ["79011340000", "79011340001"]
    assert _zones(numbers, timezone=["Europe/Moscow", ""]) == ["Europe/Moscow", "Asia/Vladivostok"]


async def test_contacts_keep_zone_region_operator_the_report_counts_zones_and_export_shows_them(
    sessions: Sessions,
) -> None:
    cid = await insert_campaign(sessions, message="Hi", status="draft")
    numbers = ["79011340000", "79011340001", "79004350000", "74951234567", "79951234567"]
    report = await import_contacts(sessions, cid, [{"phone": n} for n in numbers])
    assert report.zones == {
        "Asia/Kamchatka": 1,
        "Asia/Vladivostok": 2,
        "Europe/Moscow": 1,
        "unknown": 1,
    }
    assert report.to_dict()["zones"] == report.zones
    async with sessions() as session:
        rows = (
            await session.execute(
                select(Contact.phone, Contact.timezone, Contact.region, Contact.operator).order_by(
                    Contact.id
                )
            )
        ).all()
    assert [tuple(row) for row in rows] == [
        ("79011340000", "Asia/Vladivostok", "Приморский край", 'ООО "Т2 МОБАЙЛ"'),
        ("79011340001", "Asia/Vladivostok", "Приморский край", 'ООО "Т2 МОБАЙЛ"'),
        ("79004350000", "Asia/Kamchatka", "Камчатский край", 'ООО "Т2 МОБАЙЛ"'),
        ("74951234567", "Europe/Moscow", "г. Москва", 'ЗАО "СВЯЗЬНЕФТЕГАЗ СЕРВИС"'),
        ("79951234567", UNKNOWN_ZONE, None, None),  # DEF 995: not in the 2015 snapshot
    ]
    data = b"".join([c async for c in export_contacts(sessions, cid, fmt="csv")])
    header, first, *rest = read_csv_export(data)
    place = [header.index(name) for name in ("timezone", "region", "operator")]
    assert header[: len(CONTACT_COLUMNS)] == list(CONTACT_COLUMNS)
    assert [first[i] for i in place] == ["Asia/Vladivostok", "Приморский край", 'ООО "Т2 МОБАЙЛ"']
    assert [rest[-1][i] for i in place] == ["", "", ""]
