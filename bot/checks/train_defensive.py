"""Train the learned defensive layer and write bot/resources/learned/defensive_stance.json.

    python -m bot.checks.train_defensive            # or: make train-defensive
    python -m bot.checks.train_defensive --check    # retrain in memory, compare with the file

Data: the labelled replies of the development set (tests/data/checks_dev.jsonl) and the training
lines written for issue 14 (tests/data/checks_defensive_training.jsonl, defensive labels only),
never the held-out set. Labels are per reply, the model judges sentences, so the sentence that carries a
defence is found in two passes (multiple-instance learning): every sentence of a reply labelled
not defensive is a negative; in a defensive reply the sentences the lexicon flags are positives,
a one-sentence reply is a positive, and otherwise a first model picks the reply's most defensive
sentence; the other sentences of a defensive reply are left out rather than guessed. The tip's
kind model is trained on hand-labelled kinds and the lexicon's (train_defensive_kinds.py); the
kind model the worked-round rule reads, on the sentences the lexicon names with its labels.

The threshold is chosen where the learned layer has the best F1 over the rounds of the
development set, each round scored by a model trained without it: another author's phrasing,
as on a fresh set (choose_threshold says why the layer alone). The stored model is then trained on
every line with that threshold. bench/checks_crossval.py runs the same procedure one level
deeper to estimate what a fresh set will show.

Deterministic: fixed rounds, liblinear and lbfgs solvers, weights rounded to 4 decimals.
"""
from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections import Counter
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

from sklearn.feature_extraction import DictVectorizer
from sklearn.linear_model import LogisticRegression

from bot.checks import defensive
from bot.checks._text import clean
from bot.checks.train_defensive_kinds import HAND_WEIGHT, KIND_C, KIND_SET, train_tip_kinds
from bot.checks.defensive_stance import MODEL_PATH, clause_features, clauses, kind_features
from bot.nlp import get_nlp
from bot.settings import PROJECT_ROOT

DEV_SET = PROJECT_ROOT / "tests" / "data" / "checks_dev.jsonl"
# Training lines written for issue 14 and labelled for defensive only (the file's first line says
# where they came from): always trained on, never a validation or test fold.
EXTRA_TRAINING = PROJECT_ROOT / "tests" / "data" / "checks_defensive_training.jsonl"
# Regularisation chosen by pooled leave-one-round-out over rounds 2-8 (learned layer alone, best
# threshold): C 0.05 F1 0.862, 0.1 0.857, 0.2 0.849, 0.4 0.847.
C = 0.05
MIN_COUNT = 2  # a feature seen in one sentence only says nothing general
# The first line of each round of the development set (docs/checks.md, "The development set"):
# round 1 was written with the rules, each later round by another author as a fresh held-out set.
ROUNDS = (("1", "dev-0001"), ("2", "dev-0531"), ("3", "dev-0771"), ("4", "dev-1011"), ("5", "dev-1251"),
          ("6", "dev-1491"), ("7", "dev-1731"), ("8", "dev-1971"), ("9", "dev-2271"),
          ("10", "dev-2571"), ("11", "dev-2811"))


def round_of(reply_id: str) -> str:
    """The round a development-set id belongs to; lines of other files (the authored training
    lines, 'auth-...') belong to none and are never a test fold."""
    if not reply_id.startswith("dev-"):
        return ""
    return [name for name, first in ROUNDS if reply_id >= first][-1]
THRESHOLDS = [round(0.25 * k, 2) for k in range(-8, 21)]
# The layer alone's F1 is flat near its best (rounds 2-8 held out: 0.851, 0.858, 0.847 at 0.5,
# 0.75, 1.0), and which of those wins moves from one set of rounds to the next (held out one
# level deeper it chose 0.25 to 0.75). Within this much of the best F1 the highest threshold is
# taken: on an author not seen yet precision was the weaker side (round 8: 13 false alarms).
# Round 9's first score had precision and recall level (0.888 each), and with the concession and
# question features 0.01 let one fold's choice jump to 1.25 (round 8 held out: R 0.86); 0.005
# (python -m bench.checks_crossval, rounds 2-9 pooled): F1 0.912 (P 0.89, R 0.93), 0.01: 0.909
# (P 0.90, R 0.92).
F1_TOLERANCE = 0.005
PRUNE_BELOW = 0.002  # weights this small change no score by more than rounding


