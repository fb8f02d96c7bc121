"""Command line: `python -m bot assess`, `python -m bot scenarios [export|import]` and `python -m bot users`.

assess reads JSON Lines {"customer": str, "reply": str} (optional "customer_name", "scenario")
on standard input and writes one line per input: {"checks": {...}}, or {"error": {...}} for a
line it cannot judge, so a long file is never lost to one bad line.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional, TextIO

from bot.errors import CoachError


def _items(stream: TextIO, errors: Dict[int, Dict[str, str]]) -> Iterator[Dict[str, Any]]:
    from bot.scenarios import get_scenario

    for number, line in enumerate(stream, start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
            if not isinstance(record, dict):
                raise CoachError("each line must be a JSON object")
            reply = record.get("reply")
            if not isinstance(reply, str):
                raise CoachError('the field "reply" (a string) is missing')
            item = {
                "reply": reply,
                "customer": record.get("customer") or "",
                "customer_name": record.get("customer_name"),
                "facts": (),
                "jargon": (),
            }
            if record.get("scenario"):
                scenario = get_scenario(record["scenario"])
                item["facts"] = scenario.fact_texts()
                item["jargon"] = scenario.jargon
                item["customer_name"] = item["customer_name"] or scenario.customer.name
        except json.JSONDecodeError as exc:
            errors[number] = {"code": "bad_json", "message": f"line {number}: not JSON: {exc.msg}"}
            item = None
        except CoachError as exc:
            errors[number] = {"code": exc.code, "message": f"line {number}: {exc}"}
            item = None
        yield {"line": number, "item": item}


def assess(stdin: TextIO, stdout: TextIO, workers: int = 1) -> int:
    from bot.checks.workers import assess_in_workers

    errors: Dict[int, Dict[str, str]] = {}
    records = list(_items(stdin, errors))
    good = [r["item"] for r in records if r["item"] is not None]
    results = iter(assess_in_workers(good, workers=workers))
    failed = 0
    for record in records:
        if record["item"] is None:
            out: Dict[str, Any] = {"error": errors[record["line"]]}
        else:
            result = next(results)
            out = result if "error" in result else {"checks": result}
        failed += "error" in out
        stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    if failed:
        print(f"{failed} of {len(records)} lines could not be assessed; see their error lines.", file=sys.stderr)
    return 1 if failed else 0


def scenarios(*, as_json: bool, check: bool, directory: Optional[Path], stdout: TextIO) -> int:
    from bot.scenarios import SCENARIO_DIR, check_all, load_all

    directory = directory or SCENARIO_DIR
    if check:
        problems = check_all(directory)
        for problem in problems:
            print(problem, file=stdout)
        if not problems:
            print("All scenario files are valid.", file=stdout)
        return 1 if problems else 0
    try:
        catalogue = load_all(directory)
    except CoachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    rows = [
        {"id": s.id, "title": s.title, "channel": s.channel, "customer_name": s.customer.name, "turn_limit": s.turn_limit}
        for s in catalogue.values()
    ]
    if as_json:
        stdout.write(json.dumps(rows, indent=2) + "\n")
    else:
        for row in rows:
            stdout.write(f"{row['id']:<32} {row['title']} ({row['channel']}, {row['customer_name']})\n")
    return 0


def users_add(args: argparse.Namespace, stdout: TextIO) -> int:
    from bot import db
    from bot.accounts import add_user
    from bot.passwords import password_problem

    roles = args.role or ["trainee"]
    password = sys.stdin.readline().rstrip("\n") if args.password_stdin else None
    if password is not None:
        problem = password_problem(password, email=args.email, name=args.name)
        if problem:
            print(f"error: {problem}", file=sys.stderr)
            return 1
    try:
        password = add_user(
            db.make_engine(), email=args.email, name=args.name, role=roles[0], team=args.team, password=password,
            roles=roles,
        )
    except CoachError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    stdout.write(f"Added {args.email} ({', '.join(roles)}).\n")
    if not args.password_stdin:
        stdout.write(f"Password: {password}\n")
    return 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    assessing = sub.add_parser("assess", help="check trainee replies given as JSON Lines on standard input")
    assessing.add_argument(
        "--workers", type=int, default=min(2, os.cpu_count() or 1),
        help="processes sharing a long file (default: 2, or 1 on a one-core machine); 1 for one process",
    )
    listing = sub.add_parser("scenarios", help="list the scenarios, or validate their files")
    listing.add_argument("--json", action="store_true", help="machine-readable list")
    listing.add_argument("--check", action="store_true", help="validate every scenario file")
    listing.add_argument("--dir", type=Path, help="another folder of scenario files (default: the shipped ones)")
    listing.add_argument(
        "action", nargs="?", choices=("export", "import"),
        help="export: write the database's scenarios as YAML to --out; import: add the given files as new versions",
    )
    listing.add_argument("paths", nargs="*", type=Path, help="import: scenario files or folders of them")
    listing.add_argument("--out", type=Path, default=Path("scenarios-export"), help="export: the folder to write")
    users = sub.add_parser("users", help="manage the people who sign in")
    users_sub = users.add_subparsers(dest="users_command", required=True)
    adding = users_sub.add_parser("add", help="add a person; prints a new password unless --password-stdin")
    adding.add_argument("--email", required=True)
    adding.add_argument("--name", required=True)
    adding.add_argument(
        "--role", action="append", choices=("trainee", "trainer", "hr", "admin"),
        help="trainee (the default), trainer, hr or admin; repeat for several, e.g. --role trainer --role hr",
    )
    adding.add_argument("--team")
    adding.add_argument("--password-stdin", action="store_true", help="read the password from standard input")
    args = parser.parse_args(argv)
    if args.command == "users":
        return users_add(args, sys.stdout)
    if args.command == "assess":
        return assess(sys.stdin, sys.stdout, workers=args.workers)
    if args.action:
        return scenario_transfer(args)
    return scenarios(as_json=args.json, check=args.check, directory=args.dir, stdout=sys.stdout)


def scenario_transfer(args: argparse.Namespace) -> int:
    """`scenarios export` / `scenarios import`, on the configured database (COACH_DATABASE_URL)."""
    from bot import db, scenario_files
    from bot.db.scenario_store import seed_shipped

    engine = db.make_engine()
    try:
        if db.current_revision() != db.head_revision():
            print("error: the database is not at the newest schema: run `python -m bot.db upgrade` first.", file=sys.stderr)
            return 1
        seed_shipped(engine)
        if args.action == "export":
            return scenario_files.export(engine, args.out, sys.stdout)
        return scenario_files.import_files(engine, args.paths, sys.stdout, sys.stderr)
    finally:
        engine.dispose()


if __name__ == "__main__":
    sys.exit(main())
