from __future__ import annotations

import http.server
import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from dialer.shell.cli import app
from dialer.telecom.numbering import (
    PACKAGED,
    NumberingPlan,
    NumberRange,
    Place,
    RegistryError,
    current,
    newest,
    parse_registry,
)
from dialer.telecom.numbering_build import build, registry_csv, update
from dialer.telecom.numbering_zones import region_zone
from tests.dialer.telecom.numbering_files import HEADER, ROWS, registry_file

NOW = datetime(2026, 12, 6, 3, 0, tzinfo=UTC)


def plan_of(data: bytes, obtained: str = "2026-01-01") -> NumberingPlan:
    return NumberingPlan(parse_registry(data, "DEF-9xx.csv"), {"obtained": obtained})


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1251"])
@pytest.mark.parametrize("inn", [False, True])
def test_registry_files_are_read_in_either_encoding_with_or_without_inn(
    encoding: str, inn: bool
) -> None:
    ranges = parse_registry(registry_file(inn=inn, encoding=encoding), "DEF-9xx.csv")
    assert ranges[0] == NumberRange(79011340000, 79011349999, 'ООО "Т2 МОБАЙЛ"', "Приморский край")
    assert len(ranges) == len(ROWS)


@pytest.mark.parametrize(
    ("number", "place"),
    [
        ("79011340000", Place("Asia/Vladivostok", "Приморский край", 'ООО "Т2 МОБАЙЛ"')),
        ("79011349999", Place("Asia/Vladivostok", "Приморский край", 'ООО "Т2 МОБАЙЛ"')),
        ("79004400000", Place("Asia/Kamchatka", "Камчатский край", 'ООО "Т2 МОБАЙЛ"')),
        ("79003559999", Place("Europe/Kaliningrad", "Калининградская обл.", 'ООО "Т2 Мобайл"')),
        ("79580000001", Place(None, "Российская Федерация", 'ПАО "МТС"')),
        ("79011339999", None),
        ("79011350000", None),
        ("70000000000", None),
        ("12025550123", None),
        ("7901134000", None),
    ],
)
def test_a_number_gets_its_range_region_operator_and_zone(number: str, place: Place | None) -> None:
    assert plan_of(registry_file()).lookup(number) == place


def test_adjacent_ranges_of_one_operator_and_region_are_merged() -> None:
    plan = plan_of(registry_file())
    assert len(plan) == len(ROWS) - 1
    assert NumberRange(79003450000, 79003559999, 'ООО "Т2 Мобайл"', "Калининградская обл.") in (
        plan.ranges
    )


