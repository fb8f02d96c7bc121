"""A consistent copy of the SQLite database while everything runs, and putting one back.

sqlite3's online backup API copies the database page by page under SQLite's own locking, so
the copy is a state the database was in at one moment even while the action server and the web
app write (copying the file, or the file without its -wal, is not). The copy goes to
`<var>/backups/coach-<UTC time>.db`, 0600 like the rest of var/.

PostgreSQL has its own tool for this: `pg_dump` (see POSTGRES_INSTRUCTIONS).
"""
from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timezone
from pathlib import Path
from typing import Optional

from sqlalchemy.engine import make_url

from bot.private_files import PRIVATE_FILE_MODE, private_dir

POSTGRES_INSTRUCTIONS = """\
This database is PostgreSQL: back it up with PostgreSQL's own tools, e.g.
  pg_dump --format=custom --file=coach-$(date -u +%Y%m%d-%H%M%S).dump '{url}'
(a consistent snapshot while the assistant runs) and restore into an empty database with
  pg_restore --clean --if-exists --no-owner --dbname='{url}' coach-YYYYMMDD-HHMMSS.dump
Keep the dump private (chmod 600): it holds password hashes and transcripts."""


class BackupError(Exception):
    pass


def sqlite_path(url: str) -> Optional[Path]:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        return None
    if not parsed.database or parsed.database == ":memory:":
        raise BackupError("An in-memory database cannot be backed up.")
    return Path(parsed.database)


def _check(path: Path) -> None:
    connection = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        result = connection.execute("PRAGMA integrity_check").fetchone()[0]
    finally:
        connection.close()
    if result != "ok":
        raise BackupError(f"{path} fails SQLite's integrity check: {result}")


def backup_sqlite(source: Path, destination: Path) -> Path:
    """Copy `source` to `destination` (created 0600) with the online backup API, then check the copy."""
    if not source.exists():
        raise BackupError(f"There is no database at {source}.")
    private_dir(destination.parent)
    fd = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL, PRIVATE_FILE_MODE)
    os.close(fd)
    src = sqlite3.connect(str(source), timeout=30)
    dst = sqlite3.connect(str(destination))
    try:
        with dst:
            src.backup(dst, pages=1024)
        # A self-contained file: no -wal beside it.
        dst.execute("PRAGMA journal_mode=DELETE")
    finally:
        dst.close()
        src.close()
    os.chmod(destination, PRIVATE_FILE_MODE)
    _check(destination)
    return destination


def default_destination(var_dir: Path, now: Optional[datetime] = None) -> Path:
    stamp = (now or datetime.now(timezone.utc)).strftime("%Y%m%d-%H%M%S")
    return Path(var_dir) / "backups" / f"coach-{stamp}.db"


def restore_sqlite(backup: Path, target: Path) -> None:
    """Put `backup` back as the database at `target` (stop the assistant first).

    The backup is checked first; the target is overwritten page by page through the backup API,
    so an open WAL is respected.
    """
    if not backup.exists():
        raise BackupError(f"There is no backup at {backup}.")
    _check(backup)
    src = sqlite3.connect(f"file:{backup}?mode=ro", uri=True)
    dst = sqlite3.connect(str(target), timeout=30)
    try:
        with dst:
            src.backup(dst)
    finally:
        dst.close()
        src.close()
    os.chmod(target, PRIVATE_FILE_MODE)
