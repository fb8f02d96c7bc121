"""A training class at once: 10, 25 and 50 signed-in trainees through the web app.

Starts the stack `make run` starts (action server, Rasa through bot.rasa_main, web app) on free
loopback ports with a fresh var folder, creates the trainees in our database, and for each
class size lets every trainee, in a thread of their own, do what the browser does: sign in
(GET /signin for the CSRF token, POST the form), then all start at once (POST /api/session)
and reply through POST /api/message, waiting one second after each answer before the next
reply, at most the 12 replies of bench.latency's script and at most `--seconds` per class.

Reported per class size: failed starts, errors (HTTP errors and error payloads), replies
answered, p50/p95 per reply, turns per second (answered replies over the wall time of the
class), and whether every answered turn is stored (turns counted in our database). Then the
action server is swapped for no-op actions behind the same Rasa server and web app, and the
largest class plays again: the baseline the coach turn is compared with, in the same run.

    python -m bench.load [--classes 10 25 50] [--seconds 90] [--profile]

With --profile, Rasa and the action server run under bench.sampling and the profile of their
main threads during the coach runs goes to bench/results/load-profile.md. Only loopback traffic.
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import secrets
import statistics
import sys
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List, Optional

import requests
from sqlalchemy import func, select

from bench.latency import PERSONA, SCENARIO, SCRIPT, percentile
from bench import sampling
from bench.cpu import cpu_seconds
from bench.sampling import WRITE_EVERY_SECONDS
from bot import db
from bot.launcher import DEFAULT_MODEL, Service, actions_service, free_port, prepare_database, start_all
from bot.settings import PROJECT_ROOT, load_settings

RESULTS = PROJECT_ROOT / "bench" / "results" / "load.md"
PROFILE_RESULTS = PROJECT_ROOT / "bench" / "results" / "load-profile.md"
THINK_SECONDS = 1.0
CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclasses.dataclass
class Trainee:
    email: str
    password: str
    started: bool = False
    start_problem: Optional[str] = None
    conversation: Optional[str] = None
    latencies_ms: List[float] = dataclasses.field(default_factory=list)
    errors: List[str] = dataclasses.field(default_factory=list)


def sign_in(web_url: str, trainee: Trainee) -> requests.Session:
    """Sign in as the browser does: the form's CSRF token, then the form post."""
    http = requests.Session()
    page = http.get(f"{web_url}/signin", timeout=60)
    token = CSRF.search(page.text)
    if page.status_code != 200 or token is None:
        raise RuntimeError(f"the sign-in page answered {page.status_code} without a CSRF token")
    answer = http.post(
        f"{web_url}/signin", data={"email": trainee.email, "password": trainee.password, "csrf_token": token.group(1)},
        allow_redirects=False, timeout=60,
    )
    if answer.status_code not in (302, 303):
        raise RuntimeError(f"sign-in answered {answer.status_code}")
    return http


def _error_codes(messages: List[Dict]) -> List[str]:
    return [m["payload"].get("code", "?") for m in messages if m["kind"] == "custom" and m["payload"].get("type") == "error"]


def practise(web_url: str, trainee: Trainee, ready: threading.Barrier, deadline: float) -> None:
    try:
        http = sign_in(web_url, trainee)
    except (requests.RequestException, RuntimeError) as exc:
        trainee.start_problem = f"sign-in: {exc}"
        ready.wait()
        return
    ready.wait()  # every trainee of the class starts at the same moment
    try:
        answer = http.post(f"{web_url}/api/session", json={"scenario": SCENARIO, "persona": PERSONA, "mode": "coach"},
                           timeout=60)
    except requests.RequestException as exc:
        trainee.start_problem = f"start: {exc.__class__.__name__}"
        return
    body = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
    if answer.status_code != 200 or not body.get("conversation"):
        trainee.start_problem = f"start: HTTP {answer.status_code} {body.get('error', {}).get('code', '')}".strip()
        return
    trainee.started, trainee.conversation = True, body["conversation"]
    for line in SCRIPT:
        time.sleep(THINK_SECONDS)
        if time.monotonic() > deadline:
            break
        began = time.perf_counter()
        try:
            answer = http.post(
                f"{web_url}/api/message",
                json={"text": line, "message_id": uuid.uuid4().hex, "conversation": trainee.conversation}, timeout=60,
            )
        except requests.RequestException as exc:
            trainee.errors.append(exc.__class__.__name__)
            continue
        elapsed = (time.perf_counter() - began) * 1000
        if answer.status_code != 200:
            trainee.errors.append(f"HTTP {answer.status_code} {answer.json().get('error', {}).get('code', '')}")
            continue
        messages = answer.json()["messages"]
        codes = _error_codes(messages)
        if codes:
            trainee.errors.extend(codes)
            continue
        trainee.latencies_ms.append(elapsed)
        if any(m["kind"] == "custom" and m["payload"].get("type") == "scorecard" for m in messages):
            break


