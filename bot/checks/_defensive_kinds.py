"""Which kind of defence a sentence is, for the tip of a learned defensive verdict.

The tip names the kind and offers that kind's rewrite ("kind_phrases", "kind_rewrites" in
defensive.json), so a wrong kind hands the trainee a rewrite that does not fit: 'Older cables can
cause exactly this kind of thing' read as a policy wall. What carries the kind is mostly who the
sentence is about and what it leans on: the customer or their equipment (blame), other customers
or "most people" (comparison), a team or third party (deflection), the system or a staff member's
account (records), "have to"/"only"/"policy" (a wall), "most ... often ... not unusual" (minimising),
tone words (tone policing). So beside the sentence's words and parse the kind model reads those
(the word groups are "kind_cues" in defensive.json) and the labels of the lexicon's patterns that
match inside the sentence before its exceptions are applied (a pattern set aside in a question or
after a negation still names the kind of the sentence around it).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Dict, List, Tuple

from spacy.tokens import Span

from bot.checks._lexicon import load_lexicon, pattern_set

CUSTOMER = frozenset({"you", "u", "ya", "yours"})
AGENT = frozenset({"i", "me"})
COMPANY = frozenset({"we", "us"})
# "most passengers", "other owners", "every other passenger": a determiner that makes the subject
# other customers in general
GENERAL_DETERMINERS = frozenset({"most", "other", "every", "all", "many", "plenty", "lots", "loads", "some"})


@lru_cache(maxsize=1)
def _cues() -> Tuple[Dict[str, str], Tuple[Tuple[str, Tuple[str, ...]], ...]]:
    entry = load_lexicon("defensive")["kind_cues"]
    subjects = {w: group for group, ws in entry["subjects"].items() for w in ws}
    phrases = tuple((group, tuple(p.split())) for group, ps in entry["phrases"].items() for p in ps)
    return subjects, phrases


def _subject_group(t, words: Dict[str, str]) -> str:
    low = t.lower_
    if low in CUSTOMER:
        return "customer"
    if low in AGENT:
        return "agent"
    if low in COMPANY:
        return "company"
    kids = [c for c in t.children if c.dep_ in ("poss", "det", "amod", "nummod", "quantmod", "predet")]
    owner = next((c.lower_ for c in kids if c.dep_ == "poss"), "")
    group = words.get(low) or words.get(t.lemma_.lower(), "")
    if any(c.lower_ in GENERAL_DETERMINERS for c in kids) and group in ("others", ""):
        return "others"
    if owner in ("your", "ur", "yr"):
        return "customer_" + (group or "thing")
    if owner in ("our",):
        return "our_" + (group or "thing")
    return group or ("it" if t.pos_ == "PRON" else "thing")


def kind_cue_features(span: Span, words: List[str]) -> List[str]:
    """Subject groups, cue-word groups and the raw lexicon labels of one sentence."""
    subjects, phrases = _cues()
    feats = []
    for t in span:
        if t.dep_ in ("nsubj", "nsubjpass", "expl"):
            group = _subject_group(t, subjects)
            feats.append("ksubj:" + group)
            feats.append("ksubj_root:" + group + "|" + t.head.lemma_.lower())
            # 'plenty of passengers walk that terminal': the head of 'of' carries the group
            for c in t.children:
                if c.dep_ == "prep" and c.lower_ == "of":
                    feats += ["ksubj:" + subjects[g.lower_] for g in c.children if g.lower_ in subjects]
        elif t.dep_ == "poss" and t.lower_ in ("your", "ur", "yr"):
            feats.append("kyour:" + subjects.get(t.head.lower_, "thing"))
    n = len(words)
    seen = set()
    for group, phrase in phrases:
        k = len(phrase)
        if group not in seen and any(words[i : i + k] == list(phrase) for i in range(n - k + 1)):
            seen.add(group)
    feats += ["kcue:" + g for g in sorted(seen)]
    doc = span.doc
    for m in pattern_set(doc.vocab, "defensive").find(doc):
        if span.start <= m.span.start < span.end:
            feats.append("lex:" + m.label)
    return feats