class Reply:
    __slots__ = ("id", "label", "feats", "lexicon_sents", "item", "texts", "kind_feats")

    def __init__(self, row: dict, feats: List[List[str]], lexicon_sents: Dict[int, str], texts: List[str],
                 kind_feats: Dict[int, List[str]]):
        self.id = row["id"]
        self.label = int(row["labels"]["defensive"])
        self.feats = feats
        self.lexicon_sents = lexicon_sents
        self.item = {"reply": row["reply"], "customer": row.get("customer", ""), "customer_name": row.get("customer_name")}
        self.texts = texts  # each sentence as the hand-labelled kind set quotes it
        self.kind_feats = kind_feats  # kind_features of the sentences of a defensive reply

    def limit_feats(self, i: int) -> List[str]:
        """What the lexicon-trained kind model reads: the clause features without character n-grams."""
        return [f for f in self.feats[i] if not f.startswith("c:")]


def read_rows(path: Path) -> List[dict]:
    """The labelled lines of a JSONL file; a line holding only "_source" says where they came from."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [r for r in rows if "_source" not in r]


def load_replies(paths: Sequence[Path] = (DEV_SET, EXTRA_TRAINING)) -> List[Reply]:
    rows = [row for path in paths if path.exists() for row in read_rows(path)]
    nlp = get_nlp()
    texts = [clean(r["reply"]).text for r in rows]
    replies = []
    for row, doc in zip(rows, nlp.pipe(texts)):
        sents = clauses(doc)
        marked: Dict[int, str] = {}
        for match in defensive.flagged(doc, None):
            for i, s in enumerate(sents):
                if s.start <= match.span.start < s.end:
                    marked.setdefault(i, match.label)
        kinds = {i: kind_features(s) for i, s in enumerate(sents)} if row["labels"]["defensive"] or marked else {}
        replies.append(Reply(row, [clause_features(s) for s in sents], marked, [s.text.strip() for s in sents], kinds))
    return replies


def fit_weights(rows: List[List[str]], y: Sequence[int], *, c: float = C, min_count: int = MIN_COUNT) -> Dict[str, float]:
    """A balanced logistic regression over the rows' feature counts, as plain pruned weights."""
    counts = Counter(f for feats in rows for f in set(feats))
    keep = [Counter(f for f in feats if counts[f] >= min_count and f != "bias") for feats in rows]
    vec = DictVectorizer()
    X = vec.fit_transform(keep)
    model = LogisticRegression(C=c, solver="liblinear", class_weight="balanced", max_iter=2000)
    model.fit(X, y)
    weights = {name: round(float(w), 4) for name, w in zip(vec.feature_names_, model.coef_[0]) if abs(w) >= PRUNE_BELOW}
    weights["bias"] = round(float(model.intercept_[0]), 4)
    return weights


def score(weights: Dict[str, float], feats: Sequence[str]) -> float:
    return sum(weights.get(f, 0.0) for f in feats)  # as StanceModel.score: features counted


def train_two_pass(replies: Sequence[Any], sure: Callable[[Any], Sequence[int]],
                   fit: Callable[[List[List[str]], List[int]], Dict[str, float]]) -> Dict[str, float]:
    """A sentence model from reply labels, in two passes: every sentence of a negative reply and
    the sentences known to carry a positive reply's label (`sure`, or its only sentence) first,
    then each remaining positive reply's best sentence under that first model."""
    rows: List[List[str]] = []
    y: List[int] = []
    unsure = []
    for r in replies:
        if not r.feats:
            continue
        if r.label == 0:
            rows += r.feats
            y += [0] * len(r.feats)
            continue
        known = list(sure(r)) or ([0] if len(r.feats) == 1 else [])
        if known:
            rows += [r.feats[i] for i in known]
            y += [1] * len(known)
        else:
            unsure.append(r.feats)
    weights = fit(rows, y)
    for feats in unsure:
        rows.append(max(feats, key=lambda f: score(weights, f)))
        y.append(1)
    return fit(rows, y)


