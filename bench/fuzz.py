"""A bounded fuzz run against the web app's API and Rasa's webhook, on loopback only.

Starts its own action server, Rasa server and web app on free loopback ports with a temporary
var folder, signs a trainee in, then sends seeded random requests: well-formed and broken JSON,
`null` and non-object bodies, wrong types, lone surrogates, control characters, over-long texts,
Rasa commands and typed intents, entities that are not strings, unknown sender ids, missing or
wrong secrets. Bounded in count (--requests per door) and in time (--max-seconds).

A pass has 0 answers with a 5xx status and 0 empty `200 []` answers (a 200 whose body, or whose
`messages`, is an empty list). Writes bench/results/fuzz.md and exits 1 on a failure.

    python -m bench.fuzz [--requests 1000] [--seed 16] [--max-seconds 1200]
"""
from __future__ import annotations

import argparse
import collections
import dataclasses
import json
import random
import re
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import requests

from bot import db
from bot.launcher import DEFAULT_MODEL, free_port, prepare_database, start_all
from bot.service_secret import HEADER, load_service_secret
from bot.settings import PROJECT_ROOT, load_settings

RESULTS = PROJECT_ROOT / "bench" / "results" / "fuzz.md"
SCENARIO = "laptop_at_home_service"
PASSWORD = "fuzzing pass phrase"

REPLIES = [
    "Hi Dana, I'm so sorry your laptop keeps crashing.",
    "I'll book a technician for tomorrow morning and call you by 5 pm today.",
    "That is not my fault, read the policy.",
    "So it blue-screens every day since it arrived?",
    "Thanks for your patience, Dana.",
]
ODD_TEXTS = [
    "", " ", "\t\n", "\x00", "\x07bell", "\x1b[31mred", "\u202eevil", "\ufeffbom", "\ud800", "a\udfffb",
    "\ud83d\ude00 emoji", "/restart", "/session_start", "/greet", "/end_session@0.1", "  /restart",
    '/start_scenario{"scenario": {"$ne": 1}}', '/start_scenario{"scenario": ["x"]}', "/start_scenario{",
    '/start_scenario{"scenario": "laptop_at_home_service", "persona": "angry", "mode": "coach", "x": 1}',
    "<script>alert(1)</script>", "' OR 1=1 --", "{{7*7}}", "%s%s%s", "\\", '"', "null", "[]",
]


def _random_text(rng: random.Random) -> str:
    kind = rng.random()
    if kind < 0.35:
        return rng.choice(REPLIES)
    if kind < 0.7:
        return rng.choice(ODD_TEXTS)
    if kind < 0.8:
        return "x" * rng.choice([1999, 2000, 2001, 5000, 200_000])
    return "".join(chr(rng.choice([rng.randrange(0x20, 0x7f), rng.randrange(0, 0x20), rng.randrange(0xa0, 0xd7ff),
                                   rng.randrange(0xd800, 0xe000), rng.randrange(0xe000, 0x110000)]))
                   for _ in range(rng.randrange(0, 60)))


def _json_raw(value: Any) -> str:
    # ensure_ascii keeps lone surrogates as \udxxx escapes, which is what a hostile client sends.
    return json.dumps(value, ensure_ascii=True)


def _random_value(rng: random.Random) -> Any:
    return rng.choice([None, 0, -1, 1.5, True, [], {}, {"$ne": 1}, ["a"], _random_text(rng)])


@dataclasses.dataclass
class Outcome:
    door: str
    label: str
    status: int
    body: str


