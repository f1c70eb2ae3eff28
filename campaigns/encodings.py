"""Which text encoding a CSV upload is in, decided on a sample in about a millisecond.

In order: a byte order mark (UTF-8, UTF-16, UTF-32); UTF-16 without one, whose ASCII
characters (digits, delimiters, line breaks: every contacts file has them) leave a zero byte
in every other position; text that decodes as UTF-8; else one of the two single-byte Cyrillic
code pages, Windows-1251 or KOI8-R. Those two map the same bytes to different letters with
the cases swapped (KOI8-R's lowercase is Windows-1251's uppercase range: "Анна" saved in KOI8-R
reads "бООБ"), so each reading is scored by how Russian it looks: the frequency of its letters,
and a penalty for each lowercase letter followed by an uppercase one, which the wrong reading
of any capitalised word has. An all-capitals file has no such pairs in either reading; the
frequencies decide it. When neither reading is clearly Russian the file is refused rather than
guessed: a wrong guess would reach the TTS as gibberish.

A byte histogram and two vectorised pair counts (numpy) do the scoring, so the cost is a
fraction of a millisecond per 64 KiB sample whatever the bytes; detectors such as chardet run
a state machine per byte in Python.
"""

from __future__ import annotations

import codecs
import math
import re
from typing import Final

import numpy as np

from campaigns.importlimits import REFUSALS, ImportRefused

__all__ = [
    "ascii_compatible",
    "checked_encoding",
    "detect_encoding",
    "detect_single_byte",
    "refuse_undecodable",
]

SINGLE_BYTE: Final = ("cp1251", "koi8-r")
_RUSSIAN: Final = dict(
    zip(
        "оеаинтсрвлкмдпуяыьгзбчйхжшюцщэфъё",
        (
            *(10.97, 8.45, 8.01, 7.35, 6.70, 6.26, 5.47, 4.73, 4.54, 4.40, 3.49, 3.21, 2.98),
            *(2.81, 2.62, 2.01, 1.90, 1.74, 1.70, 1.65, 1.59, 1.44, 1.21, 0.97, 0.94, 0.73),
            *(0.64, 0.48, 0.36, 0.32, 0.26, 0.04, 0.20),
        ),
        strict=True,
    )
)
"""Letter frequencies of Russian text, per cent (ё as often as people type it)."""
_TYPOGRAPHY: Final = frozenset("«»„“”‘’—–…№\xa0•°±§©®™")
_OTHER_LOG: Final = math.log(1e-3)
"""A typographic sign or a non-Russian letter (і, ў, Ђ)."""
_JUNK_LOG: Final = math.log(1e-6)
"""Box drawing, control codes, bytes a code page leaves undefined."""
CASE_FLIP_PENALTY: Final = 4.0
"""Nats per lowercase letter followed by an uppercase one."""
MIN_RUSSIAN_SHARE: Final = 0.7
"""Of the non-ASCII bytes, the share the winning reading must read as Russian letters."""
MIN_MARGIN: Final = 0.3
"""Nats per non-ASCII byte by which the winning reading must be likelier."""
MIN_EVIDENCE: Final = 3.0
"""Nats in all: a few letters' worth, so one stray byte decides nothing."""
UTF16_ZERO_SHARE: Final = 0.3
"""Share of 2-byte units with a zero half, at least, to call a sample without a BOM UTF-16:
a contacts file is mostly digits and delimiters, and NUL padding in a UTF-8 file has zeros
in both halves."""
_CONTROL: Final = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
_BOMS: Final = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
_ASCII: Final = bytes(range(1, 128))
UNKNOWN: Final = "can't tell the file's encoding: save it as UTF-8 or name its encoding"