def train_stance(replies: List[Reply]) -> Dict[str, float]:
    """Sure sentences are those the lexicon flags."""
    return train_two_pass(replies, lambda r: r.lexicon_sents, fit_weights)


def reply_score(weights: Dict[str, float], reply: Reply) -> float:
    return max((score(weights, f) for f in reply.feats), default=-99.0)


def held_out_by_round(replies: List[Reply]) -> List[Tuple[str, bool, float, int]]:
    """For each development-set reply: its round, whether the lexicon flags it, the learned
    score of its best sentence, and its label, with the learned layer trained without that
    reply's round (the authored training lines always train)."""
    out = []
    for k in sorted({round_of(r.id) for r in replies} - {""}, key=int):
        weights = train_stance([r for r in replies if round_of(r.id) != k])
        out += [(k, bool(r.lexicon_sents), reply_score(weights, r), r.label) for r in replies if round_of(r.id) == k]
    return out


def choose_threshold(replies: List[Reply]) -> Tuple[float, Dict[str, object]]:
    """The threshold with the best F1 of the learned layer alone over every round but the first,
    each round judged by a model trained without it: another author's phrasing, as on a fresh set.

    The learned layer's own figure, not the whole check's: the lexicon was tuned on rounds 1-6
    after their first scores, so there it already finds nearly every defence and the check's best
    F1 would ask the learned layer for little (threshold 3.0, round 7 at R 0.73), while on a fresh
    set the lexicon misses a third of them (round 7 held out: best near 0.25). One round alone is
    too few to choose on (leaving out round 6 and choosing on round 7 scored round 6 at P 0.69).
    Round 1 was written with the rules and is left out of the choice. Among thresholds within
    F1_TOLERANCE of the best F1 the highest is taken."""
    scored = [s for s in held_out_by_round(replies) if s[0] != ROUNDS[0][0]]
    labels = [y for *_, y in scored]

    def alone(t: float) -> Dict[str, float]:
        return prf([value >= t for _, _, value, _ in scored], labels)

    def check(t: float) -> Dict[str, float]:
        return prf([lex or value >= t for _, lex, value, _ in scored], labels)

    f1 = {t: alone(t)["f1"] for t in THRESHOLDS}
    top = max(f1.values())
    best = max(t for t in THRESHOLDS if f1[t] >= top - F1_TOLERANCE)
    rounds = sorted({s[0] for s in scored}, key=int)
    return best, {"rounds": rounds, "replies": len(scored), "learned_alone": alone(best), "lexicon_or_learned": check(best)}


def train_kinds(replies: List[Reply]) -> Dict[str, object]:
    """The lexicon-trained kind model ("limit_kinds"): only whether a sentence is a limit an offer
    can work round (worked_round_labels) is read from it, so verdicts stay as they were; the
    tip's kind comes from train_defensive_kinds."""
    rows, y = [], []
    for r in replies:
        for i, label in r.lexicon_sents.items():
            rows.append([f for f in r.feats[i] if not f.startswith("c:") and f != "bias"])
            y.append(label)
    vec = DictVectorizer()
    X = vec.fit_transform([Counter(feats) for feats in rows])
    model = LogisticRegression(C=C, solver="lbfgs", max_iter=3000)
    model.fit(X, y)
    labels = [str(c) for c in model.classes_]
    weights = {}
    for j, name in enumerate(vec.feature_names_):
        row = [round(float(model.coef_[i][j]), 3) for i in range(len(labels))]
        if max(abs(v) for v in row) >= 0.01:
            weights[name] = row
    weights["bias"] = [round(float(v), 3) for v in model.intercept_]
    return {"labels": labels, "weights": weights, "trained_on": len(rows)}


