"""The documentation a clone carries (docs/) stays complete and self-contained.

A user's clone has no reference folder beside it: every setting must be documented in
docs/configuration.md, and no file may send its reader to a document the repository does not hold.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from dialer.settings import Settings

ROOT = Path(__file__).resolve().parents[1]
CONFIGURATION = ROOT / "docs" / "configuration.md"
SELF = "tests/test_docs.py"
OUTSIDE = "../" + "shared/"
"""The reference folder a developer's checkout has beside it; a user's clone does not."""
# the reference folder beside the repository (OUTSIDE), a DESIGN.md / reference/*.md path
# (checked against the repository's files), or
# a bare `DESIGN §N`, which names a document the repository does not have
CITATION = re.compile(
    re.escape(OUTSIDE)
    + r"[^\s)`'\"\]]*|(?<![\w/])(?:DESIGN\.md|reference/[\w.-]+\.md|DESIGN(?= ?§))"
)


def tracked_files(root: Path) -> list[str]:
    git = shutil.which("git")
    assert git is not None, "git is needed to list the tracked files"
    listed = subprocess.run(  # noqa: S603 - fixed arguments
        [git, "ls-files", "-z"], cwd=root, capture_output=True, check=True
    ).stdout
    return [name for name in listed.decode().split("\0") if name]


def dangling_citations(root: Path, files: list[str]) -> list[str]:
    """`path:line: citation` for each citation, outside docs/, of a file the repository lacks
    (a path is looked up from the root and from the citing file's folder)."""
    known = set(files)
    found = []
    for name in files:
        path = root / name
        if name.startswith("docs/") or name == SELF or not path.is_file():
            continue
        text = path.read_bytes().decode("utf-8", errors="ignore")
        for number, line in enumerate(text.splitlines(), start=1):
            for match in CITATION.finditer(line):
                cited = match.group(0)
                beside = (path.parent / cited).resolve()
                near = beside.is_relative_to(root) and beside.relative_to(root).as_posix() in known
                if cited.startswith(OUTSIDE) or not (cited in known or near):
                    found.append(f"{name}:{number}: {cited}")
    return found


@pytest.mark.parametrize("field", sorted(Settings.model_fields))
def test_every_setting_is_documented(field: str) -> None:
    variable = f"`DIALER_{field.upper()}`"
    assert variable in CONFIGURATION.read_text(encoding="utf-8"), (
        f"{variable} is missing from docs/configuration.md"
    )


@pytest.mark.parametrize(
    ("text", "dangling"),
    [
        (f"see {OUTSIDE}DESIGN.md §9", [f"{OUTSIDE}DESIGN.md"]),
        (f"({OUTSIDE}reference/q850.md)", [f"{OUTSIDE}reference/q850.md"]),
        ("the table of reference/q850.md", ["reference/q850.md"]),
        ("DESIGN.md §4", ["DESIGN.md"]),
        ("the contract (DESIGN §9)", ["DESIGN"]),
        ("the contract (docs/design.md §9)", []),
        ("reference/kept.md, beside the citing file", []),
        ("docs/causes.md and docs/design.md §9", []),
    ],
)
def test_dangling_citations_are_found(tmp_path: Path, text: str, dangling: list[str]) -> None:
    """The check itself, on a small repository: pkg/mod.py cites, pkg/reference/kept.md exists;
    the same text under docs/ is never flagged."""
    files = {"pkg/mod.py": text, "pkg/reference/kept.md": "", "docs/cites.md": text}
    for name, content in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content, encoding="utf-8")
    assert dangling_citations(tmp_path, list(files)) == [f"pkg/mod.py:1: {c}" for c in dangling]


def test_no_file_cites_documents_outside_the_repository() -> None:
    assert dangling_citations(ROOT, tracked_files(ROOT)) == []
