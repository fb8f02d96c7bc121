"""Turn latency through the REST protocol, against the same stack with no-op actions.

Plays a scripted 12-turn conversation on two identical stacks at once, each a Rasa server
(started the same way, same model) with its action server: the real one, and one whose actions
answer at once. The two conversations go turn by turn in step, the stack that goes first
alternating, so a machine that slows down for a while (these are shared) slows both alike:
run one after the other, the coach/no-op ratio of one run once came out 1.75x and of the next
1.32x. Reports p50/p95 per turn, their ratio, the latency of each turn number (does turn 11
cost what turn 2 costs?), the CPU time each Rasa and action server used per timed turn (from
/proc; the start and end messages included), and the size of one conversation's events in
Rasa's tracker store. Every timed turn is checked to be a real turn: the customer answers,
with feedback for that turn and no error.
Machines here are shared and noisy: compare ratios from one run, not absolute times across runs.

    python -m bench.latency [--conversations 20] [--profile] [--timing]

With --profile, both Rasa servers and the coach action server run under bench.sampling, and the
profile of their main threads during the timed conversations goes to bench/results/latency-profile.md.
With --timing, each action server logs how long it spent handling each request
(bot.action_server's COACH_ACTIONS_TIMING_LOG), and a table splits each timed turn into the
action server's handling of `action_customer_reply` and the rest (Rasa and the HTTP between).
"""
from __future__ import annotations

import argparse
import dataclasses
import os
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List

from bench import sampling
from bench.cpu import cpu_seconds
from bot.action_server import TIMING_LOG_ENV
from bot.launcher import DEFAULT_MODEL, actions_service, free_port, prepare_database, rasa_service, write_endpoints
from bot.rasa_client import END_COMMAND, RasaRestClient, start_command
from bot.settings import PROJECT_ROOT, load_settings

RESULTS = PROJECT_ROOT / "bench" / "results" / "latency.md"
PROFILE_RESULTS = PROJECT_ROOT / "bench" / "results" / "latency-profile.md"
SCENARIO, PERSONA = "laptop_at_home_service", "angry"
# Twelve replies to the angry Dana (turn limit 12): no plan until the last one, so the customer
# stays in the conversation for eleven turns and accepts the plan at the twelfth.
SCRIPT = [
    "Hi Dana, thanks for getting in touch, my name is Sam.",
    "So your laptop has crashed every day since it arrived, and nobody called you back after three calls?",
    "I'm really sorry about that, it must be exhausting to lose your work every day.",
    "What happens on the screen right before it crashes?",
    "When did you buy the laptop, and which model is it?",
    "If I understand you, the at-home service you paid for never happened at all.",
    "I apologise that you had to chase us three times for a call back.",
    "Does it crash when it is on battery as well, or only when it is plugged in?",
    "Have you been able to save your work at all, or did you lose files?",
    "So the blue screens kept coming back even after the updates were installed.",
    "Thank you for explaining all of that so clearly, Dana.",
    "I'll book a technician to visit you tomorrow morning and I'll call you by 5 pm today to confirm the time.",
]

# The same script with turns 2 and 11 swapped, played in every other conversation: the same
# reply is then timed at turn 2 and at turn 11, so the growth from turn 2 to turn 11 is the
# conversation's length, not what one reply costs to check more than another.
SWAPPED = [*SCRIPT[:1], SCRIPT[10], *SCRIPT[2:10], SCRIPT[1], *SCRIPT[11:]]
EARLY, LATE = 2, 11


class NotARealTurn(RuntimeError):
    """A timed message was not answered as a trainee turn: the figures would measure something else."""


