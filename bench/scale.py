"""Scale-out and self-healing benchmark (`make bench-scale`): PostgreSQL and Redis on loopback,
`python -m bot.launcher` with COACH_RASA_INSTANCES=1 and 2, 40 signed-in trainees playing the
12-reply script of bench/latency.py and ending the session through the web app.

With --kill (the default run does it in its last pass) one Rasa server is killed with SIGKILL
while the class is replying and later the action server of the other. Each trainee then does
what the chat page does: a reply that got an error is sent again under the same message id
(1, 2, 4 ... 15 s apart) until it is answered. Reported: replies answered vs turns stored (and
any answered turn not stored, or stored twice), replies that got an error and which, the
longest wait of a trainee for one answer (the longest interruption), whether every
conversation finished with a scorecard, whether the killed services came back by themselves,
turns/s, and the timeline of the slowest replies (each send: when, how long, what came back),
which is where a long wait shows what it was spent on.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional

import requests
from sqlalchemy import select

from bench.latency import PERSONA, SCENARIO, SCRIPT, percentile
from bench.load import THINK_SECONDS, Trainee, create_trainees, sign_in
from bot import db
from bot.launcher import free_port_run
from bot.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results" / "scale.md"
POSTGRES_ADMIN = os.environ.get("COACH_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("COACH_TEST_REDIS_URL", "redis://127.0.0.1:6379/0")
RETRY_DELAYS = [1, 2, 4, 8, 15]  # the chat page's automatic retries, then every 15 s
GIVE_UP_AFTER = 180.0
# While the class is replying (40 trainees take about a minute here).
KILL_RASA_AT, KILL_ACTIONS_AT = 10.0, 25.0  # seconds one reply may take, retries included, before the run calls it lost


@dataclass
class Attempt:
    """One send of a reply: when it left (time.monotonic()), how long it took, what came back."""
    sent: float
    took: float
    outcome: str


@dataclass
class Reply:
    text: str
    waited: float = 0.0
    errors: List[str] = field(default_factory=list)
    turn: Optional[int] = None
    answered: bool = False
    attempts: List[Attempt] = field(default_factory=list)


@dataclass
class Practice:
    trainee: Trainee
    replies: List[Reply] = field(default_factory=list)
    finished: bool = False
    session_id: Optional[str] = None
    problem: Optional[str] = None
    odd: List[str] = field(default_factory=list)


def _payloads(messages, kind):
    return [m["payload"] for m in messages if m["kind"] == "custom" and m["payload"].get("type") == kind]


def _send(http, url, body, reply: Reply) -> Optional[List[Dict]]:
    """Send until answered, as the page does; the answer's messages, or None after GIVE_UP_AFTER."""
    began = time.monotonic()
    attempt = 0
    while time.monotonic() - began < GIVE_UP_AFTER:
        sent = time.monotonic()
        try:
            answer = http.post(url, json=body, timeout=60)
            data = answer.json() if answer.headers.get("content-type", "").startswith("application/json") else {}
            if answer.status_code == 200 and not _payloads(data.get("messages", []), "error"):
                reply.waited = time.monotonic() - began
                reply.attempts.append(Attempt(sent, time.monotonic() - sent, "answered"))
                return data["messages"]
            code = data.get("error", {}).get("code") or ",".join(p.get("code", "?") for p in _payloads(data.get("messages", []), "error"))
            reply.errors.append(f"HTTP {answer.status_code} {code}".strip())
        except requests.RequestException as exc:
            reply.errors.append(exc.__class__.__name__)
        reply.attempts.append(Attempt(sent, time.monotonic() - sent, reply.errors[-1]))
        time.sleep(RETRY_DELAYS[min(attempt, len(RETRY_DELAYS) - 1)])
        attempt += 1
    reply.waited = time.monotonic() - began
    return None


