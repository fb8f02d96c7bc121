"""The learned layer of the defensive check: is a clause's stance a defence, and which kind.

A pattern list grows one author at a time and misses each new author's phrasing ("sounds like
your router to me", "billing handles that, not me"). This layer judges each sentence of the
reply with a linear model over its words, character n-grams (which survive typos and chat
spellings) and its parse: who is the subject, negation, modality, whose thing is named, whether
it is a question, whether an apology word comes first, and what the reply does around it: whether
the agent acts or offers to in the sentence or the next one ("We don't do weekend visits, but I
can get someone to you Friday" states a limit and works round it; a wall stops there), and
whether the reply owns the failure somewhere. It is trained on the labelled replies of
the development set by `python -m bot.checks.train_defensive` and stored as plain weights in
bot/resources/learned/defensive_stance.json, so scoring is a dictionary sum: no model download,
no second parse (the features come from the doc the checks already have).

Two multi-class models say what kind of defence a flagged sentence is (blame, denial, a policy
wall, ...). The tip's ("kinds") reads the same features and the kind cues of _defensive_kinds.py and
is trained on kinds labelled by hand (tests/data/defensive_kinds.jsonl) and the lexicon's labels, so
the tip offers the rewrite that fits. The other ("limit_kinds", trained on the lexicon's labels
alone, as the tip's was before) only decides whether an offer works a limit round (defensive.learned):
kept apart so that a better tip never moves a verdict.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span

from bot.checks._defensive_kinds import kind_cue_features
from bot.checks._lexicon import load_lexicon
from bot.settings import RESOURCES

MODEL_PATH = RESOURCES / "learned" / "defensive_stance.json"
# Character n-grams inside word boundaries, as scikit-learn's "char_wb" analyzer makes them.
CHAR_NGRAMS = (3, 5)
APOLOGY_WORDS = frozenset({"sorry", "apologise", "apologize", "apologies", "apology", "regret"})
PRONOUN_SUBJECTS = frozenset({"i", "we", "you", "they", "he", "she", "it", "that", "this", "there", "everyone",
                              "everybody", "nobody", "someone", "somebody", "most", "others", "people"})
POSSESSIVES = frozenset({"your", "our", "my", "their", "his", "her"})
NEGATION_WORDS = frozenset({"not", "n't", "never", "no", "nothing", "nobody"})
# "I can get someone to you Friday", "we'll ...": the agent offering to act, beside the promises
# next_step already reads as commitments.
AGENT_SUBJECTS = frozenset({"i", "we"})
OFFER_AUX = frozenset({"can", "will", "'ll", "could", "ll"})


@lru_cache(maxsize=1)
def _chat_words() -> Dict[str, str]:
    return dict(load_lexicon("chat_spellings")["words"])


def _norm(token) -> str:
    low = token.lower_
    return _chat_words().get(low, low)


def _word_score(model: "StanceModel", word: str) -> float:
    cache = model.word_cache
    value = cache.get(word)
    if value is None:
        get = model.weights.get
        value = cache[word] = sum(get(f, 0.0) for f in _word_features(word))
    return value


def _subject(token) -> str:
    word = _norm(token)
    if word in PRONOUN_SUBJECTS or token.pos_ == "PRON":
        return word
    return "N:" + token.lemma_.lower()


@lru_cache(maxsize=65536)
def _word_features(word: str) -> Tuple[str, ...]:
    """The word itself and its character n-grams; words repeat, so they are made once."""
    feats = ["w:" + word]
    padded = " " + word + " "
    lo, hi = CHAR_NGRAMS
    for n in range(lo, hi + 1):
        if len(padded) < n:
            break
        feats += ["c:" + padded[i : i + n] for i in range(len(padded) - n + 1)]
    return tuple(feats)


@lru_cache(maxsize=1)
def _not_offers() -> frozenset:
    return frozenset(load_lexicon("defensive")["not_offers"]["verbs"])


@lru_cache(maxsize=4)
def _phrases(entry: str) -> Tuple[Tuple[str, ...], ...]:
    """A word list of defensive.json as token tuples ('to be fair' -> ('to', 'be', 'fair'))."""
    return tuple(tuple(w.split()) for w in load_lexicon("defensive")[entry]["words"])


def has_phrase(span: Span, entry: str) -> bool:
    """Does one of the phrases of defensive.json's `entry` occur in the span (chat spellings read)?"""
    words = [_norm(t) for t in span]
    return any(
        words[i : i + len(p)] == list(p) for p in _phrases(entry) for i in range(len(words) - len(p) + 1)
    )


def _asks_to_act(t) -> bool:
    """'want me to book it?', 'would you like me to ...', 'shall I ...': an offer put as a question."""
    if t.lower_ == "me" and t.i + 1 < len(t.doc) and t.nbor().lower_ == "to":
        return t.i > 0 and t.nbor(-1).lemma_.lower() in ("want", "like")
    return t.lower_ in ("shall", "shld") and t.i + 1 < len(t.doc) and t.nbor().lower_ in AGENT_SUBJECTS


