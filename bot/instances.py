"""Several Rasa servers, each with its action server, on shared stores.

Instance i (from 0) listens on COACH_RASA_PORT + i and calls its own action server on
COACH_ACTIONS_PORT + i. Any instance can answer any conversation only because the tracker
lives in PostgreSQL and the per-conversation lock in Redis; with SQLite files or Rasa's
in-memory lock store each instance would keep a conversation of its own, so more than one
instance is refused there.
"""
from __future__ import annotations

import dataclasses
import os
from typing import List, Mapping, Optional

from bot.settings import Settings

INSTANCES_ENV = "COACH_RASA_INSTANCES"
# Named here as well as in bot.launcher / bot.db, so this module imports neither.
SHARED_STORES = (
    ("COACH_TRACKER_DB_URL", "postgresql://", "Rasa's tracker store in PostgreSQL, e.g. postgresql://coach@127.0.0.1:5432/coach"),
    ("COACH_LOCK_STORE_URL", "redis://", "Rasa's lock store in Redis, e.g. redis://127.0.0.1:6379/0"),
    ("COACH_DATABASE_URL", "postgresql", "our database in PostgreSQL, e.g. postgresql+psycopg2://coach@127.0.0.1:5432/coach"),
)


def require_shared_stores(count: int, environ: Optional[Mapping[str, str]] = None) -> None:
    """Raise SystemExit naming every missing setting when `count` instances cannot share state."""
    if count <= 1:
        return
    environ = os.environ if environ is None else environ
    missing = []
    for name, prefix, meaning in SHARED_STORES:
        value = (environ.get(name) or "").strip()
        if not value.startswith(prefix):
            found = f" (now {value.split(':', 1)[0]}:...)" if value else ""
            missing.append(f"  {name}{found}: {meaning}")
    if missing:
        raise SystemExit(
            f"{INSTANCES_ENV}={count} needs stores every instance shares; SQLite files and the in-memory "
            "lock store belong to one process. Set:\n" + "\n".join(missing)
            + f"\nor run one instance ({INSTANCES_ENV}=1)."
        )


def plan(settings: Settings) -> List[Settings]:
    """The settings of each instance: consecutive Rasa and action server ports."""
    return [
        dataclasses.replace(settings, rasa_port=settings.rasa_port + i, actions_port=settings.actions_port + i)
        for i in range(settings.rasa_instances)
    ]


def rasa_urls(instances: List[Settings]) -> str:
    """COACH_RASA_URLS for the web app: every instance's Rasa server."""
    return ",".join(instance.rasa_url for instance in instances)


def main(argv: Optional[List[str]] = None) -> int:
    """`python -m bot.instances endpoints`: write this machine's endpoints file and print its path.

    What a service manager runs before the Rasa server (deploy/systemd/coach-rasa.service), so
    that Rasa gets the stores and the action server the launcher would give it.
    """
    import argparse

    from bot.launcher import write_endpoints
    from bot.settings import load_settings

    parser = argparse.ArgumentParser(prog="python -m bot.instances")
    parser.add_argument("command", choices=["endpoints"])
    parser.parse_args(argv)
    settings = load_settings()
    path = write_endpoints(settings=settings, actions_url=settings.actions_url,
                           tracker_db=settings.var_dir / "rasa_tracker.db")
    print(path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