def practise(web: str, practice: Practice, ready: threading.Barrier) -> None:
    try:
        http = sign_in(web, practice.trainee)
    except (requests.RequestException, RuntimeError) as exc:
        practice.problem = f"sign-in: {exc}"
        ready.wait()
        return
    ready.wait()
    start = Reply(text="(start)")
    messages = _send(http, f"{web}/api/session", {"scenario": SCENARIO, "persona": PERSONA, "mode": "coach"}, start)
    if messages is None:
        practice.problem = f"start: {start.errors[-1:]}"
        return
    practice.session_id = _payloads(messages, "session_started")[0]["session_id"]
    for text in SCRIPT + ["(end)"]:
        time.sleep(THINK_SECONDS)
        reply = Reply(text=text)
        practice.replies.append(reply)
        if text == "(end)":
            messages = _send(http, f"{web}/api/end", {"message_id": uuid.uuid4().hex}, reply)
            practice.finished = bool(messages and _payloads(messages, "scorecard"))
            reply.answered = practice.finished
            return
        messages = _send(http, f"{web}/api/message", {"text": text, "message_id": uuid.uuid4().hex}, reply)
        if messages is None:
            practice.problem = f"reply {len(practice.replies)} never answered"
            return
        feedback = _payloads(messages, "feedback")
        reply.answered = True
        reply.turn = feedback[0]["turn"] if feedback else None
        if not feedback and not _payloads(messages, "scorecard"):  # every coach-mode reply gets feedback
            practice.odd.append(f"reply {len(practice.replies)} answered without feedback: "
                                + json.dumps(messages)[:300])
        if _payloads(messages, "scorecard"):  # the customer ended it (turn limit)
            practice.finished = True
            return



