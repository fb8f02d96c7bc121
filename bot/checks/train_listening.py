"""Train the learned active_listening layer and write bot/resources/learned/active_listening.json.

    python -m bot.checks.train_listening            # or: make train-listening
    python -m bot.checks.train_listening --check    # retrain in memory, compare with the file

Data: the labelled replies of the development set (tests/data/checks_dev.jsonl) with their
scenario facts, read as the role-play reads them. Labels are per reply and the layer judges
sentences, so as for the defensive layer (train_defensive.py) the sentence that restates is
found in two passes: every sentence of a reply labelled no is a negative; in a reply labelled
yes the sentence where the rules found the restatement is a positive, a one-sentence reply is a
positive, and otherwise a first model picks the reply's best sentence.

The threshold is chosen as train_defensive chooses its own: the best F1 over rounds 2 on, each
round scored by a model trained without it (another author's phrasing, as on a fresh set), of the
layer alone. The stored model is then trained
on every line with that threshold. bench/checks_crossval.py runs the same procedure one level
deeper to estimate what a fresh set will show.
The rules' verdict is not a feature: it votes beside the layer with the weight its first scores
on fresh authors give it (rule_votes), since its fit to the development set flatters it.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

from bot.checks import active_listening, listening_layer, make_context
from bot.checks._text import clean
from bot.checks.listening_layer import MODEL_PATH, best_sentence, eligible, feature_hash, reply_features
from bot.checks.train_defensive import DEV_SET, THRESHOLDS, fit_weights, prf, round_of, score, train_two_pass
from bot.nlp import get_nlp
from bot.settings import PROJECT_ROOT

FIRST_SCORES = PROJECT_ROOT / "bench" / "data" / "first_scores.json"
# Regularisation chosen by pooled leave-one-round-out over rounds 2-9 before round 10 was scored
# (layer alone, best threshold): C 0.03 F1 0.895, 0.1 0.905, 0.3 0.914, 1.0 0.918; 0.3 for the
# stronger regularisation at nearly the same figure. Features in fewer sentences than MIN_COUNT
# are dropped (2: 0.914, 3: 0.914, 5: 0.912).
C = 0.3
MIN_COUNT = 3
# The rules' verdict votes with what it was worth on the last VOTE_ROUNDS fresh authors (their
# first scores), not with its fit to the development set, which the rules were tuned on.
VOTE_ROUNDS = 2
# From this round on a first score was taken with the layer in place: it no longer measures the
# rules alone, so it never sets their vote.
LAYER_FIRST_ROUND = 11
# How much of that worth the stored model gives the rules' verdict (0: none, the layer alone).
# 1.0 was the design fixed before round 10 was scored; round 11's first score (0.892) was taken
# with it. Round 11 folded in, each fresh round and each scenario held out in turn (layer words as
# parts of speech, see listening_layer.sentence_parts), rounds 10 / 11 / scenarios pooled:
# 0 -> 0.904 / 0.926 / 0.888, 0.5 -> 0.915 / 0.921 / 0.921, 1.0 -> 0.883 / 0.932 / 0.929 (rules
# alone 0.874 / 0.863 / 0.923, tuned on most of these). The layer alone learns the eight
# scenarios and loses recall on a new one (trainers write their own); the rules at full weight
# lose the fresh authors. 0.5 has the best worst case on these figures, but overrules three of
# the trainers' documented decisions that tests/test_checks*.py hold (an empathy opener before a
# detailed restatement, a judged situation, a granted demand 'Okay, no engineer visits then.'),
# so the full weight stays, with the parts-of-speech words, until the layer learns those.
VOTE_WEIGHT = 1.0
F1_TOLERANCE = 0.005  # as train_defensive: among near-best thresholds the highest, for precision


class Reply:
    __slots__ = ("id", "label", "feats", "rule", "rule_sent")

    def __init__(self, row_id: str, label: int, feats: List[List[str]], rule: bool, rule_sent: Optional[int]) -> None:
        self.id, self.label, self.feats, self.rule, self.rule_sent = row_id, label, feats, rule, rule_sent


def load_replies(path=DEV_SET) -> List[Reply]:
    from bench.checks_quality import labelled_set  # the items exactly as the benchmark scores them

    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    rows = [r for r in rows if "_source" not in r]
    items, labels = labelled_set(path)
    nlp = get_nlp()
    texts = [clean(i["reply"]) for i in items]
    out = []
    for row, item, label, text, doc in zip(rows, items, labels, texts, nlp.pipe([t.text for t in texts])):
        ctx = make_context(nlp, text, customer_message=item.get("customer", ""), customer_name=item.get("customer_name"),
                           facts=item.get("facts", ()), jargon_terms=item.get("jargon", ()))
        hit = next((j for j in active_listening.judged_candidates(doc, ctx) if j.passes), None)
        sents = reply_features(doc, ctx)
        rule_sent = None
        if hit is not None:
            at = listening_layer._anchor(hit.cand)
            rule_sent = next((k for k, (s, _) in enumerate(sents) if s.start <= at < s.end), None)
        out.append(Reply(row["id"], int(label["active_listening"]), [f for _, f in sents], hit is not None, rule_sent))
    return out


def train(replies: Sequence[Reply], c: float = C) -> Dict[str, float]:
    """Sure sentences are the one the rules found a restatement in."""
    return train_two_pass(replies, lambda r: [] if r.rule_sent is None else [r.rule_sent],
                          lambda rows, y: fit_weights(rows, y, c=c, min_count=MIN_COUNT))


def reply_score(weights: Dict[str, float], reply: Reply) -> float:
    """As listening_layer.judge scores a reply before the rules' vote."""
    return best_sentence([(score(weights, f), None, eligible(f)) for f in reply.feats])[0]


