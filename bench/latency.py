"""Turn latency through the REST protocol, against the same Rasa server with no-op actions.

Plays a scripted 12-turn conversation several times with the real action server, then with an
action server whose actions answer at once, both behind one Rasa server in one run, and reports
p50/p95 per turn, their ratio, the latency of each turn number (does turn 11 cost what turn 2
costs?), the CPU time Rasa and the action server used per timed turn (from /proc; the start
and end messages included), and the size of one conversation's events in Rasa's tracker
store. Every timed turn is checked to be a real turn: the customer answers, with feedback for
that turn and no error.
Machines here are shared and noisy: compare ratios from one run, not absolute times across runs.

    python -m bench.latency [--conversations 20] [--profile] [--timing]

With --profile, Rasa and the coach action server run under bench.sampling, and the profile of
their main threads during the timed coach conversations goes to bench/results/latency-profile.md.
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


def play(settings, conversations: int, *, real_actions: bool) -> Dict[str, Any]:
    """Milliseconds per trainee turn, by turn number (start and end messages are not timed)."""
    by_turn: Dict[int, List[float]] = {number: [] for number in range(1, len(SCRIPT) + 1)}
    # Milliseconds of the two swapped replies, by (reply, turn number).
    by_reply: Dict[tuple, List[float]] = {}
    senders, in_order = [], []
    for index in range(conversations):
        client = RasaRestClient(settings.rasa_url, sender=f"bench-{uuid.uuid4().hex[:10]}", var_dir=settings.var_dir)
        senders.append(client.sender)
        if not client.texts(client.send(start_command(SCENARIO, PERSONA, "coach"))):
            raise RuntimeError("the start message got no answer from the customer")
        for number, line in enumerate(SWAPPED if index % 2 else SCRIPT, start=1):
            began = time.perf_counter()
            answer = client.send(line)
            elapsed = (time.perf_counter() - began) * 1000
            by_turn[number].append(elapsed)
            in_order.append(elapsed)
            if number in (EARLY, LATE):
                by_reply.setdefault((line, number), []).append(elapsed)
            ended = check_turn(answer, number, real_actions=real_actions)
            if ended and number < len(SCRIPT):
                raise NotARealTurn(f"the customer ended the conversation at turn {number}; the script needs {len(SCRIPT)}")
        client.send(END_COMMAND)
    return {"by_turn": by_turn, "by_reply": by_reply, "senders": senders, "in_order": in_order}


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
    with tempfile.TemporaryDirectory() as var_dir, ExitStack() as stack:
        settings = dataclasses.replace(
            load_settings(), host="127.0.0.1", rasa_port=free_port(), actions_port=free_port(), var_dir=Path(var_dir)
        )
        prepare_database(settings)
        tracker_db = settings.var_dir / "bench_tracker.db"
        endpoints = write_endpoints(settings=settings, actions_url=settings.actions_url, tracker_db=tracker_db)
        profiles = {"Rasa server": settings.var_dir / "rasa-profile.json",
                    "Action server": settings.var_dir / "actions-profile.json"}
        rasa = rasa_service(settings=settings, model=DEFAULT_MODEL, endpoints=endpoints)
        rasa = stack.enter_context((sampling.sampled(rasa, profiles["Rasa server"]) if args.profile else rasa).start())
        results, per_turn, growths, profile_text = {}, {}, {}, ""
        cpu: Dict[str, Dict[str, float]] = {}
        splits: Dict[str, Dict[str, List[float]]] = {}
        for label, package in (("coach actions", "actions"), ("no-op actions", "bench.noop_actions")):
            real = package == "actions"
            profiled = args.profile and real
            timing_log = settings.var_dir / f"timing-{package}.log"
            if args.timing:
                os.environ[TIMING_LOG_ENV] = str(timing_log)
            actions = actions_service(settings=settings, package=package)
            os.environ.pop(TIMING_LOG_ENV, None)
            with (sampling.sampled(actions, profiles["Action server"]) if profiled else actions).start() as actions:
                actions.wait_until_up()
                rasa.wait_until_up()
                play(settings, args.warmup, real_actions=real)
                before = sampling.snapshots(profiles) if args.profile else {}
                timing_log.unlink(missing_ok=True)
                cpu_before = {name: cpu_seconds(service.process.pid) for name, service in (("Rasa", rasa), ("actions", actions))}
                played = play(settings, args.conversations, real_actions=real)
                timed = sum(len(values) for values in played["by_turn"].values())
                cpu[label] = {
                    name: (cpu_seconds(service.process.pid) - cpu_before[name]) * 1000 / timed
                    for name, service in (("Rasa", rasa), ("actions", actions))
                }
                if profiled:
                    profile_text = "\n\n".join(
                        sampling.report(sampling.difference(after, before.get(name)), name, 20)
                        for name, after in sampling.snapshots(profiles).items()
                    )
                elif args.profile:
                    # What the coach adds to Rasa's own work shows against its profile with no-op actions.
                    after = sampling.snapshots({"Rasa server": profiles["Rasa server"]})["Rasa server"]
                    profile_text += "\n\n" + sampling.report(
                        sampling.difference(after, before.get("Rasa server")), "Rasa server with no-op actions", 20
                    )
                results[label] = summary(played["by_turn"])
                if args.timing:
                    splits[label] = split_turns(timing_log, played["in_order"])
                per_turn[label] = played["by_turn"]
                growths[label] = growth(played["by_reply"])
                if real:
                    sizes = tracker_bytes(tracker_db, played["senders"][-1])
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
        "conversations; one Rasa server (started by `python -m bot.rasa_main`), its action server swapped "
        "between runs. Every timed turn was checked to be answered by the customer (with that turn's "
        "feedback for the coach actions), never with an error.",
        "",
        "| action server | turns | p50 ms | p95 ms | mean ms | Rasa CPU ms per turn | action server CPU ms per turn |",
        "|---|---|---|---|---|---|---|",
        *(
            f"| {label} | {r['turns']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['mean']:.1f} "
            f"| {cpu[label]['Rasa']:.1f} | {cpu[label]['actions']:.1f} |"
            for label, r in results.items()
        ),
        "",
        f"**Ratio coach / no-op: p50 {ratio_p50:.2f}x, p95 {ratio_p95:.2f}x** (same run, same Rasa server).",
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
            f"Run {stamp}, `python -m bench.latency --profile`, {args.conversations} conversations one after another. "
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