def _database(name: str) -> str:
    import psycopg2
    from psycopg2 import sql
    from sqlalchemy.engine import make_url

    admin = psycopg2.connect(POSTGRES_ADMIN, connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    admin.close()
    return make_url(POSTGRES_ADMIN).set(database=name).render_as_string(hide_password=False)


def _drop(name: str) -> None:
    import psycopg2
    from psycopg2 import sql

    admin = psycopg2.connect(POSTGRES_ADMIN, connect_timeout=5)
    admin.autocommit = True
    with admin.cursor() as cursor:
        cursor.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
    admin.close()


def _groups(var: Path, pid: int) -> Dict[str, int]:
    record = json.loads((var / "processes" / f"launcher-{pid}.json").read_text())
    return {g["name"]: g["pgid"] for g in record["groups"]}  # the newest process of each name


def _up(url: str) -> bool:
    try:
        return requests.get(url, timeout=3).status_code == 200
    except requests.RequestException:
        return False


def run(instances: int, trainees: int, kill: bool) -> Dict:
    tag = uuid.uuid4().hex[:10]
    data_db, tracker_db = f"coach_scale_{tag}", f"coach_scale_tracker_{tag}"
    database_url = _database(data_db).replace("postgresql://", "postgresql+psycopg2://", 1)
    tracker_url = _database(tracker_db)
    var = Path(tempfile.mkdtemp(prefix="coach-scale-"))
    rasa_port, actions_port, web_port = free_port_run(instances), free_port_run(instances), free_port_run(1)
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACH_")}
    env.update(
        PYTHONPATH=str(PROJECT_ROOT), COACH_HOST="127.0.0.1", COACH_VAR_DIR=str(var),
        COACH_RASA_PORT=str(rasa_port), COACH_ACTIONS_PORT=str(actions_port), COACH_WEB_PORT=str(web_port),
        COACH_RASA_INSTANCES=str(instances), COACH_DATABASE_URL=database_url,
        COACH_TRACKER_DB_URL=tracker_url, COACH_LOCK_STORE_URL=REDIS_URL,
    )
    out_path = var / "launcher.out"
    print(f"    logs in {var}", flush=True)
    with open(out_path, "wb") as out:
        launcher = subprocess.Popen([sys.executable, "-m", "bot.launcher"], cwd=PROJECT_ROOT, env=env,
                                    stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    web = f"http://127.0.0.1:{web_port}"
    events: List[str] = []
    try:
        deadline = time.monotonic() + 600
        while "The assistant is up." not in out_path.read_text(errors="replace"):
            if launcher.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"The launcher did not start:\n{out_path.read_text(errors='replace')[-3000:]}")
            time.sleep(1)
        class_ = [Practice(t) for t in create_trainees(database_url, trainees)]
        ready = threading.Barrier(trainees + 1)
        threads = [threading.Thread(target=practise, args=(web, p, ready)) for p in class_]
        for thread in threads:
            thread.start()
        ready.wait()
        began = time.monotonic()
        back = {}
        if kill:
            killer = threading.Thread(target=_kill_plan, args=(var, launcher.pid, instances, rasa_port, actions_port,
                                                                began, events, back))
            killer.start()
        for thread in threads:
            thread.join()
        wall = time.monotonic() - began
        if kill:
            killer.join()
        stored = _stored(database_url, [p.session_id for p in class_ if p.session_id])
        launcher_lines = [line for line in out_path.read_text(errors="replace").splitlines()
                          if "exited (" in line or "restarted (pid" in line]
    finally:
        launcher.send_signal(signal.SIGTERM)
        try:
            launcher.wait(timeout=120)
        except subprocess.TimeoutExpired:
            os.killpg(launcher.pid, signal.SIGKILL)
        for name in (data_db, tracker_db):
            _drop(name)
    replies = [r for p in class_ for r in p.replies]
    answered = [(p.session_id, r.turn) for p in class_ for r in p.replies if r.answered and r.turn is not None]
    stored_keys = [(s, n) for s, n, _ in stored]
    waits = [r.waited for r in replies if r.answered]
    return {
        "instances": instances, "trainees": trainees, "kill": kill,
        "answered": len(answered), "stored": len(stored_keys),
        "lost": len(set(answered) - set(stored_keys)),
        "stored_twice": len(stored_keys) - len(set(stored_keys)),
        "stored_unanswered": len(set(stored_keys) - set(answered)),
        "replies_with_error": sum(1 for r in replies if r.errors),
        "errors": sorted({e for r in replies for e in r.errors}),
        "longest_wait": max(waits) if waits else float("nan"),
        "p95_wait": percentile(waits, 95) if waits else float("nan"),
        "finished": sum(1 for p in class_ if p.finished),
        "problems": sorted({p.problem for p in class_ if p.problem} | {o for p in class_ for o in p.odd}),
        "turns_per_second": len(answered) / wall if wall else 0.0,
        "wall": wall, "events": events, "launcher_lines": launcher_lines, "back": back,
        "slowest": [_timeline(r, began) for r in sorted(replies, key=lambda r: -r.waited)[:SLOWEST_SHOWN]],
    }


# The replies whose timelines the report shows: enough to see every kind of wait after a kill.
SLOWEST_SHOWN = 5


def _timeline(reply: Reply, began: float) -> str:
    """`12.0 s wait: 10.3+9.1 s HTTP 503 rasa_down, 20.4+1.6 s answered` (send time from the run's start + duration)."""
    steps = ", ".join(f"{a.sent - began:.1f}+{a.took:.1f} s {a.outcome}" for a in reply.attempts)
    return f"{reply.waited:.1f} s wait for {reply.text[:30]!r}: {steps}"


def _kill_plan(var, launcher_pid, instances, rasa_port, actions_port, began, events, back) -> None:
    """SIGKILL Rasa server 2 (or the only one) KILL_RASA_AT s in, then the other's action server
    KILL_ACTIONS_AT s in (whether or not the first is back); note when each answers again."""
    rasa_name = "Rasa server 2" if instances > 1 else "Rasa server"
    plan = [(KILL_RASA_AT, rasa_name, f"http://127.0.0.1:{rasa_port + (1 if instances > 1 else 0)}/"),
            (KILL_ACTIONS_AT, "Action server", f"http://127.0.0.1:{actions_port}/health")]
    watchers = []
    for at, name, health in plan:
        time.sleep(max(0.0, began + at - time.monotonic()))
        pgid = _groups(var, launcher_pid)[name]
        os.kill(pgid, signal.SIGKILL)
        events.append(f"{time.monotonic() - began:.0f} s: SIGKILL {name} (pid {pgid})")
        watcher = threading.Thread(target=_watch_return, args=(name, health, time.monotonic(), began, events, back))
        watcher.start()
        watchers.append(watcher)
    for watcher in watchers:
        watcher.join()


def _watch_return(name, health, killed, began, events, back) -> None:
    time.sleep(2)  # the killed process's port may answer a last time
    while not _up(health) and time.monotonic() < killed + 300:
        time.sleep(1)
    back[name] = time.monotonic() - killed if _up(health) else None
    events.append(f"{time.monotonic() - began:.0f} s: {name} answers again, {back[name]:.0f} s after the kill"
                  if back[name] else f"{name} never came back")


def _stored(database_url: str, session_ids: List[str]):
    engine = db.make_engine(database_url)
    with db.session_scope(engine) as session:
        rows = session.execute(select(db.Turn.session_id, db.Turn.number, db.Turn.trainee_text)
                               .where(db.Turn.session_id.in_(session_ids))).all()
    engine.dispose()
    return [tuple(r) for r in rows]


def _row(r: Dict) -> str:
    label = f"{r['instances']} instance{'s' if r['instances'] > 1 else ''}" + (", kills" if r["kill"] else "")
    return (f"| {label} | {r['trainees']} | {r['finished']}/{r['trainees']} | {r['answered']} | {r['stored']} | "
            f"{r['lost']} | {r['stored_twice']} | {r['stored_unanswered']} | {r['replies_with_error']} | {r['p95_wait']:.1f} | "
            f"{r['longest_wait']:.1f} | {r['turns_per_second']:.1f} | {r['wall']:.0f} |")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--trainees", type=int, default=40)
    parser.add_argument("--runs", default="1,2,2k",
                        help="comma list of runs: N instances, with 'k' for the kills (default 1,2,2k)")
    args = parser.parse_args(argv)
    results = []
    for spec in args.runs.split(","):
        kill = spec.endswith("k")
        instances = int(spec.rstrip("k"))
        print(f"Run: {instances} instance(s), {args.trainees} trainees{', with kills' if kill else ''}...", flush=True)
        result = run(instances, args.trainees, kill)
        results.append(result)
        print(_row(result), flush=True)
        for line in result["events"] + result["launcher_lines"] + result["errors"] + result["problems"]:
            print("   ", line, flush=True)
        for line in result["slowest"]:
            print("    slowest:", line, flush=True)
    write_report(results, args)
    print(f"Written to {RESULTS}")
    return 0


def write_report(results: List[Dict], args) -> None:
    lines = [
        "# Several Rasa servers, and services killed mid-run",
        "",
        f"`make bench-scale` (`python -m bench.scale --trainees {args.trainees} --runs {args.runs}`), "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, on a shared 2-core machine. PostgreSQL "
        "(trackers and our data, fresh databases per run) and Redis (lock store, web app cache) on loopback; "
        "`python -m bot.launcher` starts everything. Each trainee signs in, starts a session, sends the 12 "
        f"replies of bench/latency.py {THINK_SECONDS:.0f} s after each answer and ends the session; a reply "
        "that got an error is sent again under the same message id, 1, 2, 4, 8, 15 s apart, as the chat page does. "
        f"In a run with kills, one Rasa server is killed with SIGKILL {KILL_RASA_AT:.0f} s in, and the other one's "
        f"action server {KILL_ACTIONS_AT:.0f} s in; nobody restarts them but the launcher.",
        "",
        "| run | trainees | finished | turns answered | turns stored | answered, not stored | stored twice | "
        "stored, no answer seen | replies with an error | p95 wait (s) | longest wait (s) | turns/s | wall (s) |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    lines += [_row(r) for r in results]
    for r in results:
        if r["events"] or r["errors"] or r["problems"]:
            lines += ["", f"**{r['instances']} instance(s){' with kills' if r['kill'] else ''}**:"]
            lines += [f"- {e}" for e in r["events"]]
            lines += [f"- launcher: `{l.strip()}`" for l in r["launcher_lines"]]
            if r["errors"]:
                lines.append("- errors the trainees saw (then retried): " + ", ".join(f"`{e}`" for e in r["errors"]))
            lines += [f"- problem: {p}" for p in r["problems"]]
            lines.append("- slowest replies (each send: seconds after the start + seconds it took, then its outcome):")
            lines += [f"  - {t}" for t in r["slowest"]]
    lines += [
        "",
        "A wait is from a reply's first send to its answer, retries included; the longest one is the "
        "longest interruption a trainee saw. Turns/s is answered replies over the run's wall time, think "
        "time included, so it is bounded by the class size: 40 trainees thinking 1 s cannot exceed 40/s.",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
