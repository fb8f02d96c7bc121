"""Start, watch and stop the three processes of the assistant.

`python -m bot.launcher` is what `make run` calls; the end-to-end tests and the benchmark use
the same functions on free ports, so what is tested is what a user starts.
"""
from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Dict, List, Optional

import requests
import yaml

from bot import instances, process_guard, quiet, service_secret
from bot.free_ports import free_port, free_port_run  # noqa: F401 (callers import them from here)
from bot.private_files import PRIVATE_FILE_MODE, PRIVATE_UMASK, make_private, private_dir, report_loose
from bot.supervisor import Supervisor
from bot.settings import PROJECT_ROOT, Settings, load_settings

DEFAULT_MODEL = PROJECT_ROOT / "models" / "coach.tar.gz"
# Rasa loads TensorFlow and the model before it answers; on a busy two-core machine that can
# take well over a minute.
STARTUP_TIMEOUT = 240.0
# How often a start-up still in progress says so: often enough that nobody thinks it hung.
PROGRESS_EVERY = 30.0


def quiet_env(**extra: str) -> Dict[str, str]:
    env = quiet.environment()  # known third-party warnings kept out of the logs
    env.update(
        PYTHONUNBUFFERED="1",
        # The actions import `bot` from the project root whatever the working directory.
        PYTHONPATH=os.pathsep.join(filter(None, [str(PROJECT_ROOT), env.get("PYTHONPATH")])),
    )
    env.update(extra)
    return env


@dataclass
class Service:
    name: str
    command: List[str]
    health_url: str
    log_path: Path
    env: Dict[str, str] = field(default_factory=quiet_env)
    process: Optional[subprocess.Popen] = None

    def start(self) -> "Service":
        private_dir(self.log_path.parent)
        # Logs hold conversation ids and replies: readable by the owner only.
        log = os.fdopen(os.open(self.log_path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, PRIVATE_FILE_MODE), "ab")
        # A session of its own, so that Ctrl-C reaches only the launcher, which then stops
        # every service in order instead of each dying halfway through a request; a SIGTERM
        # from the kernel if the launcher dies without doing so (bot/process_guard.py); and a
        # umask that keeps whatever the service creates (tracker store, databases) private.
        self.process = subprocess.Popen(
            self.command, cwd=PROJECT_ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True, preexec_fn=process_guard.die_with_parent(), umask=PRIVATE_UMASK,
        )
        log.close()
        return self

    def wait_until_up(self, timeout: float = STARTUP_TIMEOUT, progress: Optional[Callable[[str], None]] = None) -> None:
        start = time.monotonic()
        deadline = start + timeout
        next_note = start + PROGRESS_EVERY
        while time.monotonic() < deadline:
            if progress and time.monotonic() >= next_note:
                progress(f"  still waiting for the {self.name} ({time.monotonic() - start:.0f} s)")
                next_note += PROGRESS_EVERY
            if self.process is not None and self.process.poll() is not None:
                raise RuntimeError(
                    f"{self.name} exited with code {self.process.returncode} before answering.\n"
                    f"Last lines of {self.log_path}:\n{self.log_tail()}"
                )
            try:
                if requests.get(self.health_url, timeout=2).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.5)
        raise RuntimeError(
            f"{self.name} did not answer at {self.health_url} within {timeout:.0f} s.\n"
            f"Last lines of {self.log_path}:\n{self.log_tail()}"
        )

    def log_tail(self, lines: int = 25) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def stop(self, timeout: float = 15.0) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> "Service":
        return self

    def __exit__(self, *exc) -> None:
        self.stop()


# The production setup for several Rasa instances: conversations in PostgreSQL, and the lock
# that keeps one conversation's messages in order in Redis, shared by every instance.
TRACKER_URL_ENV = "COACH_TRACKER_DB_URL"
LOCK_STORE_URL_ENV = "COACH_LOCK_STORE_URL"


# Rasa's SQL tracker store writing less of each event (bot/tracker_store.py), as in endpoints.yml.
TRACKER_STORE_TYPE = "bot.tracker_store.CompactSQLTrackerStore"


