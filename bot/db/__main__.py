"""`python -m bot.db upgrade`: migrate the configured database to the newest schema.

`python -m bot.db current` prints the revision the database is at; `python -m bot.db rescore`
scores ended sessions again with the current rubric (and, with --recheck, the current checks),
keeping the old scorecards; `export-labels` writes the trainers' overruled verdicts as labelled
replies in the development set's format (bot/db/labels_export.py). `export-user` and `erase-user`
answer a person's data request (bot.db.data_requests); `backup` makes a consistent copy of SQLite
while everything runs and `restore` puts one back (bot.db.backup; PostgreSQL: pg_dump, printed by
`backup`). The database is COACH_DATABASE_URL, else <COACH_VAR_DIR>/coach.db.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import List, Optional

from sqlalchemy.engine import make_url


def main(argv: Optional[List[str]] = None) -> int:
    from bot.db.engine import database_url
    from bot.db.migrate import current_revision, head_revision, upgrade

    parser = argparse.ArgumentParser(prog="python -m bot.db", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("upgrade", help="migrate the database to the newest schema and print its revision")
    sub.add_parser("current", help="print the revision the database is at")
    rescoring = sub.add_parser("rescore", help="score ended sessions again, keeping the old scorecards")
    rescoring.add_argument("--recheck", action="store_true", help="run the current checks on every stored reply")
    rescoring.add_argument("--apply-overrides", action="store_true", help="score with the trainers' verdicts")
    rescoring.add_argument("--force", action="store_true", help="also sessions already scored with these versions")
    exporting = sub.add_parser("export-user", help="everything stored about one person, as JSON")
    exporting.add_argument("--email", required=True)
    exporting.add_argument("--out", type=Path, help="write here (0600) instead of standard output")
    erasing = sub.add_parser("erase-user", help="delete everything stored about one person (an audit entry stays)")
    erasing.add_argument("--email", required=True)
    erasing.add_argument("--yes", action="store_true", help="do it without asking")
    backing = sub.add_parser("backup", help="a consistent copy of the SQLite database while it runs")
    backing.add_argument("--out", type=Path, help="the copy's path (default var/backups/coach-<UTC time>.db)")
    restoring = sub.add_parser("restore", help="put a backup back as the database (stop the assistant first)")
    restoring.add_argument("backup", type=Path)
    restoring.add_argument("--yes", action="store_true", help="do it without asking")
    labelling = sub.add_parser(
        "export-labels", help="write the trainers' overruled verdicts as labelled replies (JSON Lines)"
    )
    labelling.add_argument("--out", help="file to write (default: standard output)")
    labelling.add_argument("--check", help="only turns where this check was overruled")
    args = parser.parse_args(argv)
    url = database_url()
    shown = make_url(url).render_as_string(hide_password=True)
    if args.command == "export-labels":
        return _export_labels(url, shown, args.out, args.check)
    if args.command in ("export-user", "erase-user"):
        return _data_request(args, url)
    if args.command in ("backup", "restore"):
        return _backup(args, url, shown)
    if args.command == "rescore":
        from bot.db.engine import make_engine
        from bot.rescoring import rescore

        added = rescore(
            make_engine(url), recheck_replies=args.recheck, apply_overrides=args.apply_overrides, force=args.force
        )
        print(f"Re-scored {len(added)} session(s) in {shown}.")
        return 0
    if args.command == "upgrade":
        revision = upgrade(url)
        print(f"{shown} is at revision {revision} (head {head_revision()}).")
        return 0
    revision = current_revision(url)
    print(f"{shown} is at revision {revision or 'none (never migrated)'} (head {head_revision()}).")
    return 0 if revision == head_revision() else 1


def _confirm(question: str, yes: bool) -> bool:
    if yes:
        return True
    if not sys.stdin.isatty():
        print(f"{question} Add --yes to confirm.", file=sys.stderr)
        return False
    return input(f"{question} Type yes: ").strip().lower() == "yes"


def _data_request(args: argparse.Namespace, url: str) -> int:
    import json
    import os

    from bot.db import data_requests
    from bot.db.errors import NotFound
    from bot.db.engine import make_engine, session_scope

    engine = make_engine(url)
    try:
        if args.command == "export-user":
            with session_scope(engine) as session:
                data = data_requests.export_user(session=session, email=args.email)
                from bot.db import audit

                audit.record(session=session, action="user_data_exported", subject=("user", data["user"]["id"]),
                             after={"email": data["user"]["email"], "to": str(args.out) if args.out else "stdout"})
            text = json.dumps(data, ensure_ascii=False, indent=2) + "\n"
            if args.out:
                fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
                with os.fdopen(fd, "w", encoding="utf-8") as handle:
                    handle.write(text)
                print(f"Wrote everything about {args.email} to {args.out}.", file=sys.stderr)
            else:
                sys.stdout.write(text)
            return 0
        if not _confirm(f"Erase everything about {args.email}?", args.yes):
            return 1
        with session_scope(engine) as session:
            erased = data_requests.erase_user(session=session, email=args.email)
    except (NotFound, data_requests.CannotErase) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    finally:
        engine.dispose()
    tracker = _tracker_url()
    events = data_requests.erase_tracker_conversations(tracker, erased["senders"]) if tracker else 0
    counts = ", ".join(f"{n} {what.replace('_', ' ')}" for what, n in erased["counts"].items() if n)
    print(f"Erased {args.email}: {counts or 'the account'}; {events} event(s) from Rasa's tracker store. "
          "An audit entry records it.")
    return 0


def _tracker_url() -> Optional[str]:
    """Rasa's tracker store as the launcher configures it: COACH_TRACKER_DB_URL, else var's SQLite file."""
    import os

    from sqlalchemy.engine import URL

    from bot.settings import load_settings

    from_env = os.environ.get("COACH_TRACKER_DB_URL", "").strip()
    if from_env:
        return from_env
    path = load_settings().var_dir / "rasa_tracker.db"
    return str(URL.create("sqlite", database=str(path.resolve()))) if path.exists() else None


def _backup(args: argparse.Namespace, url: str, shown: str) -> int:
    from bot.db import backup
    from bot.settings import load_settings

    try:
        path = backup.sqlite_path(url)
        if path is None:
            print(backup.POSTGRES_INSTRUCTIONS.format(url=shown))
            return 2
        if args.command == "backup":
            made = backup.backup_sqlite(path, args.out or backup.default_destination(load_settings().var_dir))
            _audit_backup(url, made)
            print(f"Backed up {path} to {made} (integrity checked).")
            return 0
        if not _confirm(f"Replace {path} with {args.backup}? Stop the assistant first.", args.yes):
            return 1
        backup.restore_sqlite(args.backup, path)
    except backup.BackupError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    print(f"Restored {path} from {args.backup}.")
    return 0


def _audit_backup(url: str, made: Path) -> None:
    from bot.db import audit
    from bot.db.engine import make_engine, session_scope

    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            audit.record(session=session, action="backup_made", after={"file": str(made)})
    finally:
        engine.dispose()


def _export_labels(url: str, shown: str, out: Optional[str], check: Optional[str]) -> int:
    from bot.db.engine import make_engine, session_scope
    from bot.db.labels_export import export_labels
    from bot.errors import CoachError

    engine = make_engine(url)
    try:
        with session_scope(engine) as session:
            if out is None:
                count = export_labels(session, sys.stdout, check=check)
            else:
                # Written beside the target and moved into place, so a failed export loses no earlier file.
                partial = out + ".partial"
                try:
                    with open(partial, "w", encoding="utf-8") as handle:
                        count = export_labels(session, handle, check=check)
                    os.replace(partial, out)
                finally:
                    if os.path.exists(partial):
                        os.remove(partial)
    except CoachError as exc:
        print(f"export-labels: {exc}", file=sys.stderr)
        return 2
    print(f"Exported {count} overruled turn(s) from {shown}" + (f" to {out}." if out else "."), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