def _tables() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Per code page and byte: log-likelihood, is a Russian letter, is lowercase, is uppercase."""
    shape = (len(SINGLE_BYTE), 256)
    weight, russian = np.zeros(shape), np.zeros(shape, dtype=bool)
    lower, upper = np.zeros(shape, dtype=bool), np.zeros(shape, dtype=bool)
    for page, encoding in enumerate(SINGLE_BYTE):
        for byte in range(128, 256):
            character = bytes([byte]).decode(encoding, errors="replace")
            frequency = _RUSSIAN.get(character.lower())
            russian[page, byte] = frequency is not None
            if frequency is not None:
                weight[page, byte] = math.log(frequency / 100)
            elif character in _TYPOGRAPHY or character.isalpha():
                weight[page, byte] = _OTHER_LOG
            else:
                weight[page, byte] = _JUNK_LOG
            lower[page, byte], upper[page, byte] = character.islower(), character.isupper()
    return weight, russian, lower, upper


_WEIGHT, _IS_RUSSIAN, _IS_LOWER, _IS_UPPER = _tables()


def detect_encoding(sample: bytes) -> str:
    """The encoding of a file starting with `sample`; ImportRefused when it cannot tell."""
    for bom, encoding in _BOMS:
        if sample.startswith(bom):
            return encoding
    utf16 = _utf16_without_bom(sample)
    if utf16 is not None:
        return utf16
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
    except UnicodeDecodeError:
        return detect_single_byte(sample)
    return "utf-8"


def _utf16_without_bom(sample: bytes) -> str | None:
    units = len(sample) // 2
    if not units:
        return None
    even, odd = sample[0 : 2 * units : 2].count(0), sample[1 : 2 * units : 2].count(0)
    for encoding, high, low in (("utf-16-le", odd, even), ("utf-16-be", even, odd)):
        if high >= UTF16_ZERO_SHARE * units and low * 4 <= high:
            try:
                text = codecs.getincrementaldecoder(encoding)().decode(sample, final=False)
            except UnicodeDecodeError:
                return None
            return encoding if len(_CONTROL.findall(text)) * 100 <= len(text) else None
    return None


def detect_single_byte(data: bytes) -> str:
    """Windows-1251 or KOI8-R, whichever reads as Russian by a clear margin; else refused."""
    values = np.frombuffer(data, dtype=np.uint8)
    counts = np.bincount(values, minlength=256)
    seen = int(counts[128:].sum())
    flips = [
        int(np.count_nonzero(lower[values[:-1]] & upper[values[1:]]))
        for lower, upper in zip(_IS_LOWER, _IS_UPPER, strict=True)
    ]
    scores = _WEIGHT @ counts - CASE_FLIP_PENALTY * np.array(flips)
    best = int(np.argmax(scores))
    margin = float(scores[best] - scores[1 - best])
    russian = int(_IS_RUSSIAN[best] @ counts)
    if (
        not seen
        or russian < MIN_RUSSIAN_SHARE * seen
        or margin < max(MIN_EVIDENCE, MIN_MARGIN * seen)
    ):
        raise ImportRefused("unknown_encoding", UNKNOWN)
    return SINGLE_BYTE[best]


def checked_encoding(name: str, data: bytes) -> str:
    """A caller's encoding name as Python's codec name; refused naming it if it is not one.
    UTF-8 named for a file with a BOM drops the BOM, as Excel's readers do."""
    try:
        info = codecs.lookup(name.strip())
    except (LookupError, ValueError):
        unknown = REFUSALS["unknown_encoding"].format(name=repr(name))
        raise ImportRefused("bad_encoding", unknown) from None
    if not getattr(info, "_is_text_encoding", True):
        not_text = REFUSALS["not_text_encoding"].format(name=repr(name))
        raise ImportRefused("bad_encoding", not_text)
    if info.name == "utf-8" and data.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    return info.name


def ascii_compatible(encoding: str) -> bool:
    """Whether ASCII (delimiters, quotes, line breaks, digits) is itself in `encoding`: then the
    CSV parser can read the bytes, and a zero byte can only be the character NUL."""
    try:
        return _ASCII.decode(encoding) == _ASCII.decode("ascii")
    except UnicodeDecodeError:
        return False


def refuse_undecodable(encoding: str, error: UnicodeDecodeError | None = None) -> ImportRefused:
    """The refusal of a file that is not valid text in `encoding`."""
    where = f" (byte {error.start}: {error.reason})" if error is not None else ""
    return ImportRefused(
        "unreadable",
        f"the file is not valid {encoding} text{where}: save it as UTF-8 or name its encoding",
    )
