"""Turn latency through the REST protocol, against the same Rasa server with no-op actions.

Plays a scripted conversation several times with the real action server, then with an action
server whose actions answer at once, both behind one Rasa server in one run, and reports
p50/p95 per turn and their ratio. Machines here are shared and noisy: compare ratios from one
run, not absolute times across runs.

    python -m bench.latency [--conversations 20]
"""
from __future__ import annotations

import argparse
import dataclasses
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, List

from bot.launcher import DEFAULT_MODEL, actions_service, free_port, rasa_service, write_endpoints
from bot.rasa_client import END_COMMAND, RasaRestClient, start_command
from bot.settings import PROJECT_ROOT, load_settings

RESULTS = PROJECT_ROOT / "bench" / "results" / "latency.md"
SCRIPT = [
    "Hi Dana, thanks for getting in touch, my name is Sam.",
    "So your laptop has crashed every day since it arrived, and nobody called you back after three calls?",
    "I'm really sorry about that, it must be exhausting to lose your work every day.",
    "What happens on the screen right before it crashes?",
    "I'll book a technician to visit you tomorrow morning and I'll call you by 5 pm today to confirm the time.",
    "Thank you for your patience, Dana.",
]


def percentile(values: List[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, round(pct / 100 * len(ordered) + 0.5) - 1))
    return ordered[index]


def play(settings, conversations: int) -> List[float]:
    """Milliseconds per trainee turn (start and end messages excluded from the figures)."""
    timings: List[float] = []
    for _ in range(conversations):
        client = RasaRestClient(settings.rasa_url, sender=f"bench-{uuid.uuid4().hex[:10]}", var_dir=settings.var_dir)
        if not client.send(start_command("laptop_at_home_service", "dispassionate", "coach")):
            raise RuntimeError("the start message got no answer")
        for line in SCRIPT:
            began = time.perf_counter()
            answer = client.send(line)
            timings.append((time.perf_counter() - began) * 1000)
            if not answer:
                raise RuntimeError(f"no answer to {line!r}: is the action server failing?")
        client.send(END_COMMAND)
    return timings


def summary(timings: List[float]) -> Dict[str, float]:
    return {
        "turns": len(timings),
        "p50": statistics.median(timings),
        "p95": percentile(timings, 95),
        "mean": statistics.fmean(timings),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--conversations", type=int, default=20)
    parser.add_argument("--warmup", type=int, default=2)
    args = parser.parse_args(argv)
    if not DEFAULT_MODEL.exists():
        print(f"No trained model at {DEFAULT_MODEL}: run `make train` first.", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as var_dir, ExitStack() as stack:
        settings = dataclasses.replace(
            load_settings(), host="127.0.0.1", rasa_port=free_port(), actions_port=free_port(), var_dir=Path(var_dir)
        )
        endpoints = write_endpoints(
            settings=settings, actions_url=settings.actions_url, tracker_db=settings.var_dir / "bench_tracker.db"
        )
        rasa = stack.enter_context(rasa_service(settings=settings, model=DEFAULT_MODEL, endpoints=endpoints).start())
        results = {}
        for label, package in (("coach actions", "actions"), ("no-op actions", "bench.noop_actions")):
            with actions_service(settings=settings, package=package).start() as actions:
                actions.wait_until_up()
                rasa.wait_until_up()
                play(settings, args.warmup)
                results[label] = summary(play(settings, args.conversations))
                print(f"{label}: {results[label]}", flush=True)
    real, noop = results["coach actions"], results["no-op actions"]
    ratio_p50, ratio_p95 = real["p50"] / noop["p50"], real["p95"] / noop["p95"]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Turn latency through the REST protocol",
        "",
        f"Run {stamp}; {args.conversations} conversations of {len(SCRIPT)} trainee replies each, after "
        f"{args.warmup} warm-up conversations; one Rasa server, its action server swapped between runs.",
        "",
        "| action server | turns | p50 ms | p95 ms | mean ms |",
        "|---|---|---|---|---|",
        *(
            f"| {label} | {r['turns']} | {r['p50']:.1f} | {r['p95']:.1f} | {r['mean']:.1f} |"
            for label, r in results.items()
        ),
        "",
        f"**Ratio coach / no-op: p50 {ratio_p50:.2f}x, p95 {ratio_p95:.2f}x** (same run, same Rasa server).",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"Written to {RESULTS.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
