"""What looks like a restatement and is not, for active_listening: the remedy, not the problem.

A candidate clause (bot/checks/_restatement_clauses.py) that tells what will happen ('your
refund is being processed'), the remedy the customer wants ('so you want a refund'), a plan
('First step is ...'), a reassurance about the remedy ('your photos are safe') or a definition
restates nothing, whatever details it has (docs/checks.md, "active_listening").
"""
from __future__ import annotations

from dataclasses import replace
from functools import lru_cache
from typing import Optional, Set, Tuple

from spacy.tokens import Doc, Token

from bot.checks._lexicon import load_lexicon, words
from bot.checks._restatement_clauses import Candidate, defines, rules, segments_of, sentences
from bot.checks._situation import about_everyone, reassures


def not_the_problem(cand: Candidate) -> bool:
    """A candidate without an explicit frame that tells the remedy, a plan or a reassurance:
    its own clause ('Your photos won't be touched'), or the clause after an empathy phrase
    ('I understand, and you won't lose a single photo')."""
    if cand.explicit:
        return False
    if _promised(cand) or _in_plan(cand) or _wanted(cand) or _reassured(cand):
        return True
    after = _after_frame(cand)
    return after is not None and (_promised(after) or _reassured(after))


def _after_frame(cand: Candidate) -> Optional[Candidate]:
    """The candidate read from the first word of its scope, when that follows its frame in
    another clause ('I understand, and | you won't lose ...')."""
    if not len(cand.frame) or not cand.scope or cand.scope[0].i < cand.frame.end:
        return None
    first = next((t for t in cand.scope if not (t.is_punct or t.is_space or t.dep_ == "cc")), None)
    if first is None or _clause_verb(first).i == _clause_verb(cand.frame[0]).i:
        return None
    return replace(cand, frame=cand.frame.doc[first.i : first.i], scope=tuple(t for t in cand.scope if t.i >= first.i))


def _reassured(cand: Candidate) -> bool:
    start = cand.frame[0] if len(cand.frame) else (cand.scope[0] if cand.scope else None)
    return start is not None and _own_verb(cand, _clause_verb(start)) and reassures(_clause_verb(start))


def _own_verb(cand: Candidate, verb: Token) -> bool:
    """Is `verb` in the candidate's own stretch of text? The parser may hang a verbless segment
    under the next segment's verb ('No signal on the new phone – we'll get both fixed'): that
    verb's tense or promise says nothing about the segment."""
    first = cand.frame.start if len(cand.frame) else (cand.scope[0].i if cand.scope else verb.i)
    last = cand.scope[-1].i if cand.scope else cand.frame.end - 1
    return first <= verb.i <= last


def _clause_verb(token: Token) -> Token:
    """The verb of the clause `token` stands in (the token itself if it is one, the root if none is)."""
    verb = token
    while not (verb.pos_ in {"VERB", "AUX"} and verb.dep_ not in {"aux", "auxpass"}) and verb.head.i != verb.i:
        verb = verb.head
    return verb


def _promised(cand: Candidate) -> bool:
    """'Your 142 dollars is being refunded today', 'Your photos won't be touched', 'You won't
    pay the 320', 'Your credit should show within a billing cycle': what will happen, not what
    went wrong. 'Your phone won't charge' is still the problem: negated, active, not 'you'."""
    start = cand.frame[0] if len(cand.frame) else (cand.scope[0] if cand.scope else None)
    if start is None:
        return False
    verb = _clause_verb(start)
    if not _own_verb(cand, verb):
        return False
    auxes = [c for c in verb.children if c.dep_ in {"aux", "auxpass"}]
    lowers = {a.lower_ for a in auxes}
    passive = any(c.dep_ in {"auxpass", "nsubjpass"} for c in verb.children)
    if "being" in lowers and lowers & {"is", "are", "'s", "'re"} and verb.tag_ == "VBN":  # not 'Being cut off from ...'
        return True
    if verb.tag_ == "VBN" and verb.lemma_.lower() in words("next_step", "scheduled_passive_verbs") and lowers & {"is", "are", "'s", "'re"}:
        return True  # 'both charges are refunded', 'it's booked for Tuesday'
    if not lowers & rules().promise_aux or lowers & {"have", "'ve"}:  # 'should have been there' is what went wrong
        return False
    if not any(c.dep_ == "neg" for c in verb.children):
        return True
    subject = next((c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}), None)
    if verb.lemma_.lower() in words("active_listening", "promised_absences"):  # 'it won't appear on your June bill'
        return True
    return passive or (subject is not None and subject.lower_ in rules().you)


def without_definitions(cand: Candidate) -> Candidate:
    """The candidate less the segments that define a term ('I'm sorry, you're right: a white
    indicator means no liquid got in'): a definition is general, not the customer's case."""
    if not cand.scope:
        return cand
    defined = _defined_tokens(cand.scope[0].doc)
    if not defined or not any(t.i in defined for t in cand.scope):
        return cand
    return replace(cand, scope=tuple(t for t in cand.scope if t.i not in defined))


def _defined_tokens(doc: Doc) -> Set[int]:
    """Indices of the tokens in segments that define a term, worked out once per reply."""
    cached = doc.user_data.get("checks_defined_tokens")
    if cached is None:
        cached = {t.i for sent in sentences(doc) for seg in segments_of(sent) if defines(seg) for t in seg}
        # 'You're doing fine, and the set-up screens confuse almost everyone': the general clause goes
        cached |= {s.i for t in doc if about_everyone(t) and t.dep_ != "ROOT" for s in t.subtree}
        doc.user_data["checks_defined_tokens"] = cached
    return cached


def _wanted(cand: Candidate) -> bool:
    """'Right, you'd like it taken off and the money back', 'so you want a refund': the remedy
    the customer asks for, not what went wrong."""
    start = cand.scope[0] if cand.scope else (cand.frame[0] if len(cand.frame) else None)
    if start is None:
        return False
    verb = _clause_verb(start)
    if not _own_verb(cand, verb):
        return False
    subject = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    return verb.lemma_.lower() in rules().want_verbs and subject is not None and subject.lower_ in rules().you and not any(
        c.dep_ == "neg" for c in verb.children
    )


def _in_plan(cand: Candidate) -> bool:
    """'First step is to do a factory reset on the new phone', 'Option two, you pay the 320',
    'Now: engineer on Tuesday': a sentence that opens as a plan lists what will be done."""
    sent = cand.frame.sent if len(cand.frame) else (cand.scope[0].sent if cand.scope else None)
    if sent is None:
        return False
    opening = tuple(t.lower_ for t in sent if not t.is_space)[:3]
    return any(opening[: len(o)] == tuple(o) for o in _plan_openers())


@lru_cache(maxsize=1)
def _plan_openers() -> Tuple[Tuple[str, ...], ...]:
    return tuple(tuple(o) for o in load_lexicon("active_listening")["plan_openers"])
