"""Who acts and what the action is, for next_step: the parse helpers its commitment rule and
its tips share.

A verb's auxiliaries and subject (chat drops both: 'ill call u' has no parsed subject, 'email
you' shares the "'ll" of 'I'll ship it today and email you'); a causative 'have someone call
you'; and what kind of action it is: vague ('look into it', 'get it sorted'), wished ('I'd like
to call you'), a delivery told with 'should', or a remedy's place ('the refund will be on your
card by Friday').
"""
from __future__ import annotations

from typing import List, Optional

from spacy.tokens import Token

from bot.checks._context import is_negated
from bot.checks._lexicon import load_lexicon, words

FUTURE_AUX = frozenset({"will", "'ll", "shall", "wo"})


def _auxiliaries(verb: Token) -> List[Token]:
    own = [c for c in verb.children if c.dep_ in {"aux", "auxpass"}]
    if not own and verb.dep_ == "conj":  # 'I'll ship it today and email you': email shares "'ll"
        return _auxiliaries(verb.head)
    return own


def _subject(verb: Token) -> Optional[Token]:
    subjects = [c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass", "expl"}]
    if subjects:
        # 'Free repair approved just now, and a courier will collect it': the parser can hang two
        # subjects on one verb; the one next to it is the verb's own
        before = [c for c in subjects if c.i < verb.i]
        return before[-1] if before else subjects[0]
    if _typed_future(verb):
        return verb.doc[verb.i - 1]
    if verb.dep_ in {"conj", "xcomp", "ccomp"} and verb.head.i != verb.i:
        return _subject(verb.head)
    return None


def _is_causative(verb: Token) -> bool:
    """'I'll have someone call you': the action is in the clause after 'have'."""
    return verb.lemma_.lower() in words("next_step", "causative_verbs") and any(
        c.dep_ in {"ccomp", "xcomp"} and c.pos_ == "VERB" for c in verb.children
    )


def _typed_future(verb: Token) -> bool:
    """'ill call you back', 'imma send it': "I'll" typed without the apostrophe."""
    if verb.i == 0 or verb.tag_ not in {"VB", "VBP"}:
        return False
    before = verb.doc[verb.i - 1]
    starts_clause = before.i == verb.sent.start or verb.doc[before.i - 1].is_punct
    return starts_clause and before.lower_ in words("next_step", "typed_future")


def _remedy_arrives(verb: Token) -> bool:
    """'The refund will be on your card by Friday', 'an engineer will be at your home Tuesday',
    'it's on its way back to you': where the remedy or the person sent will be, not how things are."""
    subject = _subject(verb)
    if subject is None or not (subject.pos_ in {"NOUN", "PROPN"} or subject.lower_ == "it"):
        return False
    places = words("next_step", "be_places")
    return any(c.dep_ == "prep" and c.lower_ in places and any(g.dep_ == "pobj" for g in c.children) for c in verb.children)


def is_vague(verb: Token) -> bool:
    """'look into it', 'sort it out', 'get back to you', 'have someone look at it', 'get it
    sorted': no deliverable the customer could hold the agent to, even with a time."""
    vague = load_lexicon("next_step")["vague_actions"]
    lemma = verb.lemma_.lower()
    if lemma in vague["always"]:
        return True
    objects = [c for c in verb.children if c.dep_ == "dobj"]
    if lemma in vague["without_object"]:
        # 'we'll see', 'I'll do my best', 'see what I can do'; not 'do an OTA push', 'you'll see the refund'
        subject = _subject(verb)
        return (subject is None or subject.lower_ in words("next_step", "first_person")) and all(
            o.lemma_.lower() in vague["empty_objects"] for o in objects)
    particles = vague["with_particle"].get(lemma)
    for c in verb.children:
        if particles and c.dep_ in {"prt", "advmod", "prep"} and c.lower_ in particles:
            return not (c.lower_ == "back" and objects)  # 'get the money back to you' is a refund
    if _is_causative(verb) or lemma in words("next_step", "causative_verbs"):
        # the thing to be done hangs on 'have'/'get' or, as the parser often has it, on its object
        objects = [c for c in verb.children if c.dep_ == "dobj"]
        done = [c for c in verb.children if c.dep_ in {"ccomp", "xcomp", "oprd", "acomp"}]
        done += [c for o in objects for c in o.children if c.dep_ in {"relcl", "acl"}]
        return any(c.lower_ in vague["done_to_it"] or (c.pos_ == "VERB" and is_vague(c)) for c in done)
    return False


def _wished(verb: Token) -> bool:
    """'I'd like to', 'we want to': the agent's own wish to act is a commitment to do it."""
    if verb.lemma_.lower() not in words("next_step", "wish_verbs") or is_negated(verb) or verb.sent.text.rstrip().endswith("?"):
        return False
    subject = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    return subject is not None and subject.lower_ in {"i", "we"} and not any(
        a.lower_ in {"might", "may", "could"} for a in _auxiliaries(verb))


def _firm_should(verb: Token, subject: Optional[Token]) -> bool:
    """'your credit should show within one billing cycle', 'you should see it in 3 to 5 days':
    a delivery told with 'should' is still promised; 'you should have ordered sooner' is not."""
    if any(a.lemma_ == "have" for a in _auxiliaries(verb)) or verb.lemma_.lower() not in words("next_step", "firm_should_verbs"):
        return False
    return subject is not None and (subject.lower_ == "you" or subject.pos_ in {"NOUN", "PROPN"} or subject.lower_ == "it")