@given(st.lists(st.integers(79_000_000_000, 79_600_000_000), max_size=50))
def test_the_vectorised_lookup_agrees_with_the_scalar_one(numbers: list[int]) -> None:
    plan = plan_of(registry_file())
    edges = [edge + d for r in plan.ranges for edge in (r.first, r.last) for d in (-1, 0, 1)]
    found = plan.lookup_many(np.array(numbers + edges, dtype=np.int64))
    for number, index in zip(numbers + edges, found.index, strict=True):
        place = plan.lookup(str(number))
        expected = (
            None
            if index < 0
            else Place(found.zones[index], found.regions[index], found.operators[index])
        )
        assert place == expected


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("9011", "1340000", "1349999", "10000", "X", "Y"), "code '9011' is not an ABC/DEF code"),
        (("901", "134000", "1349999", "10000", "X", "Y"), "От '134000' is not a number of seven"),
        (("901", "1340000", "13499x9", "10000", "X", "Y"), "До '13499x9' is not a number"),
        (("901", "1349999", "1340000", "1", "X", "Y"), "До 1340000 is before От 1349999"),
        (("901", "1340000", "1349999", "100", "X", "Y"), "Емкость '100' does not match"),
        (("901", "1340000", "1349999"), "3 columns, expected at least 6"),
    ],
)
def test_a_bad_row_is_refused_naming_its_line(row: tuple[str, ...], message: str) -> None:
    with pytest.raises(RegistryError, match=f"DEF-9xx.csv, line 4: {message}"):
        parse_registry(registry_file((*ROWS[:2], row, *ROWS[2:])), "DEF-9xx.csv")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"phone;name\n79011340000;x\n", "line 1: not a numbering-plan registry header"),
        (registry_file(()), "no ranges after the header"),
    ],
)
def test_a_file_that_is_not_a_registry_file_is_refused(data: bytes, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        parse_registry(data, "DEF-9xx.csv")


def test_overlapping_ranges_are_refused() -> None:
    overlap = ("901", "1345000", "1354999", "10000", "X", "Приморский край")
    with pytest.raises(RegistryError, match="ranges overlap: 79011340000-79011349999"):
        plan_of(registry_file((*ROWS, overlap)))


def test_a_snapshot_round_trips_with_its_metadata(tmp_path: Path) -> None:
    plan = plan_of(registry_file())
    plan.save(tmp_path)
    loaded = NumberingPlan.load(tmp_path)
    assert (loaded.ranges, loaded.meta) == (plan.ranges, {"obtained": "2026-01-01", "ranges": 4})


def test_the_package_snapshot_says_where_it_came_from() -> None:
    meta = json.loads((PACKAGED / "plan.json").read_text(encoding="utf-8"))
    kody = [f"Kody_{name}.json" for name in ("ABC-3kh", "ABC-4kh", "ABC-8kh", "DEF-9kh")]
    assert meta["files"] == [*kody, "DEF-9xx-partial.csv"]
    assert meta["obtained"] == "2015-10-08"
    for words in ("numcap 0.0.14", "as of 2015-10-08", "dialer numbering update"):
        assert words in meta["source"]
    assert len(current()) == meta["ranges"] > 250_000


PER_FILE = {
    "73012100000": "Asia/Irkutsk",  # ABC-3xx: г. Улан-Удэ
    "74012500000": "Europe/Kaliningrad",  # ABC-4xx: г. Калининград
    "78462700000": "Europe/Samara",  # ABC-8xx: г. Самара
    "79147000000": "Asia/Vladivostok",  # DEF-9xx: Приморский край
}


def test_the_package_snapshot_holds_every_registry_file_and_the_newer_partial_one() -> None:
    plan = current()
    zones = {n: place and place.zone for n in PER_FILE if (place := plan.lookup(n))}
    assert zones == PER_FILE
    # 900-0062000..0062999 is Rostov's in the newer file, Krasnodar's in the 2015 one
    assert plan.lookup("79000062500") == Place(
        "Europe/Moscow", "Ростовская обл.", 'ООО "Т2 МОБАЙЛ"'
    )


def test_the_package_snapshots_zones_are_those_its_region_texts_give_today() -> None:
    plan = current()
    for region, zone in zip(plan.regions, plan.zones, strict=True):
        assert region_zone(region) in (zone, None), region


def test_the_package_snapshot_loads_in_well_under_a_second() -> None:
    started = time.perf_counter()
    NumberingPlan.load(PACKAGED)
    assert time.perf_counter() - started < 1.0


def test_the_newest_snapshot_wins(tmp_path: Path) -> None:
    older, newer = tmp_path / "older", tmp_path / "newer"
    plan_of(registry_file(), "2010-01-01").save(older)
    plan_of(registry_file(ROWS[:1]), "2030-01-01").save(newer)
    assert newest([older, newer, tmp_path / "missing"]) == newer
    assert newest([PACKAGED, older]) == PACKAGED
    assert newest([PACKAGED, newer]) == newer
    same_day = tmp_path / "same-day"
    obtained = json.loads((PACKAGED / "plan.json").read_text(encoding="utf-8"))["obtained"]
    plan_of(registry_file(), obtained).save(same_day)
    assert newest([PACKAGED, same_day]) == same_day


def test_update_writes_a_snapshot_into_data_dir_that_the_service_prefers(tmp_path: Path) -> None:
    source = tmp_path / "DEF-9xx.csv"
    source.write_bytes(registry_file(inn=True, encoding="cp1251"))
    update([str(source)], tmp_path, NOW)
    plan = current(tmp_path)
    assert plan.meta["files"] == ["DEF-9xx.csv"]
    assert plan.meta["obtained"] == "2026-12-06"
    assert plan.lookup("79004400000") == Place(
        "Asia/Kamchatka", "Камчатский край", 'ООО "Т2 МОБАЙЛ"'
    )


@pytest.fixture
def registry_server() -> Iterator[str]:
    """A loopback HTTP server publishing DEF-9xx.csv; its base URL."""
    body = registry_file(inn=True)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            found = self.path == "/DEF-9xx.csv"
            self.send_response(200 if found else 404)
            self.send_header("Content-Length", str(len(body) if found else 0))
            self.end_headers()
            if found:
                self.wfile.write(body)

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_registry_files_are_downloaded_from_urls(registry_server: str) -> None:
    plan = build([f"{registry_server}/DEF-9xx.csv"], "test", "2026-12-06")
    assert plan.meta["files"] == ["DEF-9xx.csv"]
    assert len(plan) == len(ROWS) - 1
    with pytest.raises(RegistryError, match=r"ABC-3xx\.csv: could not download"):
        build([f"{registry_server}/ABC-3xx.csv"], "test", "2026-12-06")


def test_the_cli_loads_files_and_refuses_a_bad_one_writing_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DIALER_DATA_DIR", str(tmp_path / "data"))
    good, bad = tmp_path / "DEF-9xx.csv", tmp_path / "ABC-3xx.csv"
    good.write_bytes(registry_file())
    bad.write_bytes(registry_file((("301", "0000000", "0000009", "11", "X", "Y"),)))
    refused = CliRunner().invoke(app, ["numbering", "update", str(good), str(bad)])
    assert refused.exit_code == 1
    assert "ABC-3xx.csv, line 2: Емкость '11'" in refused.output
    assert not (tmp_path / "data").exists()
    loaded = CliRunner().invoke(app, ["numbering", "update", str(good)])
    assert loaded.exit_code == 0, loaded.output
    assert "4 ranges from DEF-9xx.csv" in loaded.output
    assert (tmp_path / "data" / "numbering" / "plan.json").is_file()


def _numcap_json(rows: tuple[tuple[str, ...], ...]) -> bytes:
    """A registry file as the npm package numcap ships it: records under the header's, then
    the scraped page's tail."""
    fields = ("code", "begin", "end", "capacity", "operator", "region")
    header = dict(zip(fields, HEADER.split(";"), strict=True))
    records = [header, *(dict(zip(fields, row, strict=True)) for row in rows), {"code": "</html>"}]
    return json.dumps(records, ensure_ascii=False).encode()


def test_numcap_json_is_read_as_the_registry_file_it_holds(tmp_path: Path) -> None:
    source = tmp_path / "Kody_DEF-9kh.json"
    source.write_bytes(_numcap_json(ROWS))
    plan = build([str(source)], "numcap", "2015-10-08")
    assert plan.ranges == plan_of(registry_file()).ranges
    assert plan.meta["files"] == ["Kody_DEF-9kh.json"]


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"<html>", "Kody_DEF-9kh.json: not JSON"),
        (b'{"code": "900"}', "Kody_DEF-9kh.json: expected a list of records"),
        (_numcap_json((("900", "0000000", "0000009", "9", "X", "Y"),)), "line 2: Емкость '9'"),
    ],
)
def test_bad_numcap_json_is_refused_naming_the_file(data: bytes, message: str) -> None:
    with pytest.raises(RegistryError, match=message):
        parse_registry(registry_csv(data, "Kody_DEF-9kh.json"), "Kody_DEF-9kh.json")


