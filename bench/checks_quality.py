"""Accuracy and speed of the reply checks.

- precision, recall and F1 per check on our labelled development set (tests/data/checks_dev.jsonl);
- on public data nobody here wrote, reported as it comes out and never tuned on:
  AnnoMI therapist reflections as active_listening, GoEmotions gratitude as thanks;
- replies per second through `python -m bot assess` over a file, in one process;
- p50/p95 of a single assess_reply call, spaCy included.

    python -m bench.checks_quality
"""
from __future__ import annotations

import argparse
import csv
import json
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterable, List, Tuple

from bot.checks import CHECK_NAMES, assess_many, assess_reply
from bot.settings import PROJECT_ROOT

DEV_SET = PROJECT_ROOT / "tests" / "data" / "checks_dev.jsonl"
SHARED_EVAL = PROJECT_ROOT.parent / "shared" / "eval"
RESULTS = PROJECT_ROOT / "bench" / "results" / "checks.md"
# The bar for the six main checks on the development set.
TARGET_F1 = 0.90
TARGET_PRECISION = 0.85
MAIN_CHECKS = ("greeting", "active_listening", "apology", "next_step", "thanks", "defensive")


@dataclass
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0
    tn: int = 0

    def add(self, predicted: bool, actual: bool) -> None:
        if predicted and actual:
            self.tp += 1
        elif predicted:
            self.fp += 1
        elif actual:
            self.fn += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else 0.0

    @property
    def recall(self) -> float:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


def score(items: List[dict], labels: List[Dict[str, int]], checks: Iterable[str]) -> Dict[str, Counts]:
    counts = {name: Counts() for name in checks}
    for result, label in zip(assess_many(items, max_chars=100_000), labels):
        for name, count in counts.items():
            count.add(bool(result[name]["found"]), bool(label[name]))
    return counts


def dev_set() -> Tuple[List[dict], List[Dict[str, int]]]:
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    items = [{"reply": r["reply"], "customer": r["customer"], "customer_name": r.get("customer_name")} for r in rows]
    return items, [r["labels"] for r in rows]


def annomi() -> Tuple[List[dict], List[Dict[str, int]]]:
    with open(SHARED_EVAL / "annomi_pairs.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    items = [{"reply": r["therapist_response"], "customer": r["client_utterance"]} for r in rows]
    labels = [{"active_listening": int(r["main_therapist_behaviour"] == "reflection")} for r in rows]
    return items, labels


def goemotions() -> Tuple[List[dict], List[Dict[str, int]]]:
    with open(SHARED_EVAL / "goemotions_test_gratitude_remorse.csv", newline="", encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    return [{"reply": r["text"]} for r in rows], [{"thanks": int(r["gratitude"])} for r in rows]


def table(counts: Dict[str, Counts], *, targets: bool) -> List[str]:
    lines = ["| check | precision | recall | F1 | TP | FP | FN | target met |", "|---|---|---|---|---|---|---|---|"]
    for name, c in counts.items():
        met = ""
        if targets and name in MAIN_CHECKS:
            met = "yes" if c.f1 >= TARGET_F1 and c.precision >= TARGET_PRECISION else "**no**"
        lines.append(f"| {name} | {c.precision:.3f} | {c.recall:.3f} | {c.f1:.3f} | {c.tp} | {c.fp} | {c.fn} | {met} |")
    return lines


def throughput(items: List[dict], repeat: int, *, distinct: bool = False) -> Tuple[int, float]:
    """Replies per second through the real command, one process, model loading included.

    The file holds `repeat` copies of the dev set; assess reuses the parse of a reply it has
    seen, so `distinct` marks each copy ('... (copy 2)') to measure a file where no reply repeats.
    """
    lines = [
        json.dumps({"customer": i["customer"], "reply": i["reply"] + (f" (copy {k})" if distinct and k else "")})
        for k in range(repeat)
        for i in items
    ]
    with tempfile.NamedTemporaryFile("w", suffix=".jsonl", delete=False) as handle:
        handle.write("\n".join(lines) + "\n")
    began = time.perf_counter()
    with open(handle.name) as stdin:
        done = subprocess.run(
            [sys.executable, "-m", "bot", "assess"], stdin=stdin, stdout=subprocess.PIPE, cwd=PROJECT_ROOT, check=False
        )
    elapsed = time.perf_counter() - began
    Path(handle.name).unlink()
    answered = done.stdout.count(b"\n")
    if answered != len(lines):
        raise RuntimeError(f"assess answered {answered} of {len(lines)} lines")
    return len(lines), len(lines) / elapsed


def single_latency(items: List[dict], rounds: int = 3) -> Tuple[float, float]:
    for item in items[:20]:  # warm-up: model load and first-call caches
        assess_reply(item["reply"], customer_message=item["customer"])
    timings = []
    for _ in range(rounds):
        for item in items:
            began = time.perf_counter()
            assess_reply(item["reply"], customer_message=item["customer"], customer_name=item.get("customer_name"))
            timings.append((time.perf_counter() - began) * 1000)
    timings.sort()
    return statistics.median(timings), timings[int(0.95 * (len(timings) - 1))]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=4, help="copies of the dev set in the throughput file")
    args = parser.parse_args(argv)
    items, labels = dev_set()
    dev = score(items, labels, CHECK_NAMES)
    lines = [
        "# Reply checks: accuracy and speed",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC}.",
        "",
        f"## Development set ({len(items)} labelled replies, `tests/data/checks_dev.jsonl`)",
        "",
        f"Target: F1 >= {TARGET_F1} and precision >= {TARGET_PRECISION} for the six main checks.",
        "",
        *table(dev, targets=True),
        "",
    ]
    if SHARED_EVAL.exists():
        a_items, a_labels = annomi()
        g_items, g_labels = goemotions()
        lines += [
            "## Public data, never tuned on",
            "",
            f"AnnoMI ({len(a_items)} client -> therapist pairs; a `reflection` counts as active listening). "
            "Counselling, not support: lower scores are expected.",
            "",
            *table(score(a_items, a_labels, ["active_listening"]), targets=False),
            "",
            f"GoEmotions test split ({len(g_items)} Reddit comments; `gratitude` counts as thanks).",
            "",
            *table(score(g_items, g_labels, ["thanks"]), targets=False),
            "",
        ]
    else:
        lines += [f"Public evaluation data not found at {SHARED_EVAL}; skipped.", ""]
    count, per_second = throughput(items, args.repeat)
    _, distinct_per_second = throughput(items, args.repeat, distinct=True)
    p50, p95 = single_latency(items)
    lines += [
        "## Speed",
        "",
        f"- `python -m bot assess` over a file of {count} replies, one process, start-up included: "
        f"**{per_second:.0f} replies/s** (target >= 300).",
        f"- the same file with every copy made distinct, so that no parse is reused: {distinct_per_second:.0f} replies/s.",
        f"- one `assess_reply` call at a time over the dev set, spaCy included: p50 {p50:.1f} ms, "
        f"**p95 {p95:.1f} ms** (target <= 15 ms).",
        "",
    ]
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines), encoding="utf-8")
    print("\n".join(lines))
    print(f"Written to {RESULTS.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
