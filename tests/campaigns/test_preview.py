"""The console's previews: a file's head read as the importer reads it, without reading the
rest, and a message rendered for its first rows."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from campaigns.filereader import ImportRefused, read_file, read_head
from campaigns.preview import preview_file, preview_message, spoken_seconds
from tests.campaigns.files import csv_bytes, rows, xlsx_bytes

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "customers.csv"


def _file(tmp_path: Path, data: bytes, name: str = "c.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize(
    ("encoding", "delimiter", "bom"),
    [("utf-8", ",", False), ("utf-8", ";", True), ("cp1251", ";", False), ("utf-8", "\t", False)],
)
def test_the_head_is_the_first_rows_read_file_gives(
    tmp_path: Path, encoding: str, delimiter: str, bom: bool
) -> None:
    data = csv_bytes(rows(50), encoding=encoding, delimiter=delimiter, bom=bom)
    path = _file(tmp_path, data)

    head = read_head(path, rows=20)
    whole = read_file(path)

    assert head.sheet.frame.equals(whole.frame.head(20))
    assert (head.sheet.encoding, head.sheet.delimiter) == (whole.encoding, whole.delimiter)
    assert (head.rows_estimate, head.complete) == (50, True)


def test_the_head_of_an_xlsx(tmp_path: Path) -> None:
    path = _file(tmp_path, xlsx_bytes(rows(30)), "c.xlsx")

    head = read_head(path, rows=20)

    assert head.sheet.frame.equals(read_file(path).frame.head(20))
    assert head.rows_estimate == 30


def test_a_million_rows_preview_in_well_under_two_seconds(tmp_path: Path) -> None:
    line = "+7 910 000-00-00;Имя Фамилия;A-1000000;Москва\r\n".encode()
    path = tmp_path / "big.csv"
    with path.open("wb") as out:
        out.write("телефон;name;order;city\r\n".encode())
        for _ in range(100):
            out.write(line * 10_000)

    started = time.perf_counter()
    preview = preview_file(path)
    elapsed = time.perf_counter() - started

    assert elapsed < 2.0
    assert len(preview.rows) == 20
    assert not preview.complete
    assert 900_000 < preview.rows_estimate < 1_100_000


def test_the_example_file_preview(tmp_path: Path) -> None:
    preview = preview_file(EXAMPLE)

    assert (preview.encoding, preview.delimiter) == ("cp1251", ";")
    assert (preview.phone_column, preview.phone_found_by) == ("Телефон", "name")
    assert preview.variables == ["name", "order", "city"]
    assert set(preview.phone_problems) == {9, 15, 21}


def test_a_phone_column_without_a_known_name_is_found_by_content(tmp_path: Path) -> None:
    path = _file(tmp_path, csv_bytes(rows(10), header=("клиент", "who", "what")))

    preview = preview_file(path)

    assert (preview.phone_column, preview.phone_found_by) == ("клиент", "content")
    assert preview.variables == ["who", "what"]


def test_special_columns_are_recognised(tmp_path: Path) -> None:
    table = [["79100000001", "Анна", "Europe/Samara", "Привет", "jane"]]
    header = ("phone", "name", "timezone", "text", "voice_name")
    preview = preview_file(_file(tmp_path, csv_bytes(table, header=header)))

    assert preview.text_column == "text"
    assert preview.voice_columns == ["voice_name"]
    assert preview.timezone_column == "timezone"
    assert preview.variables == ["name"]


def test_a_chosen_column_that_does_not_exist_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ImportRefused):
        preview_file(_file(tmp_path, csv_bytes(rows(3))), phone_column="нет такого")


def test_message_preview_renders_the_first_three_rows(tmp_path: Path) -> None:
    preview = preview_file(EXAMPLE)

    shown = preview_message("Здравствуйте, {name}! Заказ {order}.", preview)

    assert [line for line, _ in shown.rendered] == [2, 3, 4]
    assert shown.rendered[0][1] == "Здравствуйте, Анна! Заказ A-17."
    assert shown.unknown == []
    assert shown.characters == len("Здравствуйте, {name}! Заказ {order}.")


@pytest.mark.parametrize(
    ("message", "unknown", "error"),
    [("{имя} и {name}", ["имя"], False), ("Привет {", [], True), ("", [], False)],
)
def test_message_preview_flags_problems(message: str, unknown: list[str], error: bool) -> None:
    shown = preview_message(message, preview_file(EXAMPLE))

    assert shown.unknown == unknown
    assert (shown.error is not None) is error
    assert shown.rendered == []


@pytest.mark.parametrize(
    ("text", "speed", "seconds"), [("а" * 140, 1.0, 10.0), ("а" * 140, 2.0, 5.0)]
)
def test_spoken_seconds(text: str, speed: float, seconds: float) -> None:
    assert spoken_seconds(text, speed) == seconds
