"""What the console shows before anything is stored: a file's head with the roles of its
columns, and a message rendered for its first rows (issue 12).

Built from the importer's own parts (`read_head` reads as `read_file` does, `column_roles`
assigns columns as `check_rows` does), so the preview promises what the import then does.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import pandas as pd

from campaigns.filereader import ImportRefused, read_head
from campaigns.rowchecks import column_roles
from campaigns.templates import TemplateError, parse, render
from dialer.telecom.number_columns import normalize_series

__all__ = [
    "CHARS_PER_SECOND",
    "FilePreview",
    "MessagePreview",
    "preview_file",
    "preview_message",
    "spoken_seconds",
]

PREVIEW_ROWS: Final = 20
MESSAGE_ROWS: Final = 3
CHARS_PER_SECOND: Final = 14.0
"""Characters sb-api's Russian voices speak a second at speed 1 (measured on recordings:
13 to 15 with the pauses at punctuation)."""


@dataclass(frozen=True)
class FilePreview:
    format: str
    encoding: str | None
    delimiter: str | None
    columns: list[str]
    rows: list[tuple[int, list[str]]]
    """(line in the file, cells) of the first rows."""
    rows_estimate: int
    complete: bool
    phone_column: str | None
    phone_found_by: str
    """"name", "content" (the column most cells of which are numbers), "chosen" or "none"."""
    variables: list[str] = field(default_factory=list)
    text_column: str | None = None
    voice_columns: list[str] = field(default_factory=list)
    timezone_column: str | None = None
    phone_problems: dict[int, str] = field(default_factory=dict)
    """Line → why its number would be rejected, for the rows shown."""

    def variables_of(self, cells: list[str]) -> dict[str, str]:
        return {name: cells[self.columns.index(name)] for name in self.variables}


def preview_file(
    path: Path, *, phone_column: str | None = None, delimiter: str | None = None
) -> FilePreview:
    """Raises ImportRefused as the import would (unreadable, repeated column, no such column)."""
    head = read_head(path, rows=PREVIEW_ROWS, delimiter=delimiter)
    frame = head.sheet.frame
    columns = [str(name) for name in frame.columns]
    found_by = "chosen" if phone_column else "name"
    if not phone_column:
        try:
            phone_column = column_roles(columns, None).phone
        except ImportRefused:
            phone_column, found_by = _phone_by_content(frame), "content"
    if phone_column is None:
        return FilePreview(
            head.sheet.format,
            head.sheet.encoding,
            head.sheet.delimiter,
            columns,
            _rows(frame),
            head.rows_estimate,
            head.complete,
            None,
            "none",
            variables=columns,
        )
    roles = column_roles(columns, phone_column)
    _, reasons = normalize_series(frame[roles.phone])
    return FilePreview(
        head.sheet.format,
        head.sheet.encoding,
        head.sheet.delimiter,
        columns,
        _rows(frame),
        head.rows_estimate,
        head.complete,
        roles.phone,
        found_by,
        variables=roles.variables,
        text_column=roles.text,
        voice_columns=list(roles.voice),
        timezone_column=roles.timezone,
        phone_problems={int(str(line)): str(why) for line, why in reasons.dropna().items()},
    )


def _rows(frame: pd.DataFrame) -> list[tuple[int, list[str]]]:
    return [(int(line), [str(cell) for cell in cells]) for line, *cells in frame.itertuples()]


def _phone_by_content(frame: pd.DataFrame) -> str | None:
    """The column where most shown cells are valid numbers (at least half of them)."""
    best, best_count = None, 0
    for name in frame.columns:
        numbers, _ = normalize_series(frame[name])
        count = int(numbers.notna().sum())
        if count > best_count:
            best, best_count = str(name), count
    return best if best_count * 2 >= max(len(frame), 1) else None


@dataclass(frozen=True)
class MessagePreview:
    rendered: list[tuple[int, str]]
    """(line, the message as that contact hears it) for the first rows."""
    unknown: list[str]
    """Placeholders no column fills."""
    error: str | None
    """Why the template cannot be parsed."""
    characters: int
    seconds: float
    """Estimated spoken length of the longest rendered message (of the template alone without
    a file)."""


def spoken_seconds(text: str, speed: float = 1.0) -> float:
    return round(len(text.strip()) / (CHARS_PER_SECOND * speed), 1)


def preview_message(
    message: str, file: FilePreview | None, *, speed: float = 1.0
) -> MessagePreview:
    """The message rendered for the file's first rows (a row's own text column wins)."""
    try:
        names = parse(message).names
    except TemplateError as error:
        return MessagePreview([], [], str(error), len(message), spoken_seconds(message, speed))
    available = set(file.variables) if file is not None else set()
    unknown = sorted(names - available) if file is not None else []
    rendered: list[tuple[int, str]] = []
    if file is not None and not unknown and message.strip():
        for line, cells in file.rows[:MESSAGE_ROWS]:
            own = cells[file.columns.index(file.text_column)] if file.text_column else ""
            try:
                rendered.append((line, render(own.strip() or message, file.variables_of(cells))))
            except TemplateError as error:
                rendered.append((line, str(error)))
    longest = max((text for _, text in rendered), key=len, default=message)
    return MessagePreview(rendered, unknown, None, len(message), spoken_seconds(longest, speed))
