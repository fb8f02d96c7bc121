"""`python -m bot.db upgrade`: migrate the configured database to the newest schema.

`python -m bot.db current` prints the revision the database is at; `python -m bot.db rescore`
scores ended sessions again with the current rubric (and, with --recheck, the current checks),
keeping the old scorecards. The database is
COACH_DATABASE_URL, else <COACH_VAR_DIR>/coach.db.
"""
from __future__ import annotations

import argparse
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
    args = parser.parse_args(argv)
    url = database_url()
    shown = make_url(url).render_as_string(hide_password=True)
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


if __name__ == "__main__":
    sys.exit(main())
