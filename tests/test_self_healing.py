"""The stack heals itself: `python -m bot.launcher` (what `make run` starts) on free ports; the
action server it started is killed with SIGKILL mid-conversation; the trainee is told to retry,
the launcher says so and restarts it with nobody acting, the others keep running, and the
conversation goes on through the web app with every answered turn stored once."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from bot import db
from bot.launcher import DEFAULT_MODEL, free_port
from bot.settings import PROJECT_ROOT

pytestmark = pytest.mark.e2e

CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
PASSWORD = "practice makes perfect"
REPLIES = [
    "Hello Marcus, I'm sorry your repair was refused.",
    "What exactly did the repair centre tell you about the water damage?",
    "I'll call the repair centre today and email you by 4 pm.",
]


def _wait_for(predicate, timeout: float, what: str, launcher_log: Path):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(0.5)
    pytest.fail(f"{what} within {timeout:.0f} s. Launcher output:\n{launcher_log.read_text(errors='replace')[-3000:]}")


@pytest.fixture
def launched(tmp_path):
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"No trained model at {DEFAULT_MODEL}: `make train` first.")
    env = {k: v for k, v in os.environ.items() if not k.startswith("COACH_")}  # one instance on SQLite
    ports = {"rasa": free_port(), "actions": free_port(), "web": free_port()}
    env.update(COACH_HOST="127.0.0.1", COACH_VAR_DIR=str(tmp_path), COACH_RASA_PORT=str(ports["rasa"]),
               COACH_ACTIONS_PORT=str(ports["actions"]), COACH_WEB_PORT=str(ports["web"]),
               PYTHONPATH=str(PROJECT_ROOT))
    log_path = tmp_path / "launcher.out"
    with open(log_path, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "bot.launcher"], cwd=PROJECT_ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(lambda: process.poll() is not None or "The assistant is up." in log_path.read_text(errors="replace"),
                  420, "The launcher did not say the assistant is up", log_path)
        assert process.poll() is None, log_path.read_text(errors="replace")
        yield {"process": process, "log": log_path, "var": tmp_path, "ports": ports}
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)  # the launcher stops its services in order
            try:
                process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)


def _groups(var_dir: Path, launcher_pid: int):
    record = json.loads((var_dir / "processes" / f"launcher-{launcher_pid}.json").read_text())
    return record["groups"]


def test_a_killed_action_server_comes_back_by_itself_and_the_conversation_goes_on(launched):
    var, ports, log_path = launched["var"], launched["ports"], launched["log"]
    web = f"http://127.0.0.1:{ports['web']}"
    database_url = f"sqlite:///{var / db.engine.SQLITE_FILE_NAME}"
    engine = db.make_engine(database_url)
    email = f"heal-{uuid.uuid4().hex[:10]}@example.com"
    with db.session_scope(engine, write=True) as session:
        db.create_user(session=session, email=email, name="Heal Trainee", password=PASSWORD)
    http = requests.Session()
    token = CSRF.search(http.get(f"{web}/signin", timeout=30).text).group(1)
    assert http.post(f"{web}/signin", data={"email": email, "password": PASSWORD, "csrf_token": token},
                     allow_redirects=False, timeout=30).status_code in (302, 303)
    started = http.post(f"{web}/api/session", json={"scenario": "phone_warranty_water_damage", "persona": "angry",
                                                     "mode": "coach"}, timeout=120)
    assert started.status_code == 200, started.text
    conversation = started.json()["conversation"]
    session_id = next(m["payload"]["session_id"] for m in started.json()["messages"]
                      if m["kind"] == "custom" and m["payload"].get("type") == "session_started")

    def reply(text: str, message_id: str) -> requests.Response:
        return http.post(f"{web}/api/message", json={"text": text, "message_id": message_id,
                                                     "conversation": conversation}, timeout=120)

    assert reply(REPLIES[0], "heal-reply-1").status_code == 200
    actions = next(g for g in _groups(var, launched["process"].pid) if g["name"] == "Action server")
    others = {g["name"]: g["pgid"] for g in _groups(var, launched["process"].pid) if g["name"] != "Action server"}
    os.kill(actions["pgid"], signal.SIGKILL)

    # While it is down: a clear message to retry, not a silent customer.
    down = reply(REPLIES[1], "heal-reply-2")
    if down.status_code != 200:  # it may already be back on a fast machine
        assert down.status_code in (502, 503)
        assert "Try again" in down.json()["error"]["message"]

    _wait_for(lambda: "Action server exited (killed by SIGKILL); restarting in" in log_path.read_text(errors="replace"),
              30, "The launcher did not report the dead action server", log_path)

    def actions_up() -> bool:
        try:
            return requests.get(f"http://127.0.0.1:{ports['actions']}/health", timeout=3).status_code == 200
        except requests.RequestException:
            return False

    _wait_for(actions_up, 180, "The action server did not come back", log_path)
    assert launched["process"].poll() is None, "the launcher exited"
    for name, pgid in others.items():
        os.kill(pgid, 0)  # still the same process: raises if it died

    # The trainee retries the same message and goes on.
    if down.status_code != 200:
        again = reply(REPLIES[1], "heal-reply-2")
        assert again.status_code == 200, again.text
    last = reply(REPLIES[2], "heal-reply-3")
    assert last.status_code == 200, last.text
    with db.session_scope(engine) as session:
        transcript = db.get_transcript(session=session, session_id=session_id)
        texts = [t.trainee_text for t in transcript.turns]
    engine.dispose()
    assert texts == REPLIES, texts  # every answered turn stored, none twice