def test_a_later_file_replaces_the_earlier_ones_between_its_first_and_last_number(
    tmp_path: Path,
) -> None:
    old, new = tmp_path / "DEF-9xx-2015.csv", tmp_path / "DEF-9xx.csv"
    old.write_bytes(registry_file())
    new.write_bytes(
        registry_file((("900", "4000000", "4399999", "400000", 'ПАО "МТС"', "Курганская обл."),))
    )
    plan = build([str(old), str(new)], "test", "2026-12-06")
    assert [(r.first, r.last, r.region) for r in plan.ranges] == [
        (79003450000, 79003559999, "Калининградская обл."),
        (79004000000, 79004399999, "Курганская обл."),
        (79004400000, 79004449999, "Камчатский край"),
        (79011340000, 79011349999, "Приморский край"),
        (79580000000, 79580009999, "Российская Федерация"),
    ]


@pytest.mark.parametrize(
    ("rows", "zone"),
    [
        # a town the zone table does not know takes its ABC code's one zone
        ((("343", "2000000", "2009999", "10000", "X", "Свердловская обл."),), "Asia/Yekaterinburg"),
        # ...when all the code's placed ranges keep one offset (Kirov's and Moscow's: UTC+3)
        (
            (
                ("833", "2000000", "2009999", "10000", "X", "Кировская обл."),
                ("833", "3000000", "3009999", "10000", "X", "г. Москва"),
            ),
            "Europe/Kirov",
        ),
        # not when they differ, nor for a mobile (DEF) code, which spans regions
        (
            (
                ("343", "2000000", "2009999", "10000", "X", "Свердловская обл."),
                ("343", "3000000", "3009999", "10000", "X", "Омская обл."),
            ),
            None,
        ),
        ((("913", "2000000", "2009999", "10000", "X", "Омская обл."),), None),
    ],
)
def test_an_unnamed_town_takes_its_landline_codes_zone(
    rows: tuple[tuple[str, ...], ...], zone: str | None
) -> None:
    code = rows[0][0]
    town = (code, "5000000", "5009999", "10000", "X", "г. Верхний Нижнеградск")
    plan = plan_of(registry_file((*rows, town)))
    assert plan.lookup(f"7{code}5000000") == Place(zone, "г. Верхний Нижнеградск", "X")