class Fuzzer:
    def __init__(self, settings, rng: random.Random):
        self.settings = settings
        self.rng = rng
        self.secret = load_service_secret(settings.var_dir)
        self.web = requests.Session()
        self.outcomes: List[Outcome] = []

    # --- the web app ---------------------------------------------------------------------

    def sign_in(self, email: str) -> None:
        form = self.web.get(f"{self.settings.web_url}/signin", timeout=30).text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form).group(1)
        answer = self.web.post(f"{self.settings.web_url}/signin",
                               data={"csrf_token": token, "email": email, "password": PASSWORD}, timeout=30)
        if "/signin" in answer.url:
            raise RuntimeError("the fuzzing trainee could not sign in")

    def web_request(self) -> Outcome:
        rng = self.rng
        route = rng.choice(["message", "message", "message", "session", "end", "conversation", "scenarios", "raw"])
        url = f"{self.settings.web_url}/api/{'message' if route == 'raw' else route}"
        headers = {"Content-Type": "application/json"}
        if route in ("conversation", "scenarios"):
            response = self.web.get(url, timeout=60)
            return Outcome("web", f"GET /api/{route}", response.status_code, response.text)
        if route == "raw":
            raw = rng.choice(["null", "[]", "1", '"text"', "{", "", "\xff\xfe", '{"text": "\\ud800"}',
                              '{"text": "ok", "text": "dup"}', '{"text": ' + "[" * 500 + "]" * 500 + "}"])
            headers = rng.choice([headers, {"Content-Type": "text/plain"}, {}])
            response = self.web.post(url, data=raw.encode("utf-8", "surrogatepass"), headers=headers, timeout=60)
            return Outcome("web", "POST /api/message (raw body)", response.status_code, response.text)
        if route == "session":
            body: Dict[str, Any] = {
                "scenario": SCENARIO if rng.random() < 0.5 else _random_value(rng),
                "persona": rng.choice(["angry", "dispassionate", _random_value(rng)]),
                "mode": rng.choice(["coach", "assessment", _random_value(rng)]),
            }
        elif route == "message":
            body = {"text": _random_text(rng) if rng.random() < 0.9 else _random_value(rng)}
            if rng.random() < 0.3:
                body["message_id"] = rng.choice([uuid.uuid4().hex, "short", _random_value(rng)])
            if rng.random() < 0.1:
                body["conversation"] = _random_value(rng)
        else:
            body = {} if rng.random() < 0.7 else {"message_id": _random_value(rng)}
        response = self.web.post(url, data=_json_raw(body), headers=headers, timeout=60)
        return Outcome("web", f"POST /api/{route}", response.status_code, response.text)

    # --- Rasa's webhook ------------------------------------------------------------------

    def rasa_request(self, senders: List[str]) -> Outcome:
        rng = self.rng
        url = f"{self.settings.rasa_url}/webhooks/rest/webhook"
        headers = {"Content-Type": "application/json", HEADER: self.secret}
        secret_case = rng.random()
        if secret_case < 0.08:
            headers.pop(HEADER)
        elif secret_case < 0.12:
            headers[HEADER] = "guessed"
        shape = rng.random()
        if shape < 0.1:
            raw = rng.choice(["null", "[]", "1", '"x"', "{", "", '{"sender": null}', '{"message": "hi"}'])
        else:
            sender = rng.choice(senders) if rng.random() < 0.85 else _random_value(rng)
            if rng.random() < 0.15:
                message: Any = "/start_scenario" + json.dumps(
                    {"scenario": SCENARIO, "persona": rng.choice(["angry", "dispassionate"]), "mode": "coach"})
            elif rng.random() < 0.05:
                message = "/end_session"
            else:
                message = _random_text(rng) if rng.random() < 0.9 else _random_value(rng)
            body = {"sender": sender, "message": message}
            if rng.random() < 0.1:
                body.update(metadata=_random_value(rng), input_channel=_random_value(rng))
            raw = _json_raw(body)
        params = {"stream": "true"} if rng.random() < 0.03 else None
        response = requests.post(url, data=raw.encode("utf-8", "surrogatepass"), headers=headers, params=params,
                                 timeout=60)
        return Outcome("rasa", "POST webhook", response.status_code, response.text)