def create_trainees(database_url: str, count: int) -> List[Trainee]:
    engine = db.make_engine(database_url)
    trainees = []
    with db.session_scope(engine, write=True) as session:
        for _ in range(count):
            trainee = Trainee(email=f"load-{uuid.uuid4().hex[:12]}@example.com", password=secrets.token_urlsafe(18))
            db.create_user(session=session, email=trainee.email, name="Load Trainee", password=trainee.password)
            trainees.append(trainee)
    engine.dispose()
    return trainees


def stored_turns(database_url: str, conversations: List[str]) -> int:
    engine = db.make_engine(database_url)
    with db.session_scope(engine) as session:
        count = session.scalar(
            select(func.count()).select_from(db.Turn).join(db.PracticeSession, db.Turn.session_id == db.PracticeSession.id)
            .where(db.PracticeSession.sender_id.in_(conversations))
        )
    engine.dispose()
    return int(count or 0)


def play_class(web_url: str, database_url: str, size: int, seconds: float, *, count_stored: bool,
               services: Optional[Dict[str, Service]] = None) -> Dict:
    """One class of `size` trainees; with `services`, also the CPU time each used per answered turn."""
    services = services or {}
    trainees = create_trainees(database_url, size)
    ready = threading.Barrier(size + 1)
    deadline_box: Dict[str, float] = {}
    threads = [
        threading.Thread(target=lambda t=t: practise(web_url, t, ready, deadline_box["at"])) for t in trainees
    ]
    deadline_box["at"] = time.monotonic() + seconds + 600  # placeholder until everyone has signed in
    for thread in threads:
        thread.start()
    ready.wait()
    cpu_before = {name: cpu_seconds(service.process.pid) for name, service in services.items()}
    began = time.monotonic()
    deadline_box["at"] = began + seconds
    for thread in threads:
        thread.join()
    wall = time.monotonic() - began
    cpu_ms = {name: (cpu_seconds(service.process.pid) - cpu_before[name]) * 1000 for name, service in services.items()}
    latencies = [ms for t in trainees for ms in t.latencies_ms]
    answered = len(latencies)
    result = {
        "trainees": size,
        "failed_starts": sum(1 for t in trainees if not t.started),
        "start_problems": sorted({t.start_problem for t in trainees if t.start_problem}),
        "errors": sum(len(t.errors) for t in trainees),
        "error_kinds": sorted({e for t in trainees for e in t.errors}),
        "answered": answered,
        "p50": statistics.median(latencies) if latencies else float("nan"),
        "p95": percentile(latencies, 95) if latencies else float("nan"),
        "turns_per_second": answered / wall if wall else 0.0,
        "wall": wall,
        "cpu_ms_per_turn": {name: ms / max(1, answered) for name, ms in cpu_ms.items()},
    }
    if count_stored:
        result["stored"] = stored_turns(database_url, [t.conversation for t in trainees if t.conversation])
    return result


def _cpu_row(label: str, r: Dict) -> str:
    cpu = r["cpu_ms_per_turn"]
    rasa, actions, web = cpu.get("Rasa server", 0.0), cpu.get("Action server", 0.0), cpu.get("Web app", 0.0)
    total = rasa + actions + web
    ceiling = min(1000 / max(rasa, 1e-9), 1000 / max(actions, 1e-9), 2000 / max(total, 1e-9))
    return f"| {label} | {r['trainees']} | {rasa:.1f} | {actions:.1f} | {web:.1f} | {total:.1f} | {ceiling:.0f} |"


