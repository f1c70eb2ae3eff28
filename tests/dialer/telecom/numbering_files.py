"""Small files in the numbering-plan registry's format, as the registry publishes them."""

from __future__ import annotations

HEADER = "АВС/ DEF;От;До;Емкость;Оператор;Регион"
HEADER_INN = "АВС/ DEF;От;До;Емкость;Оператор;Регион;Территория ГАР;ИНН"
ROWS = (
    ("901", "1340000", "1349999", "10000", 'ООО "Т2 МОБАЙЛ"', "Приморский край"),
    ("900", "4350000", "4449999", "100000", 'ООО "Т2 МОБАЙЛ"', "Камчатский край"),
    ("900", "3450000", "3549999", "100000", 'ООО "Т2 Мобайл"', "Калининградская обл."),
    ("900", "3550000", "3559999", "10000", 'ООО "Т2 Мобайл"', "Калининградская обл."),
    ("958", "0000000", "0009999", "10000", 'ПАО "МТС"', "Российская Федерация"),
)


def registry_file(
    rows: tuple[tuple[str, ...], ...] = ROWS, *, inn: bool = False, encoding: str = "utf-8"
) -> bytes:
    """Rows joined by `;` under the registry's header; with `inn`, the newer columns too."""
    lines = [HEADER_INN if inn else HEADER]
    lines += [";".join((*row, row[-1], "7743895280") if inn else row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)