def _tracker_store(url: str) -> Dict[str, object]:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        raise SystemExit(f"{TRACKER_URL_ENV} must be a postgresql:// URL, got {parsed.drivername!r}.")
    store: Dict[str, object] = {"type": TRACKER_STORE_TYPE, "dialect": "postgresql", "url": parsed.host or "127.0.0.1",
                                "port": parsed.port or 5432, "db": parsed.database}
    if parsed.username:
        store["username"] = parsed.username
    if parsed.password:
        store["password"] = parsed.password
    return store


LOCK_STORE_CLASS = "bot.rasa_lock_store.CoachRedisLockStore"


def _lock_store(url: str) -> Dict[str, object]:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    if parts.scheme != "redis":
        raise SystemExit(f"{LOCK_STORE_URL_ENV} must be a redis:// URL, got {url!r}.")
    # Rasa's Redis lock store with a fix for messages moved off a killed server (bot/rasa_lock_store.py).
    store: Dict[str, object] = {"type": LOCK_STORE_CLASS, "url": parts.hostname or "127.0.0.1", "port": parts.port or 6379,
                                "db": int(parts.path.strip("/") or 0), "key_prefix": "coach"}
    if parts.password:
        store["password"] = parts.password
    return store


def write_endpoints(*, settings: Settings, actions_url: str, tracker_db: Path) -> Path:
    """The repository's endpoints.yml with this run's action server and stores.

    The tracker store is the SQLite file `tracker_db`, or PostgreSQL at COACH_TRACKER_DB_URL;
    the lock store is Rasa's in-memory one, or Redis at COACH_LOCK_STORE_URL.
    """
    endpoints = yaml.safe_load((PROJECT_ROOT / "endpoints.yml").read_text(encoding="utf-8"))
    endpoints["action_endpoint"]["url"] = f"{actions_url}/webhook"
    tracker_url = os.environ.get(TRACKER_URL_ENV, "").strip()
    if tracker_url:
        endpoints["tracker_store"] = _tracker_store(tracker_url)
    else:
        endpoints["tracker_store"]["db"] = str(tracker_db)
    lock_url = os.environ.get(LOCK_STORE_URL_ENV, "").strip()
    if lock_url:
        endpoints["lock_store"] = _lock_store(lock_url)
    # Rasa sends this header with every action call; the action server refuses calls without it.
    endpoints["action_endpoint"]["headers"] = {service_secret.HEADER: service_secret.load_service_secret(settings.var_dir)}
    path = settings.var_dir / f"endpoints.{settings.rasa_port}.yml"
    private_dir(path.parent)
    # It holds the secret (and maybe database passwords): written 0600 from the start.
    with os.fdopen(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, PRIVATE_FILE_MODE), "w", encoding="utf-8") as f:
        f.write(yaml.safe_dump(endpoints, sort_keys=False))
    os.chmod(path, PRIVATE_FILE_MODE)
    return path


# How long Rasa's per-conversation lock lives (Rasa's TICKET_LOCK_LIFETIME, 60 s by default).
# A Rasa server killed while answering leaves its lock in Redis until it expires, and the server
# the relay moves the conversation to waits that long before answering: with 60 s, a trainee
# waited 61 s in bench/scale.py, with 15 s still over 30 s on a loaded machine. The relay itself
# sends one message per conversation at a time (its lock in Redis) and waits up to its timeout
# (30 s) for the answer, so Rasa's lock only matters for a message Rasa is still working on
# after the relay gave up on it, and any lifetime under 30 s protects that equally little.
TICKET_LOCK_LIFETIME = "5"