def rule_votes(replies: Sequence[Reply], rounds: Sequence[str], weight: float = 1.0) -> Dict[str, object]:
    """Log likelihood ratios of the rules' verdict on a fresh author: from the first scores
    (precision, recall) of the last VOTE_ROUNDS of `rounds`, with the share of restatements in
    the later rounds of `replies`."""
    first = json.loads(FIRST_SCORES.read_text(encoding="utf-8"))["rounds"]
    used = [k for k in sorted(rounds, key=int) if int(k) < LAYER_FIRST_ROUND
            and "precision" in first.get(k, {}).get("scores", {}).get("active_listening", {})][-VOTE_ROUNDS:]
    p = sum(first[k]["scores"]["active_listening"]["precision"] for k in used) / len(used)
    r = sum(first[k]["scores"]["active_listening"]["recall"] for k in used) / len(used)
    later = [x for x in replies if round_of(x.id) not in ("", "1")]
    share = sum(x.label for x in later) / len(later)
    false_alarms = r * share * (1 - p) / p / (1 - share)
    return {"yes": round(weight * math.log(r / false_alarms), 3), "no": round(weight * math.log((1 - r) / (1 - false_alarms)), 3), "weight": weight,
            "from_rounds": used, "precision": round(p, 3), "recall": round(r, 3), "share": round(share, 3)}


def vote(reply: Reply, score: float, votes: Dict[str, object]) -> float:
    return score + float(votes["yes"] if reply.rule else votes["no"])


def held_out_by_round(replies: Sequence[Reply], c: float = C) -> List[Tuple[str, Reply, float]]:
    """Each reply with the layer's score from a model trained without the reply's round."""
    out = []
    for k in sorted({round_of(r.id) for r in replies} - {""}, key=int):
        weights = train([r for r in replies if round_of(r.id) != k], c)
        out += [(k, r, reply_score(weights, r)) for r in replies if round_of(r.id) == k]
    return out


def choose_threshold(replies: Sequence[Reply], c: float = C) -> Tuple[float, Dict[str, object]]:
    """The highest threshold within F1_TOLERANCE of the best F1 of the layer alone over rounds 2
    on, each scored by a model trained without it (round 1 was written with the rules).

    The layer's own figure, as train_defensive chooses, not the voted check's: the rules were
    tuned on these rounds after their first scores, so here they look surer than on a new author.
    The votes are log-odds, so the threshold applies to the voted score as it is."""
    scored = [s for s in held_out_by_round(replies, c) if s[0] != "1"]
    labels = [r.label for _, r, _ in scored]
    rounds = sorted({s[0] for s in scored}, key=int)
    votes = rule_votes(replies, rounds)

    def alone(t: float) -> Dict[str, float]:
        return prf([v >= t for _, _, v in scored], labels)

    f1 = {t: alone(t)["f1"] for t in THRESHOLDS}
    top = max(f1.values())
    best = max(t for t in THRESHOLDS if f1[t] >= top - F1_TOLERANCE)
    return best, {"rounds": rounds, "replies": len(scored), "layer_alone": alone(best),
                  "voted_check": prf([vote(r, v, votes) >= best for _, r, v in scored], labels),
                  "rules_alone": prf([r.rule for _, r, _ in scored], labels)}


def build(replies: Optional[List[Reply]] = None) -> dict:
    replies = load_replies() if replies is None else replies
    threshold, by_round = choose_threshold(replies)
    weights = train(replies)
    votes = rule_votes(replies, by_round["rounds"], VOTE_WEIGHT)
    source = (
        f"Trained by `python -m bot.checks.train_listening` (make train-listening) on the {len(replies)} labelled replies "
        f"of tests/data/checks_dev.jsonl ({sum(r.label for r in replies)} restate) with their scenario facts; logistic "
        f"regression (scikit-learn, liblinear, C={C}, balanced classes, features in at least {MIN_COUNT} sentences) over "
        f"the sentence features of bot/checks/listening_layer.py. "
        + f"The rules' verdict adds {VOTE_WEIGHT} of its log likelihood ratio on fresh authors (first scores of rounds "
        f"{', '.join(votes['from_rounds'])}; VOTE_WEIGHT). "
        + f"Threshold: the "
        f"highest within {F1_TOLERANCE} of the best F1 of the layer alone over rounds 2 on, each round scored by a model trained "
        "without it (\"held_out_by_round\"). Retrain after the development set, the rules or the features change."
    )
    return {"_source": source, "feature_hash": feature_hash(), "threshold": threshold, "rule_votes": votes,
            "held_out_by_round": by_round, "weights": dict(sorted(weights.items()))}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Train the learned active_listening layer.")
    parser.add_argument("--check", action="store_true", help="retrain and report whether the stored file matches")
    parser.add_argument("--out", default=str(MODEL_PATH))
    args = parser.parse_args(argv)
    out = Path(args.out)
    data = build()
    text = json.dumps(data, separators=(",", ":")) + "\n"
    if args.check:
        same = out.exists() and out.read_text(encoding="utf-8") == text
        print("stored model matches a fresh training run" if same else f"{out} differs from a fresh training run")
        return 0 if same else 1
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(text, encoding="utf-8")
    print(f"wrote {out}: {len(data['weights'])} weights, threshold {data['threshold']}, rule votes {data['rule_votes']}, "
          f"each round held out {data['held_out_by_round']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
