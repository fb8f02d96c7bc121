"""The learned layer of active_listening: does a sentence restate the customer's problem.

Rules fitted to one author's phrasing missed the next author's (fresh sets scored 0.839, 0.841,
0.840 while the development set rose to 0.940). This layer judges each sentence of the reply with
a linear model over what the parse says about it rather than its phrasing: which frame the rules
found there and how many details it had, how many distinct details the sentence shares with the
customer's message or the scenario's facts and in which role (subject or object of a past or
negated verb, inside an apology, in the agent's plan or offer), whether it names a failure, who
the subject is, tense and modality, what kind of question it is; and its words, with the shared
details as a placeholder and other content words as their part of speech ('so D D', 'your D',
'NOUN VERB'), so no scenario's topic is learned and a scenario trainers write reads the same.
Trained by `python -m bot.checks.train_listening` and stored as plain weights in
bot/resources/learned/active_listening.json; scoring is a dictionary sum over the parse the
checks already have. A missing, unreadable or outdated model file leaves the rules to judge
alone and says so once in the log (load_model).
"""
from __future__ import annotations

import hashlib
import inspect
import json
import logging
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span, Token

from bot.checks import defensive, probing_question
from bot.checks._apology_scope import apology_scope, vague_outcome
from bot.checks._context import Context, concepts, is_negated, name_parts
from bot.checks._details import says_what_went_wrong
from bot.checks._lexicon import pattern_set
from bot.checks._restatement_clauses import is_info_question, sentences
from bot.checks.defensive_stance import NEGATION_WORDS, _norm, _reply_context, _subject
from bot.settings import RESOURCES

log = logging.getLogger(__name__)

MODEL_PATH = RESOURCES / "learned" / "active_listening.json"
PERSONS = {"you": "you", "u": "you", "i": "i", "we": "we", "it": "it", "that": "it", "this": "it", "they": "they"}
ROLES = {"nsubj": "subj", "nsubjpass": "subj", "dobj": "obj", "attr": "obj", "oprd": "obj", "pobj": "pobj"}
PLACEHOLDER = "D"
VETOES = frozenset({"has:defensive", "has:defence", "vague_outcome", "info_q"})
NEUTRAL = 0.0  # the layer's score of a reply with no eligible sentence: no opinion


def _bucket(n: int, top: int = 4) -> str:
    return str(min(n, top))


def _verb_of(token: Token) -> Optional[Token]:
    """The verb a word hangs on: itself, or its nearest verb ancestor."""
    t = token
    for _ in range(6):
        if t.pos_ in ("VERB", "AUX"):
            return t
        if t.head.i == t.i:
            return None
        t = t.head
    return None


# Parts of speech whose words are kept as they are: the frame of a sentence, not its topic.
FRAME_POS = frozenset({"PRON", "AUX", "PART", "ADP", "DET", "CCONJ", "SCONJ", "INTJ"})


def _tense(verb: Token) -> str:
    kids = [c for c in verb.children if c.dep_ in ("aux", "auxpass")]
    low = {_norm(c) for c in kids}
    if low & {"will", "'ll", "ll", "can", "could", "would", "shall", "should", "might", "may", "must", "gonna"}:
        return "modal"
    if verb.tag_ == "VBD" or (verb.tag_ == "VBN" and low & {"have", "has", "had", "'ve", "was", "were", "been", "got"}):
        return "past"
    if verb.tag_ == "VBG":
        return "ing"
    return "pres"


def _person(verb: Token) -> str:
    for c in verb.children:
        if c.dep_ in ("nsubj", "nsubjpass", "expl"):
            s = _subject(c)
            return PERSONS.get(s, "noun" if s.startswith("N:") else "other")
    return "none"


def _shared(sent: Span, ctx: Context) -> List[Tuple[str, int]]:
    """(concept, token index) of the sentence's details the customer or the facts also name
    (every content word when there is no context, as details_in reads them)."""
    skip = name_parts(ctx.customer_name)
    return [(c, start) for c, start, _ in concepts(list(sent), skip=skip) if not ctx.known or c in ctx.known]


def _anchor(cand) -> int:
    """Where a rules' candidate is: its frame, or the start of its scope for frameless kinds."""
    return cand.frame.start if len(cand.frame) or not cand.scope else cand.scope[0].i