def rasa_service(*, settings: Settings, model: Path, endpoints: Path, name: str = "Rasa server",
                 actions_urls: str = "") -> Service:
    """`actions_urls`: every action server (COACH_ACTIONS_URLS), which this Rasa calls when its own is down."""
    return Service(
        name=name,
        # Our REST channel (bot.rasa_channel) reads the shared secret from this var folder.
        env=quiet_env(
            TICKET_LOCK_LIFETIME=os.environ.get("TICKET_LOCK_LIFETIME") or TICKET_LOCK_LIFETIME,
            COACH_VAR_DIR=str(settings.var_dir),
            COACH_ACTIONS_URLS=os.environ.get("COACH_ACTIONS_URLS") or actions_urls,
        ),
        # Rasa's own command line through bot.rasa_main, which first installs an action response
        # validator built once (Rasa re-checks its schema on every action call otherwise).
        command=[
            sys.executable, "-m", "bot.quiet", "bot.rasa_main", "run",
            "--model", str(model),
            "--endpoints", str(endpoints),
            "--credentials", str(PROJECT_ROOT / "credentials.yml"),
            "--interface", settings.host,
            "--port", str(settings.rasa_port),
        ],
        health_url=f"{settings.rasa_url}/",
        log_path=settings.var_dir / "logs" / f"rasa.{settings.rasa_port}.log",
    )


def actions_service(*, settings: Settings, package: str = "actions", name: str = "Action server") -> Service:
    return Service(
        name=name,
        # rasa_sdk's server behind the shared secret (bot.action_server).
        command=[sys.executable, "-m", "bot.quiet", "bot.action_server", "--actions", package, "--port", str(settings.actions_port)],
        health_url=f"{settings.actions_url}/health",
        log_path=settings.var_dir / "logs" / f"actions.{settings.actions_port}.log",
        # rasa_sdk binds every interface unless SANIC_HOST says otherwise.
        env=quiet_env(SANIC_HOST=settings.host, COACH_VAR_DIR=str(settings.var_dir)),
    )


def web_service(*, settings: Settings) -> Service:
    return Service(
        name="Web app",
        command=[sys.executable, "-m", "bot.web"],
        health_url=f"{settings.web_url}/healthz",
        log_path=settings.var_dir / "logs" / f"web.{settings.web_port}.log",
        env=quiet_env(
            COACH_HOST=settings.host,
            COACH_WEB_PORT=str(settings.web_port),
            COACH_RASA_PORT=str(settings.rasa_port),
            # Rasa servers elsewhere too when COACH_RASA_URLS says so; else the ones started here.
            COACH_RASA_URLS=",".join(settings.rasa_urls) or instances.rasa_urls(instances.plan(settings)),
            COACH_VAR_DIR=str(settings.var_dir),
        ),
    )


def prepare_database(settings: Settings) -> str:
    """Migrate our database (COACH_DATABASE_URL, else SQLite in the run's var folder) to the newest schema."""
    from sqlalchemy.engine import URL

    from bot import db

    url = os.environ.get(db.DATABASE_URL_ENV) or str(
        URL.create("sqlite", database=str((settings.var_dir / db.engine.SQLITE_FILE_NAME).resolve()))
    )
    private_dir(settings.var_dir)
    db.upgrade(url)
    # The shipped scenario files become version 1 of each scenario the database lacks.
    from bot.db.scenario_store import seed_shipped

    engine = db.make_engine(url)
    try:
        seed_shipped(engine)
    finally:
        engine.dispose()
    make_private(settings.var_dir)
    return url