def _invites_back(t) -> bool:
    """'just give us a call', 'let us know': the customer is asked to come back to us, help offered."""
    verb = t.head
    if t.lower_ != "us" or t.dep_ not in ("dative", "dobj", "pobj", "nsubj") or verb.tag_ != "VB":
        return False
    kids = list(verb.children)
    # 'if it does just give us a call' parses 'it does' onto 'give': a condition, not a subject
    if any(c.dep_ == "mark" and c.lower_ == "if" for c in kids):
        return True
    return not any(c.dep_ in ("nsubj", "aux") for c in kids)


def offers_action(sent: Span) -> bool:
    """'I can get someone to you Friday', 'we'll ...', 'let me/us ...'; not negated, not 'the
    only thing I can do', not 'I can see ...' or 'I can only ...' (defensive.json, not_offers)."""
    not_offers = _not_offers()
    for t in sent:
        if t.dep_ == "nsubj" and t.lower_ in AGENT_SUBJECTS:
            verb = t.head
            if verb.dep_ == "relcl" or verb.lemma_.lower() in not_offers:
                continue
            kids = [c.lower_ for c in verb.children if c.dep_ in ("aux", "neg", "advmod")]
            if any(a in OFFER_AUX for a in kids) and not any(k in NEGATION_WORDS or k in not_offers for k in kids):
                return True
        if t.lower_ == "let" and t.i + 1 < sent.end and t.nbor().lower_ in ("me", "us"):
            return True
        if _asks_to_act(t) or _invites_back(t):
            return True
    # the earliest slot or another option named after a limit: the customer is offered the next thing
    return has_phrase(sent, "alternatives")


def _agent_acts(sent: Span) -> bool:
    """Does the agent act or offer to in this sentence: a commitment next_step reads (a report of
    a done action included), or an offer."""
    from bot.checks import next_step  # imported here: next_step's module imports stay its own

    return any(t.pos_ in ("VERB", "AUX") and next_step.is_commitment(t) for t in sent) or offers_action(sent)


def _reply_context(doc: Doc) -> Dict[int, Tuple[bool, bool]]:
    """For each sentence (by its first token): does the agent act in it, and in the next one.
    Kept on the doc with whether the reply owns the failure ('that's on us')."""
    key = "checks_defensive_context"
    memo = doc.user_data.get(key)
    if memo is None:
        from bot.checks.defensive import owns_failure  # defensive imports this module

        sents = clauses(doc)
        acts = [_agent_acts(s) for s in sents]
        memo = {s.start: (acts[i], i + 1 < len(sents) and acts[i + 1]) for i, s in enumerate(sents)}
        memo[-1] = (owns_failure(doc), False)
        doc.user_data[key] = memo
    return memo


def _context_features(span: Span, negated: bool) -> List[str]:
    context = _reply_context(span.doc)
    here, after = context.get(span.start, (False, False))
    feats = []
    if here:
        feats.append("offer_here")
    if after:
        feats.append("offer_next")
    if negated and (here or after):
        feats.append("neg_offer")  # a limit stated and worked round, not a wall
    if context[-1][0]:
        feats.append("owned")
    return feats


def _clause_parts(span: Span) -> Tuple[List[str], List[str]]:
    """The sentence's normalised words, and its features other than each word's own."""
    chat = _chat_words()
    negations = NEGATION_WORDS
    words: List[str] = []
    feats = ["bias"]
    subjects, modals = [], []
    negated = False
    for t in span:
        if t.is_space:
            continue
        low = t.lower_
        w = chat.get(low, low)
        words.append(w)
        dep = t.dep_
        if dep in ("nsubj", "nsubjpass", "expl"):
            subjects.append(_subject(t))
        elif dep == "neg" or w in negations:
            negated = True
        if t.tag_ == "MD":
            modals.append(w)
        elif dep == "poss" and w in POSSESSIVES:
            feats.append("poss:" + w + "|" + t.head.lemma_.lower())
            feats.append("poss:" + w)
        elif dep == "ROOT":
            lemma = t.lemma_.lower()
            feats.append("root:" + lemma)
            feats += ["subj_root:" + _subject(c) + "|" + lemma for c in t.children if c.dep_ in ("nsubj", "nsubjpass")]
        elif dep == "agent":
            feats.append("agent")
    feats += ["b:" + a + "_" + b for a, b in zip(words, words[1:])]
    for s in subjects:
        feats.append("subj:" + s)
        if negated:
            feats.append("subj_neg:" + s)
        feats += ["subj_modal:" + s + "|" + m for m in modals]
    feats += ["modal:" + m for m in modals]
    if negated:
        feats.append("neg")
    feats += _context_features(span, negated)
    question = bool(words and (words[-1] == "?" or (len(words) > 1 and words[-2] == "?")))
    if question:
        feats.append("question")
        # a question about the customer's own handling ('did u restart it properly tho?'), read from
        # the parse: the customer as subject, and the manner or past tense of what they did
        if "you" in subjects:
            feats.append("q_you")
            for t in span:
                if t.dep_ == "aux" and t.lower_ in ("did", "have", "had"):
                    feats.append("q_you_did")
                elif t.dep_ == "advmod" and t.tag_ == "RB" and t.head.pos_ == "VERB" and _norm(t) not in NEGATION_WORDS:
                    feats.append("q_you_adv")
    # a concession turned against the complaint: 'Cables can be faulty too though.'
    if has_phrase(span, "concessive"):
        feats.append("concessive")
        feats += ["concessive_subj:" + s for s in subjects]
        if question:
            feats.append("concessive_q")
    if words and words[0] in APOLOGY_WORDS | {"i'm", "i", "we", "we're", "so", "really"} and any(w in APOLOGY_WORDS for w in words[:4]):
        feats.append("opens_apology")
        if "but" in words:
            feats.append("apology_but")
    return words, feats


