"""Keep the var folder private: databases, logs, secrets and generated files for the owner only.

The var folder holds password hashes, transcripts, conversation ids (which are enough to post
as a trainee) and the service secret. Other accounts on the machine must not read any of it:
the folder is 0700, its files 0600, and the launcher runs with umask 077 so whatever the
services create later is private from the start. Files made loose by an older version or by
hand are reported at start and tightened.
"""
from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Callable, Iterator, List, TextIO, Tuple

PRIVATE_UMASK = 0o077
PRIVATE_FILE_MODE = 0o600
PRIVATE_DIR_MODE = 0o700
# Folders under var/ that hold our own files; the rest (scratch venvs, test results) is shielded
# by var/ itself being 0700 and not walked, so start-up stays quick.
PRIVATE_SUBDIRS = ("logs", "backups")


def private_dir(path: Path) -> Path:
    """Create `path` (and its parents) if needed and make it 0700."""
    path = Path(path)
    path.mkdir(parents=True, exist_ok=True, mode=PRIVATE_DIR_MODE)
    os.chmod(path, PRIVATE_DIR_MODE)
    return path


def _ours(var_dir: Path) -> Iterator[Path]:
    """var/ itself, the files directly in it, and our own subfolders with their files."""
    if not var_dir.is_dir():
        return
    yield var_dir
    for entry in sorted(var_dir.iterdir()):
        if entry.is_symlink():
            continue
        if entry.is_file():
            yield entry
        elif entry.is_dir() and entry.name in PRIVATE_SUBDIRS:
            yield entry
            for root, dirs, files in os.walk(entry):
                for name in sorted(dirs) + sorted(files):
                    path = Path(root) / name
                    if not path.is_symlink():
                        yield path


def loose_paths(var_dir: Path) -> List[Tuple[Path, int]]:
    """(path, mode) of every file or folder of ours that others on the machine can read or write."""
    found = []
    for path in _ours(Path(var_dir)):
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            found.append((path, mode))
    return found


def make_private(var_dir: Path) -> List[Path]:
    """Take group and other permissions away from var/ and our files in it; return what changed."""
    changed = []
    for path, mode in loose_paths(var_dir):
        os.chmod(path, mode & ~0o077)
        changed.append(path)
    return changed


def report_loose(var_dir: Path, stream: TextIO) -> List[Tuple[Path, int]]:
    """Warn on `stream` about every loose path (the caller then calls make_private)."""
    loose = loose_paths(var_dir)
    if loose:
        print(
            f"Warning: {len(loose)} file(s) in {var_dir} could be read by other users of this machine "
            "(they hold password hashes, transcripts and secrets); making them private now:",
            file=stream,
        )
        for path, mode in loose[:20]:
            print(f"  {path} was {mode:04o}", file=stream)
        if len(loose) > 20:
            print(f"  ... and {len(loose) - 20} more", file=stream)
    return loose


def kept_secret(path: Path, make: Callable[[], str], *, env: str) -> str:
    """The secret in `path`, or a new one from `make()` written there (0600) if there is none.

    Several processes start at once, so the file is created exclusively: whoever comes second
    reads the first one's secret instead of writing its own.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        secret = Path(path).read_text(encoding="ascii").strip()
        if not secret:
            raise SystemExit(f"{path} is empty: delete it to have a new one made, or set {env}.")
        return secret
    secret = make()
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secret + "\n")
    return secret
