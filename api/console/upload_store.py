"""Uploaded contact files between the preview and the create step, on disk, not in memory.

Each upload is a folder under DATA_DIR/console-uploads named by a random token, holding the
file, who uploaded it (no one else may use the token) and, once a campaign is created from
it, the import report. Folders older than a day are removed at the next upload. The rejected
rows of the import are also kept for as long as the campaign page offers them, under
DATA_DIR/import-rejected/<campaign id>.json (`RejectedRows`): not swept.
"""

from __future__ import annotations

import json
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final

from campaigns.errors import NotFound

__all__ = ["RejectedRows", "Upload", "UploadStore"]

FOLDER: Final = "console-uploads"
REJECTED_FOLDER: Final = "import-rejected"
KEEP_SECONDS: Final = 24 * 3600
_TOKEN_CHARS: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@dataclass(frozen=True)
class Upload:
    token: str
    path: Path
    filename: str
    folder: Path

    def report(self) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = json.loads((self.folder / "report.json").read_text("utf-8"))
        except FileNotFoundError:
            return None
        return found

    def keep_report(self, campaign_id: int, report: dict[str, Any]) -> None:
        body = json.dumps({"campaign_id": campaign_id, **report}, ensure_ascii=False)
        (self.folder / "report.json").write_text(body, encoding="utf-8")


class UploadStore:
    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / FOLDER

    def save(self, owner: int, filename: str, source: IO[bytes]) -> Upload:
        """Copy an upload to disk in blocks (blocking: run it in a thread)."""
        self._sweep()
        token = secrets.token_urlsafe(18)
        folder = self.root / token
        folder.mkdir(parents=True)
        name = Path(filename.replace("\\", "/")).name or "contacts"
        path = folder / ("data" + Path(name).suffix.lower()[:8])
        with path.open("wb") as target:
            shutil.copyfileobj(source, target, 1024 * 1024)
        meta = {"owner": owner, "filename": name}
        (folder / "meta.json").write_text(json.dumps(meta, ensure_ascii=False), encoding="utf-8")
        return Upload(token, path, name, folder)

    def get(self, owner: int, token: str) -> Upload:
        """The upload of this token, uploaded by `owner`; NotFound otherwise."""
        folder = self.root / token
        if not token or not set(token) <= _TOKEN_CHARS or len(token) > 64:
            raise NotFound("the uploaded file is gone: upload it again")
        try:
            meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise NotFound("the uploaded file is gone: upload it again") from None
        if meta.get("owner") != owner:
            raise NotFound("the uploaded file is gone: upload it again")
        path = next(p for p in folder.iterdir() if p.name.startswith("data"))
        return Upload(token, path, str(meta["filename"]), folder)

    def _sweep(self) -> None:
        if not self.root.exists():
            return
        cutoff = time.time() - KEEP_SECONDS
        for folder in self.root.iterdir():
            if folder.stat().st_mtime < cutoff:
                shutil.rmtree(folder, ignore_errors=True)


class RejectedRows:
    """The rejected rows of each campaign's console import, one small JSON file a campaign."""

    def __init__(self, data_dir: Path) -> None:
        self.root = data_dir / REJECTED_FOLDER

    def keep(self, campaign_id: int, rows: list[dict[str, Any]]) -> None:
        self.root.mkdir(parents=True, exist_ok=True)
        body = json.dumps(rows, ensure_ascii=False)
        (self.root / f"{campaign_id}.json").write_text(body, encoding="utf-8")

    def of(self, campaign_id: int) -> list[dict[str, Any]] | None:
        """The rows kept for the campaign; None when it was not imported in the console."""
        try:
            found: list[dict[str, Any]] = json.loads(
                (self.root / f"{campaign_id}.json").read_text("utf-8")
            )
        except FileNotFoundError:
            return None
        return found
