"""Import: each callee's zone, region and operator from the numbering plan (issue 14)."""

from __future__ import annotations

import pandas as pd
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from campaigns.exporter import CONTACT_COLUMNS, export_contacts
from campaigns.importer import import_contacts
from campaigns.rowchecks import check_rows
from campaigns.tables import Contact
from campaigns.windows import UNKNOWN_ZONE
from campaigns.zoning import Zoning
from dialer.settings import UnknownZone
from dialer.telecom.numbering import NumberingPlan, parse_registry
from tests.campaigns.files import read_csv_export
from tests.db_fixtures import insert_campaign
from tests.dialer.telecom.numbering_files import registry_file

Sessions = async_sessionmaker[AsyncSession]

# real ranges of the package's snapshot (DEF-9xx) and landlines phonenumbers places
ELEVEN_ZONES = [
    ("79003450000", "Europe/Kaliningrad"),  # Калининградская обл.
    ("79001400000", "Europe/Moscow"),  # г. Москва * Московская область
    ("79001760000", "Europe/Samara"),  # Самарская обл.
    ("79000300000", "Asia/Yekaterinburg"),  # Свердловская обл.
    ("79006700000", "Asia/Omsk"),  # Омская обл.
    ("79010135500", "Asia/Krasnoyarsk"),  # Красноярский край
    ("79008377000", "Asia/Irkutsk"),  # Иркутская обл.
    ("79010136800", "Asia/Yakutsk"),  # Амурская обл.
    ("79011340000", "Asia/Vladivostok"),  # Приморский край
    ("79004050000", "Asia/Magadan"),  # Магаданская обл.
    ("79004350000", "Asia/Kamchatka"),  # Камчатский край
    ("74012123456", "Europe/Kaliningrad"),
    ("74951234567", "Europe/Moscow"),
    ("78462123456", "Europe/Samara"),
    ("73432123456", "Asia/Yekaterinburg"),
    ("73812123456", "Asia/Omsk"),
    ("73912123456", "Asia/Krasnoyarsk"),
    ("73952123456", "Asia/Irkutsk"),
    ("74112123456", "Asia/Yakutsk"),
    ("74232123456", "Asia/Vladivostok"),
    ("74132123456", "Asia/Magadan"),
    ("74152123456", "Asia/Kamchatka"),
]


def _zones(numbers: list[str], zoning: Zoning | None = None, **columns: list[str]) -> list[str]:
    frame = pd.DataFrame({"phone": numbers, **columns}, dtype=pd.StringDtype("pyarrow"))
    frame.index = pd.RangeIndex(2, len(numbers) + 2)
    checked = check_rows(frame, message="Hi", default_timezone="Europe/Samara", zoning=zoning)
    return list(checked.contacts["timezone"])


@pytest.mark.parametrize(("number", "zone"), ELEVEN_ZONES)
def test_numbers_of_each_of_the_eleven_zones_get_their_zone(number: str, zone: str) -> None:
    assert _zones([number]) == [zone]


def test_the_whole_zone_table_in_one_import() -> None:
    assert _zones([n for n, _ in ELEVEN_ZONES]) == [z for _, z in ELEVEN_ZONES]


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
    numbers = ["79011340000", "79011340001", "79004350000", "74951234567", "79991234567"]
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
        ("74951234567", "Europe/Moscow", None, None),
        ("79991234567", UNKNOWN_ZONE, None, None),
    ]
    data = b"".join([c async for c in export_contacts(sessions, cid, fmt="csv")])
    header, first, *rest = read_csv_export(data)
    place = [header.index(name) for name in ("timezone", "region", "operator")]
    assert header[: len(CONTACT_COLUMNS)] == list(CONTACT_COLUMNS)
    assert [first[i] for i in place] == ["Asia/Vladivostok", "Приморский край", 'ООО "Т2 МОБАЙЛ"']
    assert [rest[-1][i] for i in place] == ["", "", ""]