def _model_file(weights: Dict[str, float], kinds: Dict[str, object], threshold: float, source: str, extra: dict,
                limit_kinds: Optional[Dict[str, object]] = None) -> dict:
    """Without limit_kinds (bench/checks_crossval) the one kind model serves the tip and the rule."""
    out = {
        "_source": source,
        "threshold": threshold,
        **extra,
        "weights": dict(sorted(weights.items())),
        "kinds": kinds,
    }
    if limit_kinds is not None:
        out["limit_kinds"] = limit_kinds
    return out


@contextmanager
def model_in_place(weights: Dict[str, float], kinds: Dict[str, object], threshold: float) -> Iterator[None]:
    """The checks judge with this model instead of the stored one until the block ends."""
    from bot.checks import defensive_stance

    saved = defensive_stance.MODEL_PATH
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.json"
        path.write_text(json.dumps(_model_file(weights, kinds, threshold, "in place", {})), encoding="utf-8")
        try:
            defensive_stance.MODEL_PATH = path
            defensive_stance.load_model.cache_clear()
            yield
        finally:
            defensive_stance.MODEL_PATH = saved
            defensive_stance.load_model.cache_clear()


def prf(found: Sequence[bool], labels: Sequence[int]) -> Dict[str, float]:
    tp = sum(bool(f and y) for f, y in zip(found, labels))
    fp = sum(bool(f and not y) for f, y in zip(found, labels))
    fn = sum(bool(y and not f) for f, y in zip(found, labels))
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(2 * p * r / (p + r) if p + r else 0.0, 3)}


def build() -> dict:
    replies = load_replies()
    threshold, by_round = choose_threshold(replies)
    weights = train_stance(replies)
    limit_kinds = train_kinds(replies)
    kinds = train_tip_kinds(replies)
    dev = [r for r in replies if round_of(r.id)]
    extra = len(replies) - len(dev)
    source = (
        f"Trained by `python -m bot.checks.train_defensive` (make train-defensive) on the {len(dev)} labelled "
        f"replies of tests/data/checks_dev.jsonl ({sum(r.label for r in dev)} defensive) and the {extra} lines of "
        f"{EXTRA_TRAINING.name} (labelled for defensive only); logistic regression (scikit-learn, "
        f"liblinear, C={C}, balanced classes) over the sentence features of bot/checks/defensive_stance.py; "
        f"kinds (the tip's): multinomial logistic regression (lbfgs, C={KIND_C}) over kind_features on the "
        f"{kinds['hand_labelled']} hand-labelled sentences of {KIND_SET.name} (counted {HAND_WEIGHT:g} times, winning "
        "over the pattern's label) and the sentences the defensive lexicon flags with its labels, accuracy held out "
        "by round in kinds.held_out_by_round; limit_kinds (read only by the worked-round rule): the same on the "
        "lexicon's sentences and labels alone, clause features, as before. "
        f"Threshold: the highest within {F1_TOLERANCE} of the best F1 of the learned layer alone over rounds 2 on, each round scored by a model trained "
        "without it (\"held_out_by_round\"). Retrain after the development set or the features change."
    )
    return _model_file(weights, kinds, threshold, source, {"held_out_by_round": by_round}, limit_kinds)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Train the learned defensive layer.")
    parser.add_argument("--check", action="store_true", help="retrain and report whether the stored file matches")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    args = parser.parse_args(argv)
    data = build()
    text = json.dumps(data, separators=(",", ":"), sort_keys=False) + "\n"
    if args.check:
        same = args.out.exists() and args.out.read_text(encoding="utf-8") == text
        print("stored model matches a fresh training run" if same else f"{args.out} differs from a fresh training run")
        return 0 if same else 1
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(text, encoding="utf-8")
    print(
        f"wrote {args.out.relative_to(PROJECT_ROOT)}: {len(data['weights'])} weights, threshold {data['threshold']}, "
        f"each round held out {data['held_out_by_round']}, kinds {data['kinds']['labels']}, "
        f"kind accuracy held out by round {data['kinds']['held_out_by_round']}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
