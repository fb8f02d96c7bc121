"""`python -m bot.db upgrade`: migrate the configured database to the newest schema.

`python -m bot.db current` prints the revision the database is at. The database is
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
    args = parser.parse_args(argv)
    url = database_url()
    shown = make_url(url).render_as_string(hide_password=True)
    if args.command == "upgrade":
        revision = upgrade(url)
        print(f"{shown} is at revision {revision} (head {head_revision()}).")
        return 0
    revision = current_revision(url)
    print(f"{shown} is at revision {revision or 'none (never migrated)'} (head {head_revision()}).")
    return 0 if revision == head_revision() else 1


if __name__ == "__main__":
    sys.exit(main())
