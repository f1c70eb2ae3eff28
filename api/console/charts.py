"""Chart geometry for the campaign page: values in, SVG coordinates out (issue 13).

The page draws its charts as inline SVG, server-side: no JavaScript library, legible in a
screenshot, and each chart carries its numbers as text (a `<title>` per mark and a table) so
the page reads without JavaScript. These functions are pure; the templates only place what
they return.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

__all__ = ["Bar", "Bars", "Line", "Lines", "bars", "lines", "nice_max"]

WIDTH: Final = 560
HEIGHT: Final = 220
LEFT: Final = 44
"""Room for the axis numbers."""
BOTTOM: Final = 28
"""Room for the labels under the axis."""
TOP: Final = 18
"""Room for the value above the tallest bar."""


@dataclass(frozen=True)
class Bar:
    label: str
    value: int
    x: float
    y: float
    width: float
    height: float


@dataclass(frozen=True)
class Bars:
    items: list[Bar]
    top: int
    """The value at the top of the axis."""
    ticks: list[tuple[float, int]]
    """(y, value) of the axis lines."""
    baseline: float


@dataclass(frozen=True)
class Line:
    name: str
    values: list[int]
    points: str
    """SVG `points` of the polyline."""
    dots: list[tuple[float, float, int]]
    """(x, y, value) of each point above zero: a lone minute still shows."""


@dataclass(frozen=True)
class Lines:
    series: list[Line]
    labels: list[tuple[float, str]]
    """(x, text) of the time labels under the axis."""
    top: int
    ticks: list[tuple[float, int]]
    baseline: float


def nice_max(value: int) -> int:
    """The least of 1, 2, 2.5, 5 × 10^n at or above `value` (at least 1): round axis tops."""
    if value <= 1:
        return 1
    scale = 1
    while True:
        for step in (1, 2, 5, 10):
            if step * scale >= value:
                return step * scale
        scale *= 10


def _ticks(top: int, baseline: float, height: float) -> list[tuple[float, int]]:
    steps = 4 if top % 4 == 0 else 2 if top % 2 == 0 else 1
    return [(round(baseline - height * i / steps, 1), top * i // steps) for i in range(steps + 1)]


def bars(items: Sequence[tuple[str, int]], *, width: int = WIDTH, height: int = HEIGHT) -> Bars:
    """Vertical bars, one per (label, value), in the order given, on an axis from zero."""
    top = nice_max(max((value for _, value in items), default=0))
    plot_height = height - TOP - BOTTOM
    baseline = height - BOTTOM
    slot = (width - LEFT) / max(len(items), 1)
    gap = min(slot * 0.25, 12)
    drawn = []
    for index, (label, value) in enumerate(items):
        tall = plot_height * value / top
        drawn.append(
            Bar(
                label=label,
                value=value,
                x=round(LEFT + index * slot + gap / 2, 1),
                y=round(baseline - tall, 1),
                width=round(slot - gap, 1),
                height=round(tall, 1),
            )
        )
    return Bars(drawn, top, _ticks(top, baseline, plot_height), baseline)


def lines(
    labels: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    max_labels: int = 6,
) -> Lines:
    """Polylines over shared x labels (time buckets); at most `max_labels` labels shown."""
    top = nice_max(max((max(values, default=0) for _, values in series), default=0))
    plot_height = height - TOP - BOTTOM
    baseline = height - BOTTOM
    count = len(labels)
    step = (width - LEFT - 8) / max(count - 1, 1)

    def x(index: int) -> float:
        return round(LEFT + index * step, 1)

    def y(value: int) -> float:
        return round(baseline - plot_height * value / top, 1)

    drawn = [
        Line(
            name,
            list(values),
            " ".join(f"{x(i)},{y(value)}" for i, value in enumerate(values)),
            [(x(i), y(value), value) for i, value in enumerate(values) if value],
        )
        for name, values in series
    ]
    every = max(1, -(-count // max_labels))
    shown = [(x(i), labels[i]) for i in range(0, count, every)]
    return Lines(drawn, shown, top, _ticks(top, baseline, plot_height), baseline)