def clause_features(span: Span) -> List[str]:
    """Feature names of one sentence, repeated as often as they occur (the model counts them);
    the training script and the check read sentences through this same function."""
    words, feats = _clause_parts(span)
    for w in words:
        feats += _word_features(w)
    return feats


def kind_features(span: Span) -> List[str]:
    """What the kind model reads: the sentence's words and parse (no character n-grams, which
    carry spelling rather than kind) and its kind cues."""
    words, feats = _clause_parts(span)
    return feats + ["w:" + w for w in words] + kind_cue_features(span, words)


def _best(labels: Tuple[str, ...], weights: Dict[str, Tuple[float, ...]], feats: Sequence[str]) -> str:
    totals = [0.0] * len(labels)
    for f in feats:  # the intercept comes in as the feature "bias"
        row = weights.get(f)
        if row:
            for i, v in enumerate(row):
                totals[i] += v
    return labels[max(range(len(totals)), key=totals.__getitem__)]


@dataclass(frozen=True)
class StanceModel:
    weights: Dict[str, float]
    threshold: float
    kinds: Tuple[str, ...]
    kind_weights: Dict[str, Tuple[float, ...]]
    limit_kinds: Tuple[str, ...]
    limit_weights: Dict[str, Tuple[float, ...]]
    source: str
    # each word form's summed weights, filled as words are met
    word_cache: Dict[str, float] = field(default_factory=dict, compare=False, repr=False)

    def score(self, feats: Sequence[str]) -> float:
        """The defence log-odds of one clause (bias included), from clause_features."""
        get = self.weights.get
        return sum(get(f, 0.0) for f in feats)

    def score_clause(self, span: Span) -> float:
        """score(clause_features(span)), with each word's share summed once per word form."""
        words, feats = _clause_parts(span)
        get = self.weights.get
        return sum(get(f, 0.0) for f in feats) + sum(_word_score(self, w) for w in words)

    def kind(self, span: Span) -> str:
        """The kind the tip names (kind_features)."""
        return _best(self.kinds, self.kind_weights, kind_features(span))

    def limit_kind(self, span: Span) -> str:
        """The lexicon-trained kind that decides whether an offer works the sentence round."""
        return _best(self.limit_kinds, self.limit_weights, [f for f in clause_features(span) if not f.startswith("c:")])


@lru_cache(maxsize=1)
def load_model() -> Optional[StanceModel]:
    """The trained weights, or None when the file is missing (the lexicon then works alone)."""
    if not MODEL_PATH.exists():
        return None
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    limit = data.get("limit_kinds", data["kinds"])
    return StanceModel(
        weights=data["weights"],
        threshold=float(data["threshold"]),
        kinds=tuple(data["kinds"]["labels"]),
        kind_weights={k: tuple(v) for k, v in data["kinds"]["weights"].items()},
        limit_kinds=tuple(limit["labels"]),
        limit_weights={k: tuple(v) for k, v in limit["weights"].items()},
        source=data["_source"],
    )


@dataclass(frozen=True)
class Stance:
    span: Span
    score: float
    kind: str
    limit_kind: str


def clauses(doc: Doc) -> List[Span]:
    return [s for s in doc.sents if any(not t.is_punct and not t.is_space for t in s)]


def defences(doc: Doc) -> List[Stance]:
    """Sentences of the reply the learned layer judges defensive, best first; kept on the doc."""
    key = "checks_defensive_stance"
    if key not in doc.user_data:
        model = load_model()
        found: List[Stance] = []
        if model is not None:
            for span in clauses(doc):
                value = model.score_clause(span)
                if value >= model.threshold:
                    found.append(Stance(span, value, model.kind(span), model.limit_kind(span)))
        found.sort(key=lambda s: -s.score)
        doc.user_data[key] = found
    return list(doc.user_data[key])
