"""The customer's situation as a clause's subject, judged: tests for active_listening's clause kinds.

A restatement need not open with 'you' or a frame: the situation itself can be the subject,
told as a noun phrase or a gerund and judged by the predicate ('A parcel marked delivered when
you were home all afternoon is really stressful', 'Being quoted 320 dollars for a dry phone
must be maddening', 'A week of drops would stress anyone'). These tests tell such a clause
from what looks like it on the surface: a definition ('An eSIM is a SIM built in'), the
agent's plan ('it should be ready by Friday'), a reassurance about the remedy ('your photos
are safe') and a claim about people in general ('the screens confuse almost everyone').
The word lists are in active_listening.json ("situation"), with the reason for each.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Dict, FrozenSet, List, Set, Tuple

from spacy.tokens import Doc, Token

from bot.checks._lexicon import load_lexicon


@lru_cache(maxsize=1)
def _lists() -> Dict[str, FrozenSet[str]]:
    data = load_lexicon("active_listening")["situation"]
    return {k: frozenset(v) for k, v in data.items() if not k.startswith("_")}


def situation_words(key: str) -> FrozenSet[str]:
    """One of the word lists under "situation" in active_listening.json."""
    return _lists()[key]


def narrates(subject: Token) -> bool:
    """Does the subject tell what happened to this customer? A past event inside it ('a
    technician who never turned up', 'mains that came out cold'), the customer in it ('when
    you were home') or a count ('Fifty minutes for mains'). A term being defined has none."""
    you = _lists()["you"]
    for t in subject.subtree:
        if t.lower_ in you:
            return True
        if t.tag_ == "VBD" or (t.dep_ in {"relcl", "acl", "advcl"} and t.tag_ in {"VBD", "VBN", "VBG"}):
            return True
        if t.dep_ == "nummod" and t.head.i == subject.i:
            return True
    return False


def judges(modal: Token) -> bool:
    """'must be maddening', 'anyone would be fed up', 'would stress anyone', 'nobody should
    have to': a modal that judges the situation or says how anyone would take it, not a plan."""
    verb = modal.head
    lists = _lists()
    if _ought_not_to_suffer(modal, verb):
        return True
    if any(c.lower_ in lists["anyone"] for c in verb.children if c.dep_ in {"nsubj", "dobj", "nsubjpass"}):
        return True
    if _judgement(verb):  # 'must be maddening', parsed with 'maddening' as the verb
        return True
    if verb.lemma_ != "be":
        return False
    return any(c.dep_ in {"acomp", "attr"} and _judgement(c) for c in verb.children)


def _ought_not_to_suffer(modal: Token, verb: Token) -> bool:
    """'You shouldn't be asked to pay 320 dollars', 'you shouldn't have to chase us': what is
    done to the customer judged wrong; 'you shouldn't restart it' is advice."""
    if modal.lower_ not in {"should", "ought"} or not any(c.dep_ == "neg" for c in verb.children):
        return False
    subject = next((c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}), None)
    if subject is None or subject.lower_ not in _lists()["you"]:
        return False
    passive = subject.dep_ == "nsubjpass" or any(c.dep_ == "auxpass" for c in verb.children)
    return passive or (verb.lemma_ == "have" and any(c.dep_ == "xcomp" for c in verb.children))


def _judgement(token: Token) -> bool:
    judgements = _lists()["judgements"]
    return token.lemma_.lower() in judgements or token.lower_ in judgements or any(
        c.dep_ == "amod" and c.lemma_.lower() in judgements for c in token.children
    )


