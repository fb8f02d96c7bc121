"""Cross-validation over the rounds of the development set: what a fresh set will show.

The development set was written in rounds by different authors (docs/checks.md). For each round
k the learned defensive layer is trained without round k, its threshold chosen without it (over
the other rounds held out in turn, as `make train-defensive` chooses the stored one), and
the whole defensive check (lexicon and learned layer) is scored on round k: the learned layer
has then never seen that author's phrasing, as on a fresh set. The lexicon's patterns were
tuned on rounds 1-6 after each was first scored, so on those rounds the whole check still
flatters itself; the learned layer alone, and round 7 (whose lines no pattern was changed for),
are the fairer figures. The other checks are rules, not trained: their per-round figures are the
rules as they are now (a development-set fit), shown for comparison with each round's first score.

    python -m bench.checks_crossval            # or: make bench-checks-cv; bench/results/checks_cv.md
"""
from __future__ import annotations

import argparse
import sys
from datetime import datetime, timezone
from typing import Dict, List, Sequence

from bench.checks_quality import DEV_SET, FIRST_SCORES, MAIN_CHECKS, labelled_set
from bench.checks_summary import load_first_scores
from bot.checks import assess_many
from bot.checks.train_defensive import (
    ROUNDS,
    choose_threshold,
    load_replies,
    model_in_place,
    prf,
    reply_score,
    round_of,
    train_kinds,
    train_stance,
)
from bot.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results" / "checks_cv.md"


def _cell(score: Dict[str, float]) -> str:
    return f"{score['f1']:.3f} (P {score['precision']:.2f}, R {score['recall']:.2f})"


def _first(score) -> str:
    if not score:
        return "–"
    return _cell(score) if "precision" in score else f"{score['f1']:.3f}"


def crossval(rounds: Sequence[str]) -> Dict[str, Dict[str, object]]:
    replies = load_replies()
    items, labels = labelled_set(DEV_SET)
    by_id = {r.id: i for i, r in enumerate(replies) if r.id.startswith("dev-")}
    out: Dict[str, Dict[str, object]] = {}
    for k in rounds:
        test = [r for r in replies if round_of(r.id) == k]
        train = [r for r in replies if round_of(r.id) != k]
        # the threshold is chosen as the stored model's is, over the other rounds held out in
        # turn, so round k plays no part in it
        threshold, _ = choose_threshold(train)
        weights, kinds = train_stance(train), train_kinds(train)
        test_items = [items[by_id[r.id]] for r in test]
        y = [r.label for r in test]
        with model_in_place(weights, kinds, threshold):  # active_listening reads the defences too
            rules = list(assess_many(test_items, max_chars=100_000))
        whole = [bool(r["defensive"]["found"]) for r in rules]
        alone = [reply_score(weights, r) >= threshold for r in test]
        out[k] = {
            "replies": len(test),
            "threshold": threshold,
            "defensive": prf(whole, y),
            "learned_alone": prf(alone, y),
            "found": whole,
            "labels": y,
            **{name: prf([bool(r[name]["found"]) for r in rules], [labels[by_id[t.id]][name] for t in test])
               for name in MAIN_CHECKS if name != "defensive"},
        }
    return out


def report(results: Dict[str, Dict[str, object]]) -> List[str]:
    first = load_first_scores(FIRST_SCORES)["rounds"]
    rounds = list(results)
    lines = [
        "# Reply checks: cross-validation over the rounds of the development set",
        "",
        f"Run {datetime.now(timezone.utc):%Y-%m-%d %H:%M UTC} (`python -m bench.checks_crossval`).",
        "",
        "defensive: the learned layer trained without the round, its threshold chosen over the other "
        "rounds held out in turn; the lexicon as it is now (tuned on rounds 1-6 after their first scores, never on round 7). "
        "Other checks: the rules as they are now on each round (development-set fit, nothing is trained; "
        "active_listening leaves out sentences the defensive check finds, here with the model trained without the round).",
        "",
        "| round | replies | defensive (whole check) | learned layer alone | threshold | "
        + " | ".join(n for n in MAIN_CHECKS if n != "defensive") + " | defensive, first score |",
        "|---" * (6 + len(MAIN_CHECKS)) + "|",
    ]
    for k in rounds:
        r = results[k]
        first_def = first.get(k, {}).get("scores", {}).get("defensive")
        lines.append(
            f"| {k} | {r['replies']} | {_cell(r['defensive'])} | {_cell(r['learned_alone'])} | {r['threshold']} | "
            + " | ".join(_cell(r[n]) for n in MAIN_CHECKS if n != "defensive")
            + f" | {_first(first_def)} |"
        )
    later = [k for k in rounds if k != "1"]
    if later:
        found = [f for k in later for f in results[k]["found"]]
        labels = [y for k in later for y in results[k]["labels"]]
        lines += ["", f"defensive, rounds {', '.join(later)} pooled (each scored by a model trained without it): "
                  f"**{_cell(prf(found, labels))}**."]
    return lines


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", nargs="*", default=[name for name, _ in ROUNDS], help="rounds to leave out in turn")
    args = parser.parse_args(argv)
    lines = report(crossval(args.rounds))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print("\n".join(lines))
    print(f"Written to {RESULTS.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
