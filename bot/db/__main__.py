"""`python -m bot.db upgrade`: migrate the configured database to the newest schema.

`python -m bot.db current` prints the revision the database is at; `python -m bot.db rescore`
scores ended sessions again with the current rubric (and, with --recheck, the current checks),
keeping the old scorecards; `python -m bot.db export-labels` writes the trainers' overruled
verdicts as labelled replies in the development set's format (bot/db/labels_export.py). The database is
COACH_DATABASE_URL, else <COACH_VAR_DIR>/coach.db.
"""
from __future__ import annotations

import argparse
import os
import sys
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
    exporting = sub.add_parser(
        "export-labels", help="write the trainers' overruled verdicts as labelled replies (JSON Lines)"
    )
    exporting.add_argument("--out", help="file to write (default: standard output)")
    exporting.add_argument("--check", help="only turns where this check was overruled")
    args = parser.parse_args(argv)
    url = database_url()
    shown = make_url(url).render_as_string(hide_password=True)
    if args.command == "export-labels":
        return _export_labels(url, shown, args.out, args.check)
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