def reassures(verb: Token) -> bool:
    """'Your photos are still safe on the old phone', 'your number is fine': the state of the
    customer's thing after the remedy, not what went wrong; 'not safe' is still a problem."""
    if any(c.dep_ == "neg" for c in verb.children):
        return False
    states = _lists()["reassured_states"]
    if verb.lemma_ in _lists()["staying_verbs"]:  # 'your photos stay exactly where they are'; not 'stays frozen'
        return all(c.lemma_.lower() in states for c in verb.children if c.dep_ in {"acomp", "oprd", "xcomp"})
    if verb.lemma_ != "be":
        return False
    if any(c.dep_ == "acomp" and c.lemma_.lower() in states for c in verb.children):
        return True
    # 'The add-on is gone from your account': the remedy done, told in the present; 'your parcel
    # is gone' and 'the add-on was removed and came back' still say what went wrong
    subject = next((c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}), None)
    mine = subject is not None and any(w.lower_ in _lists()["you"] for w in subject.subtree)
    resolved = any(c.dep_ in {"acomp", "attr"} and c.lower_ in _lists()["resolved_states"] for c in verb.children)
    return resolved and verb.tag_ in {"VBZ", "VBP"} and not mine


def about_everyone(verb: Token) -> bool:
    """'the set-up screens confuse almost everyone': the present tense about people in
    general is a general truth, not this customer's case."""
    if verb.tag_ not in {"VBZ", "VBP"}:
        return False
    return any(c.lower_ in _lists()["everyone"] for c in verb.children if c.dep_ in {"nsubj", "dobj"})


def gerund_subject(verb: Token) -> bool:
    """'Dropping out ten times a day ..., is a terrible week': a gerund the parser made the
    root, with the sentence's 'is' hung under it, is the subject, not a chat 'removing it now'."""
    if verb.tag_ != "VBG" or any(c.dep_ in {"aux", "nsubj"} for c in verb.children):
        return False
    return any(c.dep_ == "conj" and c.lemma_ == "be" and c.i > verb.i for c in verb.children)


def chat_promises(doc: Doc) -> List[Tuple[Token, Set[int]]]:
    """Token indices of 'ill email u the confirmation', 'il ring u tmrw': chat drops the
    apostrophe of 'I'll', and the parser reads 'ill' as sick; the promise runs to the next
    comma or full stop."""
    marks = _lists()["chat_i_will"]
    out: List[Tuple[Token, Set[int]]] = []
    for t in doc:
        if t.lower_ not in marks or t.i + 1 >= len(doc) or not doc[t.i + 1].is_alpha:
            continue
        if t.i > t.sent.start and not (doc[t.i - 1].is_punct or doc[t.i - 1].lower_ in {"and", "so", "ok", "okay"}):
            continue  # 'she was ill after the meal'
        end = t.i + 1
        while end < t.sent.end and not (doc[end].is_punct and doc[end].text in {",", ".", ";", "!", "?"}):
            end += 1
        out.append((t, set(range(t.i, end))))
    return out


def general_claim(verb: Token) -> bool:
    """How things work or what a thing is, not this customer's case: a gerund doing something in
    the present simple ('Transferring data needs a Wi-Fi connection', 'Copying only makes a
    second set') or a thing said to be a kind of thing ('The eSIM is a SIM card built into the
    phone'). A gerund judged ('Dropping out ten times a day is a terrible week') or a subject
    that narrates is the customer's case."""
    if verb.tag_ not in {"VBZ", "VBP"} or any(c.dep_ in {"aux", "auxpass"} for c in verb.children):
        return False
    subject = next((c for c in verb.children if c.dep_ in {"nsubj", "csubj"}), None)
    if subject is None or narrates(subject):
        return False
    if verb.lemma_ != "be":
        return subject.tag_ == "VBG"
    if subject.pos_ not in {"NOUN", "PROPN"} or any(c.dep_ == "poss" for c in subject.children):
        return False  # 'your laptop is a ...', 'it is a ...'
    attr = next((c for c in verb.children if c.dep_ == "attr"), None)
    return attr is not None and attr.pos_ == "NOUN" and not _judgement(attr) and any(
        c.dep_ == "det" and c.lower_ in {"a", "an"} for c in attr.children
    )