def percentile(values: List[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def check_turn(answer: List[Dict[str, Any]], number: int, *, real_actions: bool) -> bool:
    """Raise NotARealTurn unless `answer` is the customer's answer to turn `number`; True if it ended."""
    texts = RasaRestClient.texts(answer)
    errors = RasaRestClient.payloads(answer, "error")
    if errors or not texts:
        raise NotARealTurn(f"turn {number} was answered with {errors or answer!r}, not by the customer")
    if not real_actions:
        return False
    feedback = RasaRestClient.payloads(answer, "feedback")
    if [f.get("turn") for f in feedback] != [number]:
        raise NotARealTurn(f"turn {number} got feedback for turns {[f.get('turn') for f in feedback]}")
    return bool(RasaRestClient.payloads(answer, "scorecard"))


@dataclasses.dataclass
class Stack:
    """A Rasa server with its own action server (and tracker store), one of the two compared."""

    label: str
    package: str
    settings: Any
    tracker_db: Path
    timing_log: Path
    rasa: Any = None
    actions: Any = None

    @property
    def real(self) -> bool:
        return self.package == "actions"


def play(stacks: List[Stack], conversations: int) -> Dict[str, Dict[str, Any]]:
    """Milliseconds per trainee turn on each stack, by turn number (start and end messages are not timed).

    Each conversation is played on every stack, turn by turn in step; which stack goes first
    alternates with each turn, so neither is always timed right after the other's work.
    """
    played = {
        stack.label: {"by_turn": {number: [] for number in range(1, len(SCRIPT) + 1)}, "by_reply": {},
                      "senders": [], "in_order": []}
        for stack in stacks
    }
    for index in range(conversations):
        script = SWAPPED if index % 2 else SCRIPT
        clients = {}
        for stack in stacks:
            client = RasaRestClient(stack.settings.rasa_url, sender=f"bench-{uuid.uuid4().hex[:10]}",
                                    var_dir=stack.settings.var_dir)
            if not client.texts(client.send(start_command(SCENARIO, PERSONA, "coach"))):
                raise RuntimeError(f"the start message got no answer from the customer ({stack.label})")
            clients[stack.label] = client
            played[stack.label]["senders"].append(client.sender)
        for number, line in enumerate(script, start=1):
            for stack in stacks if (index + number) % 2 else stacks[::-1]:
                client, results = clients[stack.label], played[stack.label]
                began = time.perf_counter()
                answer = client.send(line)
                elapsed = (time.perf_counter() - began) * 1000
                results["by_turn"][number].append(elapsed)
                results["in_order"].append(elapsed)
                if number in (EARLY, LATE):
                    results["by_reply"].setdefault((line, number), []).append(elapsed)
                ended = check_turn(answer, number, real_actions=stack.real)
                if ended and number < len(SCRIPT):
                    raise NotARealTurn(f"the customer ended the conversation at turn {number}; the script needs {len(SCRIPT)}")
        for client in clients.values():
            client.send(END_COMMAND)
    return played


def split_turns(timing_log: Path, in_order: List[float]) -> Dict[str, List[float]]:
    """Each timed turn's ms in the action server's reply handler and outside it (bot.action_server's log)."""
    handler, prepare = [], []
    for line in timing_log.read_text(encoding="utf-8").splitlines():
        path, action, _, ms = line.split()
        if path == "/webhook" and action == "action_customer_reply":
            handler.append(float(ms))
        elif path == "/prepare":
            prepare.append(float(ms))
    if len(handler) != len(in_order):
        raise RuntimeError(f"{len(handler)} reply calls logged for {len(in_order)} timed turns")
    return {"action server": handler, "Rasa and HTTP": [total - ms for total, ms in zip(in_order, handler)],
            "prepare (overlapped)": prepare}


def growth(by_reply: Dict[tuple, List[float]]) -> float:
    """Turn 11 / turn 2 for the same replies: the geometric mean over the two swapped replies."""
    ratios = [
        statistics.median(by_reply[(line, LATE)]) / statistics.median(by_reply[(line, EARLY)])
        for line in (SCRIPT[EARLY - 1], SCRIPT[LATE - 1])
        if by_reply.get((line, LATE)) and by_reply.get((line, EARLY))
    ]
    return statistics.geometric_mean(ratios) if ratios else float("nan")


def summary(by_turn: Dict[int, List[float]]) -> Dict[str, float]:
    timings = [ms for values in by_turn.values() for ms in values]
    return {
        "turns": len(timings),
        "p50": statistics.median(timings),
        "p95": percentile(timings, 95),
        "mean": statistics.fmean(timings),
    }


def tracker_bytes(tracker_db: Path, sender: str) -> Counter:
    """Bytes of one conversation's events in Rasa's SQLite tracker store, by event type."""
    with sqlite3.connect(tracker_db) as connection:
        rows = connection.execute("SELECT type_name, data FROM events WHERE sender_id = ?", (sender,)).fetchall()
    sizes: Counter = Counter()
    for type_name, data in rows:
        sizes[type_name] += len(data.encode("utf-8"))
    return sizes


def timing_table(splits: Dict[str, Dict[str, List[float]]]) -> List[str]:
    if not splits:
        return []
    rows = [
        f"| {label} | {part} | {len(values)} | {statistics.median(values):.1f} | {percentile(values, 95):.1f} |"
        for label, parts in splits.items() for part, values in parts.items() if values
    ]
    return ["## Where a turn's time goes (--timing)", "",
            "The action server's time from its request to its response middleware; the rest is Rasa and the HTTP "
            "in between. Percentiles of each part on its own, so they do not add up.", "",
            "| action server | part | n | p50 ms | p95 ms |", "|---|---|---|---|---|", *rows, ""]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="sample Rasa and the coach action server (bench.sampling)")
    parser.add_argument("--timing", action="store_true", help="split each turn into action server and the rest")
    args = parser.parse_args(argv)
    if not DEFAULT_MODEL.exists():
        print(f"No trained model at {DEFAULT_MODEL}: run `make train` first.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as var_dir, ExitStack() as exits:
        base = dataclasses.replace(load_settings(), host="127.0.0.1", var_dir=Path(var_dir))
        prepare_database(base)
        stacks = []
        for label, package in (("coach actions", "actions"), ("no-op actions", "bench.noop_actions")):
            settings = dataclasses.replace(base, rasa_port=free_port(), actions_port=free_port())
            stacks.append(Stack(label, package, settings, base.var_dir / f"tracker-{package}.db",
                                base.var_dir / f"timing-{package}.log"))
        profiles = {}
        for stack in stacks:
            endpoints = write_endpoints(settings=stack.settings, actions_url=stack.settings.actions_url,
                                        tracker_db=stack.tracker_db)
            rasa = rasa_service(settings=stack.settings, model=DEFAULT_MODEL, endpoints=endpoints,
                                name=f"Rasa server ({stack.label})")
            if args.timing:
                os.environ[TIMING_LOG_ENV] = str(stack.timing_log)
            actions = actions_service(settings=stack.settings, package=stack.package)
            os.environ.pop(TIMING_LOG_ENV, None)
            if args.profile:
                rasa_name = "Rasa server" if stack.real else "Rasa server with no-op actions"
                profiles[rasa_name] = base.var_dir / f"rasa-{stack.package}.json"
                rasa = sampling.sampled(rasa, profiles[rasa_name])
                if stack.real:
                    profiles["Action server"] = base.var_dir / "actions-profile.json"
                    actions = sampling.sampled(actions, profiles["Action server"])
            stack.rasa = exits.enter_context(rasa.start())
            stack.actions = exits.enter_context(actions.start())
        for stack in stacks:
            stack.actions.wait_until_up()
            stack.rasa.wait_until_up()
        play(stacks, args.warmup)
        before = sampling.snapshots(profiles) if args.profile else {}
        for stack in stacks:
            stack.timing_log.unlink(missing_ok=True)
        services = {(stack.label, part): service for stack in stacks
                    for part, service in (("Rasa", stack.rasa), ("actions", stack.actions))}
        cpu_before = {key: cpu_seconds(service.process.pid) for key, service in services.items()}
        played = play(stacks, args.conversations)
        cpu: Dict[str, Dict[str, float]] = {}
        for (label, part), service in services.items():
            timed = sum(len(values) for values in played[label]["by_turn"].values())
            cpu.setdefault(label, {})[part] = (cpu_seconds(service.process.pid) - cpu_before[(label, part)]) * 1000 / timed
        profile_text = ""
        if args.profile:
            profile_text = "\n\n".join(
                sampling.report(sampling.difference(after, before.get(name)), name, 20)
                for name, after in sampling.snapshots(profiles).items()
            )
        results = {label: summary(values["by_turn"]) for label, values in played.items()}
        per_turn = {label: values["by_turn"] for label, values in played.items()}
        growths = {label: growth(values["by_reply"]) for label, values in played.items()}
        splits = {stack.label: split_turns(stack.timing_log, played[stack.label]["in_order"])
                  for stack in stacks if args.timing}
        coach = next(stack for stack in stacks if stack.real)
        sizes = tracker_bytes(coach.tracker_db, played[coach.label]["senders"][-1])
        for label in results:
            print(f"{label}: {results[label]}, CPU ms per turn {cpu[label]}", flush=True)
    real, noop = results["coach actions"], results["no-op actions"]
    ratio_p50, ratio_p95 = real["p50"] / noop["p50"], real["p95"] / noop["p95"]
    coach_turns = per_turn["coach actions"]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Turn latency through the REST protocol",
        "",
        f"Run {stamp}; {args.conversations} conversations of {len(SCRIPT)} trainee replies each (the {PERSONA} "
        f"customer of `{SCENARIO}`, who accepts the plan at the last reply), after {args.warmup} warm-up "
        "conversations, on two identical Rasa servers (started by `python -m bot.rasa_main`, same model), one "
        "with the coach's action server and one with no-op actions; each conversation played on both, turn by "
        "turn in step, the stack going first alternating. Every timed turn was checked to be answered by the "
        "customer (with that turn's feedback for the coach actions), never with an error.",
        "",
        "| action server | turns | p50 ms | p95 ms | mean ms | Rasa CPU ms per turn | action server CPU ms per turn |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {label} | {r['turns']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['mean']:.1f} "
            f"| {cpu[label]['Rasa']:.1f} | {cpu[label]['actions']:.1f} |"
            for label, r in results.items()
        ),
        "",
        f"**Ratio coach / no-op: p50 {ratio_p50:.2f}x, p95 {ratio_p95:.2f}x** (same run, turns interleaved).",
        "",
        "## Latency by turn number",
        "",
        "| turn | coach p50 ms | coach p95 ms | no-op p50 ms |",
        "|---|---|---|---|",
        *(
            f"| {number} | {statistics.median(coach_turns[number]):.1f} | {percentile(coach_turns[number], 95):.1f} "
            f"| {statistics.median(per_turn['no-op actions'][number]):.1f} |"
            for number in coach_turns
        ),
        "",
        f"**Turn 11 / turn 2, same replies (p50): coach {growths['coach actions']:.2f}x, no-op "
        f"{growths['no-op actions']:.2f}x.** Every other conversation swaps replies 2 and 11, so each of them is "
        f"timed at both turns; the table above mixes the two orders. Turn {len(SCRIPT)} also works out and sends "
        "the scorecard.",
        "",
        "## One 12-turn conversation in Rasa's tracker store",
        "",
        "| event type | bytes |",
        "|---|---|",
        *(f"| {name} | {size:,} |" for name, size in sizes.most_common()),
        f"| **all events** | **{sum(sizes.values()):,}** |",
        "",
        *timing_table(splits),
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"Written to {RESULTS.relative_to(PROJECT_ROOT)}")
    if profile_text:
        PROFILE_RESULTS.write_text(
            "# Where a turn's time goes (bench.sampling, main threads, timed coach conversations)\n\n"
            f"Run {stamp}, `python -m bench.latency --profile`, {args.conversations} conversations on each stack, interleaved. "
            "Shares are of the samples where the main thread was working (not waiting in the event loop); "
            "the Rasa server's profile includes its wait for the action server's answer only as idle time.\n\n"
            "```\n" + profile_text + "\n```\n",
            encoding="utf-8",
        )
        print(profile_text)
        print(f"Written to {PROFILE_RESULTS.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