def sentence_parts(sent: Span, ctx: Context, spans: Dict[str, List[Span]]) -> List[str]:
    """The features of one sentence, words included (the model counts repeats)."""
    doc = sent.doc
    feats = ["bias"]
    inside = {k: [s for s in v if sent.start <= s.start < sent.end] for k, v in spans.items()}
    feats += ["has:" + k for k, v in inside.items() if v]
    # 'sorry your evening wasn't what it should have been': the occasion and only that it went badly
    if any(vague_outcome(apology_scope(a)) for a in inside["apology"]):
        feats.append("vague_outcome")
    shared = _shared(sent, ctx)
    distinct = {c for c, _ in shared}
    feats.append("shared:" + _bucket(len(distinct)))
    feats += ["shared>=" + str(k) for k in (1, 2, 3) if len(distinct) >= k]
    after_apology = {t.i for s in inside["apology"] for t in sent if t.i >= s.end}
    acts_here = _reply_context(doc).get(sent.start, (False, False))[0]
    roles = set()
    for _, i in shared:
        t = doc[i]
        role = ROLES.get(t.dep_, ROLES.get(t.head.dep_, "mod") if t.dep_ in ("compound", "amod", "poss", "nummod") else "other")
        verb = _verb_of(t)
        if verb is None:
            roles.add("sh_nov:" + role)
            continue
        tense, person = _tense(verb), _person(verb)
        roles.update(("sh_role:" + role, "sh_tense:" + tense, "sh_person:" + person, "sh_rt:" + role + "|" + tense,
                      "sh_pt:" + person + "|" + tense))
        if is_negated(verb):
            roles.add("sh_neg")
        if i in after_apology:
            roles.add("sh_in_apology")
    feats += sorted(roles)
    if acts_here:
        feats.append("agent_acts")
        if distinct:
            feats.append("shared_in_plan")
    tokens = [t for t in sent if not t.is_space]
    if says_what_went_wrong(tokens, ()):
        feats.append("problem")
        if distinct:
            feats.append("problem_shared:" + _bucket(len(distinct), 3))
    if any(t.dep_ == "neg" or _norm(t) in NEGATION_WORDS for t in tokens):
        feats.append("neg")
    root = sent.root
    feats += ["root_tense:" + _tense(root), "root_person:" + _person(root), "root_pt:" + _person(root) + "|" + _tense(root)]
    if probing_question.is_question(sent):
        feats.append("info_q" if is_info_question(sent) else "check_q")
    if sent.start == 0:
        feats.append("first")
    elif _after(sent, spans):
        feats.append("after_apology")  # 'I'm sorry. Three promised callbacks and not one came.'
    feats.append("len:" + _bucket(len(tokens) // 6, 5))
    # the frame around the details, not the topic: shared details as a placeholder, other content
    # words as their part of speech. With the content words themselves the layer learned the
    # scenarios' topics: held out by scenario it fell to F1 0.885 (0.888 with parts of speech
    # alone; voted 0.916 -> 0.921), and on the fresh rounds 10 and 11 voted at 0.5 it scored
    # 0.900 / 0.909 with words, 0.915 / 0.921 with parts of speech (python -m bench.listening_crossval).
    detail_at = {i for _, i in shared}
    seq = [PLACEHOLDER if t.i in detail_at else _norm(t) if t.is_stop or t.pos_ in FRAME_POS else t.pos_
           for t in tokens if not t.is_punct]
    feats += ["w:" + w for w in seq if w != PLACEHOLDER]
    feats += ["b:" + a + "_" + b for a, b in zip(["<s>"] + seq, seq + ["</s>"])]
    return feats


def _after(sent: Span, spans: Dict[str, List[Span]]) -> bool:
    """Does the sentence before this one hold an apology or empathy and little else?"""
    before = [s for s in sentences(sent.doc) if s.end <= sent.start]
    if not before:
        return False
    prev = before[-1]
    return len(prev) <= 6 and any(prev.start <= s.start < prev.end for s in spans["apology"] + spans["empty_empathy"])


def _spans(doc: Doc) -> Dict[str, List[Span]]:
    from bot.checks import active_listening as al  # it imports this module

    return {
        "apology": al._apology_spans(doc),
        "frame": [m.span for m in pattern_set(doc.vocab, "active_listening", "frames").find(doc)],
        "empty_empathy": [m.span for m in pattern_set(doc.vocab, "active_listening", "empty_empathy").find(doc)],
        "thanks": [m.span for m in pattern_set(doc.vocab, "thanks").find(doc)],
        "defensive": [m.span for m in defensive.flagged(doc, None)],
        # the learned defensive layer's sentences: a detail used against the customer restates nothing
        "defence": [st.span for st in defensive.learned(doc, defensive.flagged(doc, None))],
    }


def reply_features(doc: Doc, ctx: Context) -> List[Tuple[Span, List[str]]]:
    """Each sentence with words, and its features; the training script reads replies through this."""
    spans = _spans(doc)
    return [(s, sentence_parts(s, ctx, spans)) for s in sentences(doc) if any(not t.is_punct and not t.is_space for t in s)]


def feature_hash() -> str:
    """A hash of the code that makes the features: a model trained on other features is refused."""
    source = "".join(inspect.getsource(f) for f in (_tense, _person, _verb_of, _shared, sentence_parts, _after, _spans))
    return hashlib.sha256(source.encode("utf-8")).hexdigest()[:16]


@dataclass(frozen=True)
class ListeningModel:
    weights: Dict[str, float]
    threshold: float
    # what the rules' verdict adds to the layer's log-odds, yes or no: the likelihood ratios of
    # the rules' first scores on fresh authors (train_listening.rule_votes), not their fit here
    rule_votes: Tuple[float, float]
    source: str

    def score(self, feats: Sequence[str]) -> float:
        get = self.weights.get
        return sum(get(f, 0.0) for f in feats)


class ModelFileError(ValueError):
    pass


def read_model(path) -> ListeningModel:
    """The stored model; ModelFileError names what is wrong with the file."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        votes = data["rule_votes"]
        model = ListeningModel({k: float(v) for k, v in data["weights"].items()}, float(data["threshold"]),
                               (float(votes["yes"]), float(votes["no"])), str(data["_source"]))
        stored = data["feature_hash"]
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise ModelFileError(f"{path}: not a readable active_listening model ({exc.__class__.__name__}: {exc})") from exc
    if stored != feature_hash():
        raise ModelFileError(f"{path}: trained on other features (hash {stored}, the code makes {feature_hash()}); retrain it")
    return model


@lru_cache(maxsize=1)
def load_model() -> Optional[ListeningModel]:
    """The stored model, or None: the rules then judge alone (logged once, with the reason)."""
    try:
        return read_model(MODEL_PATH)
    except ModelFileError as exc:
        log.warning("active_listening judged by the rules alone: %s (python -m bot.checks.train_listening makes it)", exc)
        return None


@dataclass(frozen=True)
class Verdict:
    found: bool
    span: Optional[Span]  # the sentence judged most like a restatement
    score: float  # the layer's log-odds for that sentence, the rules' vote added


def eligible(feats: Sequence[str]) -> bool:
    """Can this sentence be the restatement at all? Not when docs/checks.md says no whatever its
    details: a defensive sentence, an apology for a vague outcome, an information question (the
    rules still find the reason part of a question; their vote carries it)."""
    return not VETOES.intersection(feats)


def best_sentence(scored: Sequence[Tuple[float, Optional[Span], bool]]) -> Tuple[float, Optional[Span]]:
    """The highest-scoring eligible sentence; NEUTRAL when none is, so the rules' vote decides."""
    return max(((v, s) for v, s, ok in scored if ok), key=lambda x: x[0], default=(NEUTRAL, None))


def judge(doc: Doc, ctx: Context, rule_found: bool, model: ListeningModel) -> Verdict:
    """The rules' verdict and the layer's best sentence, voted: the rules are overruled only
    where the layer is sure enough to outweigh what the rules' verdict is worth on a new author."""
    score, span = best_sentence([(model.score(f), s, eligible(f)) for s, f in reply_features(doc, ctx)])
    score += model.rule_votes[0] if rule_found else model.rule_votes[1]
    return Verdict(score >= model.threshold, span, score)