def _empty(outcome: Outcome) -> bool:
    if outcome.status != 200:
        return False
    try:
        body = json.loads(outcome.body)
    except ValueError:
        return False
    return body == [] or (isinstance(body, dict) and body.get("messages") == [])


def run(*, requests_per_door: int, seed: int, max_seconds: float) -> Tuple[List[Outcome], float, bool]:
    rng = random.Random(seed)
    with tempfile.TemporaryDirectory() as var_dir, ExitStack() as stack:
        settings = dataclasses.replace(
            load_settings(), host="127.0.0.1", rasa_port=free_port(), actions_port=free_port(),
            web_port=free_port(), var_dir=Path(var_dir),
        )
        start_all(stack, settings=settings, model=DEFAULT_MODEL)
        engine = db.make_engine(prepare_database(settings))
        with db.session_scope(engine) as session:
            db.create_user(session=session, email="fuzz@example.com", name="Fuzz", password=PASSWORD, role="trainee")
        engine.dispose()
        fuzzer = Fuzzer(settings, rng)
        fuzzer.sign_in("fuzz@example.com")
        senders = [f"fuzz-{n}" for n in range(8)]
        began = time.monotonic()
        web_left, rasa_left = requests_per_door, requests_per_door
        while (web_left or rasa_left) and time.monotonic() - began < max_seconds:
            door = rng.choice([d for d, left in (("web", web_left), ("rasa", rasa_left)) if left])
            outcome = fuzzer.web_request() if door == "web" else fuzzer.rasa_request(senders)
            fuzzer.outcomes.append(outcome)
            if door == "web":
                web_left -= 1
            else:
                rasa_left -= 1
        elapsed = time.monotonic() - began
        complete = not (web_left or rasa_left)
        return fuzzer.outcomes, elapsed, complete


def report(outcomes: List[Outcome], elapsed: float, complete: bool, *, seed: int, requests_per_door: int) -> str:
    lines = [
        "# Fuzz run: web app API and Rasa webhook",
        "",
        f"{datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}, `python -m bench.fuzz --requests {requests_per_door} --seed {seed}`, "
        f"{len(outcomes)} requests in {elapsed:.0f} s{'' if complete else ' (stopped by --max-seconds)'}.",
        "",
        "| door | requests | 5xx | empty `200 []` | statuses |",
        "|---|---|---|---|---|",
    ]
    for door in ("web", "rasa"):
        mine = [o for o in outcomes if o.door == door]
        statuses = collections.Counter(o.status for o in mine)
        lines.append(
            f"| {'web app /api/*' if door == 'web' else 'Rasa /webhooks/rest/webhook'} | {len(mine)} | "
            f"{sum(o.status >= 500 for o in mine)} | {sum(_empty(o) for o in mine)} | "
            + ", ".join(f"{s}: {n}" for s, n in sorted(statuses.items())) + " |"
        )
    bad = [o for o in outcomes if o.status >= 500 or _empty(o)]
    lines += ["", f"Failures: {len(bad)}."]
    for o in bad[:20]:
        lines.append(f"- {o.door} {o.label}: {o.status} {o.body[:200]!r}")
    return "\n".join(lines) + "\n"


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--requests", type=int, default=1000, help="requests to each door (web app, Rasa)")
    parser.add_argument("--seed", type=int, default=16)
    parser.add_argument("--max-seconds", type=float, default=1200.0)
    args = parser.parse_args(argv)
    if not DEFAULT_MODEL.exists():
        print(f"No trained model at {DEFAULT_MODEL}: run `make train` first.", file=sys.stderr)
        return 2
    outcomes, elapsed, complete = run(requests_per_door=args.requests, seed=args.seed, max_seconds=args.max_seconds)
    text = report(outcomes, elapsed, complete, seed=args.seed, requests_per_door=args.requests)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    failed = any(o.status >= 500 or _empty(o) for o in outcomes)
    return 1 if failed or not complete else 0


if __name__ == "__main__":
    sys.exit(main())
