"""active_listening's learned layer held out by round: what a fresh author will show.

As bench/checks_crossval.py does for the defensive layer: for each round k of the development
set the layer is trained without round k, its threshold chosen without it (over the other rounds
held out in turn, as `python -m bot.checks.train_listening` chooses the stored one), and the rules'
vote taken from the first scores of rounds before k; round k is then scored by the rules alone,
the layer alone and the two voted (the check as it judges). The rules were tuned on rounds 1-9
after their first scores and never on round 10, so round 10 held out is the fairest figure; on
the other rounds the rules' figures are a development-set fit.

    python -m bench.listening_crossval                 # every round held out in turn, and pooled
    python -m bench.listening_crossval --rounds 10     # train on rounds 1-9, score round 10
"""
from __future__ import annotations

import argparse
import sys
from typing import Dict, List, Sequence

from bot.checks.train_defensive import ROUNDS, prf, round_of
from bot.checks.train_listening import VOTE_WEIGHT, choose_threshold, load_replies, reply_score, rule_votes, train, vote
from bot.settings import PROJECT_ROOT

RESULTS = PROJECT_ROOT / "bench" / "results" / "listening_cv.md"


def _cell(s: Dict[str, float]) -> str:
    return f"{s['f1']:.3f} (P {s['precision']:.2f}, R {s['recall']:.2f})"


def held_out(replies, k: str, weight: float = VOTE_WEIGHT) -> Dict[str, object]:
    train_set = [r for r in replies if round_of(r.id) != k]
    test = [r for r in replies if round_of(r.id) == k]
    threshold, _ = choose_threshold(train_set)
    weights = train(train_set)
    # the rules' worth on fresh authors, from the latest first scores but k's and round 10's (whose
    # first score was taken after the layer's design was fixed)
    votes = rule_votes(train_set, [name for name, _ in ROUNDS if name not in (k, "10")], weight)
    scores = [reply_score(weights, r) for r in test]
    y = [r.label for r in test]
    return {
        "replies": len(test), "threshold": threshold, "votes": votes,
        "rules": [r.rule for r in test], "layer": [s >= threshold for s in scores],
        "voted": [vote(r, s, votes) >= threshold for r, s in zip(test, scores)], "labels": y,
    }


def report(results: Dict[str, Dict[str, object]]) -> List[str]:
    lines = ["| round held out | replies | rules alone | layer alone | rules and layer voted | threshold | rule votes (yes/no, from rounds) |",
             "|---|---|---|---|---|---|---|"]
    for k, r in results.items():
        y = r["labels"]
        v = r["votes"]
        lines.append(f"| {k} | {r['replies']} | {_cell(prf(r['rules'], y))} | {_cell(prf(r['layer'], y))} | "
                     f"{_cell(prf(r['voted'], y))} | {r['threshold']} | {v['yes']}/{v['no']} ({', '.join(v['from_rounds'])}) |")
    pooled = [k for k in results if k != "1"]
    if len(pooled) > 1:
        y = [x for k in pooled for x in results[k]["labels"]]
        cells = [_cell(prf([x for k in pooled for x in results[k][name]], y)) for name in ("rules", "layer", "voted")]
        lines.append(f"| {', '.join(pooled)} pooled | {len(y)} | " + " | ".join(f"**{c}**" for c in cells) + " | | |")
    return lines


def main(argv: Sequence[str] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", nargs="*", default=[name for name, _ in ROUNDS[1:]], help="rounds to hold out in turn")
    args = parser.parse_args(argv)
    replies = load_replies()
    lines = report({k: held_out(replies, k) for k in args.rounds})
    print("\n".join(lines))
    if len(args.rounds) > 1:
        RESULTS.parent.mkdir(parents=True, exist_ok=True)
        RESULTS.write_text("# active_listening: rounds held out in turn (`python -m bench.listening_crossval`)\n\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