def start_all(
    stack: ExitStack, *, settings: Settings, model: Path, with_web: bool = True,
    record: Optional[process_guard.ProcessRecord] = None, progress: Optional[Callable[[str], None]] = None,
) -> List[Service]:
    """Start actions and Rasa (settings.rasa_instances of each) and (optionally) the web app;
    each is stopped when `stack` closes.

    `record` notes each child's process group for the next start (see bot/process_guard.py);
    `progress` is told when each service is up, with the seconds since the start.
    """
    instances.require_shared_stores(settings.rasa_instances)
    prepare_database(settings)
    services = []
    planned = instances.plan(settings)
    every_action_server = ",".join(i.actions_url for i in planned) if len(planned) > 1 else ""
    for number, instance in enumerate(planned, start=1):
        endpoints = write_endpoints(
            settings=instance, actions_url=instance.actions_url, tracker_db=settings.var_dir / "rasa_tracker.db"
        )
        # The first instance keeps the plain names, so one instance reads as it always did.
        suffix = f" {number}" if number > 1 else ""
        services.append(actions_service(settings=instance, name=f"Action server{suffix}"))
        services.append(rasa_service(settings=instance, model=model, endpoints=endpoints, name=f"Rasa server{suffix}",
                                     actions_urls=every_action_server))
    if with_web:
        services.append(web_service(settings=settings))
    started = time.monotonic()
    for service in services:
        stack.enter_context(service.start())
        if record is not None:
            record.add(service.name, service.process)
    for service in services:
        service.wait_until_up(progress=progress)
        if progress:
            progress(f"  {service.name} is up ({time.monotonic() - started:.0f} s)")
    return services


def _port_taken(host: str, port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex((host, port)) == 0


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description="Start the Rasa server, the action server and the web app.")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    args = parser.parse_args(argv)
    settings = load_settings()
    # Everything this run creates (databases, logs, secrets) is readable by the owner only.
    os.umask(PRIVATE_UMASK)
    report_loose(settings.var_dir, sys.stderr)
    make_private(settings.var_dir)
    if not args.model.exists():
        print(f"No trained model at {args.model}: run `make train` first.", file=sys.stderr)
        return 2
    try:
        instances.require_shared_stores(settings.rasa_instances)
    except SystemExit as exc:
        print(exc, file=sys.stderr)
        return 2
    for line in process_guard.stop_leftovers(settings.var_dir):
        print(line, flush=True)
    ports = [("web", settings.web_port)]
    for instance in instances.plan(settings):
        ports += [("Rasa", instance.rasa_port), ("actions", instance.actions_port)]
    for name, port in ports:
        if _port_taken(settings.host, port):
            print(
                f"Port {port} on {settings.host} ({name}) is already in use. Stop what runs there or set "
                f"COACH_{name.upper()}_PORT to another port.",
                file=sys.stderr,
            )
            return 2
    stop_requested = False

    def request_stop(signum, frame):
        nonlocal stop_requested
        stop_requested = True

    signal.signal(signal.SIGTERM, request_stop)
    signal.signal(signal.SIGINT, request_stop)
    from bot import db
    from bot.accounts import ensure_first_admin

    # Before anything starts, so nobody can add people in between (issue 16, finding 8).
    admin_file = ensure_first_admin(db.make_engine(prepare_database(settings)), settings.var_dir)
    with ExitStack() as stack:
        count = settings.rasa_instances
        servers = "the action server, the Rasa server" if count == 1 else f"{count} action servers, {count} Rasa servers"
        print(f"Starting {servers} and the web app (Rasa takes a minute)...", flush=True)
        record = process_guard.ProcessRecord(settings.var_dir)
        stack.callback(record.close)  # runs after every service has stopped
        try:
            services = start_all(
                stack, settings=settings, model=args.model, record=record,
                progress=lambda line: print(line, flush=True),
            )
        except RuntimeError as exc:
            print(f"Start-up failed: {exc}", file=sys.stderr)
            return 1
        first_sign_in = f"  First sign-in:             see {admin_file}\n" if admin_file else ""
        print(
            "\nThe assistant is up.\n"
            f"  Practice chat (open this): {settings.web_url}/\n"
            f"{first_sign_in}"
            + "".join(
                f"  Rasa REST webhook:         {i.rasa_url}/webhooks/rest/webhook\n"
                f"  Action server:             {i.actions_url}/health\n"
                for i in instances.plan(settings)
            )
            + f"  Logs:                      {settings.var_dir / 'logs'}\n"
            "A service that dies is restarted. Press Ctrl-C to stop them all.",
            flush=True,
        )
        supervisor = Supervisor(services, record=record, log=lambda line: print(line, flush=True))
        while not stop_requested:
            supervisor.check()
            time.sleep(0.5)
        print("\nStopping...", flush=True)
    print("Stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