def _row(label: str, r: Dict) -> str:
    stored = ""
    if "stored" in r:
        stored = f"{r['stored']} / {r['answered']}" + (" yes" if r["stored"] >= r["answered"] else " **NO**")
    return (f"| {label} | {r['trainees']} | {r['failed_starts']} | {r['errors']} | {r['answered']} | "
            f"{r['p50']:.0f} | {r['p95']:.0f} | {r['turns_per_second']:.1f} | {stored or 'n/a'} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--classes", type=int, nargs="+", default=[10, 25, 50])
    parser.add_argument("--seconds", type=float, default=90.0, help="longest a class may take")
    parser.add_argument("--profile", action="store_true", help="sample Rasa and the action server (bench.sampling)")
    args = parser.parse_args(argv)
    if not DEFAULT_MODEL.exists():
        print(f"No trained model at {DEFAULT_MODEL}: run `make train` first.", file=sys.stderr)
        return 2
    results: List[Dict] = []
    with tempfile.TemporaryDirectory() as var_dir, ExitStack() as stack:
        var = Path(var_dir)
        settings = dataclasses.replace(
            load_settings(), host="127.0.0.1", rasa_port=free_port(), actions_port=free_port(), web_port=free_port(),
            var_dir=var,
        )
        profiles = {"Rasa server": var / "rasa-profile.json", "Action server": var / "actions-profile.json"}
        if args.profile:
            import bot.launcher as launcher

            rasa_service, actions = launcher.rasa_service, launcher.actions_service
            stack.enter_context(_patched(launcher, "rasa_service",
                                         lambda **kw: sampling.sampled(rasa_service(**kw), profiles["Rasa server"])))
            stack.enter_context(_patched(launcher, "actions_service",
                                         lambda **kw: sampling.sampled(actions(**kw), profiles["Action server"])))
        print("Starting the action server, Rasa and the web app...", flush=True)
        services = {s.name: s for s in start_all(stack, settings=settings, model=DEFAULT_MODEL)}
        database_url = prepare_database(settings)  # the one start_all migrated
        play_class(settings.web_url, database_url, 2, 30, count_stored=False)  # warm-up: models, caches, pools
        before = {}
        if args.profile:
            time.sleep(WRITE_EVERY_SECONDS + 1)  # a snapshot after start-up and warm-up, to leave them out
            before = {name: sampling.load(path) for name, path in profiles.items() if path.exists()}
        for size in args.classes:
            result = play_class(settings.web_url, database_url, size, args.seconds, count_stored=True, services=services)
            results.append(result)
            print(f"coach, {size} trainees: {result}", flush=True)
        profile_text = ""
        if args.profile:
            time.sleep(WRITE_EVERY_SECONDS + 1)
            profile_text = "\n\n".join(
                sampling.report(sampling.difference(sampling.load(path), before.get(name)), name, 20)
                for name, path in profiles.items() if path.exists()
            )
        services["Action server"].stop()
        with actions_service(settings=settings, package="bench.noop_actions").start() as noop:
            noop.wait_until_up()
            play_class(settings.web_url, database_url, 2, 30, count_stored=False)
            baseline = play_class(settings.web_url, database_url, max(args.classes), args.seconds, count_stored=False,
                                  services={**services, "Action server": noop})
            print(f"no-op, {baseline['trainees']} trainees: {baseline}", flush=True)
    write_report(results, baseline, args, profile_text)
    return 0


class _patched:
    """Replace a module attribute for the length of a with-block."""

    def __init__(self, module, name, value):
        self.module, self.name, self.value = module, name, value

    def __enter__(self):
        self.old = getattr(self.module, self.name)
        setattr(self.module, self.name, self.value)

    def __exit__(self, *exc):
        setattr(self.module, self.name, self.old)


def write_report(results: List[Dict], baseline: Dict, args, profile_text: str) -> None:
    largest = max(results, key=lambda r: r["trainees"])
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# A training class at once, through the web app",
        "",
        f"Run {stamp} on {_cores()} cores shared with other work (compare figures within this run). "
        "One action server, one Rasa server (`python -m bot.rasa_main`), the web app (waitress); "
        "SQLite for our database and Rasa's tracker store. Each trainee signs in over HTTP with the "
        "form's CSRF token, all of a class start at once (`POST /api/session`), then reply through "
        f"`POST /api/message` {THINK_SECONDS:.0f} s after each answer: the {len(SCRIPT)} replies of "
        f"`bench.latency`'s script to the {PERSONA} customer of `{SCENARIO}`, at most {args.seconds:.0f} s per class.",
        "",
        "| actions | trainees | failed starts | errors | replies answered | p50 ms | p95 ms | turns/s | turns stored / answered |",
        "|---|---|---|---|---|---|---|---|---|",
        *(_row("coach", r) for r in results),
        _row("no-op", baseline),
        "",
        f"**Coach / no-op at {largest['trainees']} trainees: p50 {largest['p50'] / baseline['p50']:.2f}x, "
        f"p95 {largest['p95'] / baseline['p95']:.2f}x** (same run, same Rasa server and web app).",
        "",
    ]
    lines += [
        "CPU time per answered turn, per process (from /proc; steadier than wall times on a busy "
        "machine, though contention and the --profile sampler raise them too), and the turns/s they "
        "would allow on two otherwise idle cores: Rasa and the action server each use one core at a "
        "time (one event loop), the three processes share two.",
        "",
        "| actions | trainees | Rasa ms | action server ms | web app ms | all ms | turns/s these allow |",
        "|---|---|---|---|---|---|---|",
        *(_cpu_row(label, r) for label, r in [*(("coach", r) for r in results), ("no-op", baseline)]),
        "",
    ]
    problems = [(r["trainees"], r["start_problems"], r["error_kinds"]) for r in [*results, baseline]
                if r["start_problems"] or r["error_kinds"]]
    for size, starts, errors in problems:
        lines.append(f"- {size} trainees: failed starts {starts or 'none'}; errors {errors or 'none'}")
    if problems:
        lines.append("")
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"Written to {RESULTS.relative_to(PROJECT_ROOT)}")
    if profile_text:
        PROFILE_RESULTS.write_text(
            "# Where a turn's time goes under load (bench.sampling, main threads, coach runs)\n\n"
            f"Run {stamp}, `python -m bench.load --profile`. Shares are of the samples where the main thread "
            "was working (not waiting in the event loop).\n\n```\n" + profile_text + "\n```\n",
            encoding="utf-8",
        )
        print(profile_text)
        print(f"Written to {PROFILE_RESULTS.relative_to(PROJECT_ROOT)}")


def _cores() -> int:
    import os

    return os.cpu_count() or 1


if __name__ == "__main__":
    sys.exit(main())
