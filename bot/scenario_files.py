"""`python -m bot scenarios export` / `import`: the database's scenarios as YAML files.

Export writes each scenario's current version (published, or archived) as `<id>.yml`, the same
format as the shipped files, so scenarios written in the browser can be reviewed in version
control. Import checks every file as `scenarios --check` does and adds each changed one as a new
published version; one bad file imports nothing.
"""
from __future__ import annotations

from pathlib import Path
from typing import List, Sequence, TextIO

import yaml
from sqlalchemy.engine import Engine

from bot.db import scenario_store
from bot.db.engine import session_scope
from bot.errors import CoachError


def export(engine: Engine, out: Path, stdout: TextIO) -> int:
    out.mkdir(parents=True, exist_ok=True)
    written = 0
    with session_scope(engine) as session:
        for summary in scenario_store.overview(session=session):
            versions = [v for v in scenario_store.versions_of(session=session, scenario_id=summary.id) if v.status in scenario_store.RELEASED]
            if not versions:
                continue
            current = versions[0]
            header = (
                f"# Exported from the database: {current.scenario_id} version {current.version} "
                f"({current.status}), {current.changed_at:%Y-%m-%d %H:%M} UTC.\n"
            )
            body = yaml.safe_dump(current.document, sort_keys=False, allow_unicode=True, width=100)
            (out / f"{current.scenario_id}.yml").write_text(header + body, encoding="utf-8")
            stdout.write(f"{current.scenario_id:<32} version {current.version} ({current.status})\n")
            written += 1
    stdout.write(f"Wrote {written} scenario file(s) to {out}.\n")
    return 0


def _files(paths: Sequence[Path]) -> List[Path]:
    found: List[Path] = []
    for path in paths:
        found.extend(sorted(path.glob("*.yml")) if path.is_dir() else [path])
    return found


def import_files(engine: Engine, paths: Sequence[Path], stdout: TextIO, stderr: TextIO) -> int:
    from bot.scenarios import all_problems

    documents = []
    failed = False
    for path in _files(paths):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError) as exc:
            stderr.write(f"{path.name}: cannot be read as YAML: {exc}\n")
            failed = True
            continue
        problems = all_problems(raw, expected_id=path.stem)
        for field, message in problems:
            stderr.write(f"{path.name}: field '{field}': {message}\n")
        failed = failed or bool(problems)
        documents.append(raw)
    if failed or not documents:
        stderr.write("Nothing imported. Fix the files above and import again.\n" if failed else "No scenario files given.\n")
        return 1
    try:
        with session_scope(engine, write=True) as session:
            for document in documents:
                row = scenario_store.add_published(session=session, document=document, source="import")
                stdout.write(f"{document['id']:<32} " + (f"version {row.version}\n" if row else "unchanged\n"))
    except CoachError as exc:
        stderr.write(f"error: {exc} Nothing imported.\n")
        return 1
    return 0
