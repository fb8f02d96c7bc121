"""What an apology or an owned failure is about, for active_listening (docs/checks.md, issue 14 round 9).

An apology restates when what it is for names the failure: the clause it governs ('I'm sorry
the courier sent you back to us') is the regretted event, never the agent's plan, even when the
parser reads its verb as a promise ('sent'). 'Sorry about that, the agents are new' apologises
for a pronoun that points back: what follows the comma is another clause (here an excuse), not
what the apology is for.
"""
from __future__ import annotations

from typing import List, Sequence, Set, Tuple

from spacy.tokens import Doc, Span, Token

from bot.checks._lexicon import words
from bot.checks._situation import situation_words
from bot.checks._restatement_clauses import Candidate, rules, scope_after, without_times


def regretted_clause(apology: Span) -> Set[int]:
    """Token indices of the finite clause an apology governs directly, with no punctuation in
    between ('I'm sorry the repair centre overlooked them'); 'Sorry, I've sent a new one' has
    none. Only a clause told in the past is regretted; 'sorry we'll be late' is a plan."""
    doc = apology.doc
    heads = {t.i for t in apology}
    for t in doc[apology.end : apology.sent.end]:
        if t.is_punct:
            return set()
        if t.dep_ == "ccomp" and (t.head.i in heads or t.head.head.i in heads):
            auxes = [c for c in t.children if c.dep_ in {"aux", "auxpass"}]
            past = t.tag_ == "VBD" or (t.tag_ == "VBN" and any(a.lower_ in rules().past_aux for a in auxes))
            return {s.i for s in t.subtree} if past else set()
    return set()


def apology_scope(apology: Span) -> Tuple[Token, ...]:
    """The apology's scope: the rest of its sentence less the agent's commitments and times,
    except the regretted clause, which is kept whole; nothing past a comma after 'about that'."""
    doc = apology.doc
    rest = [t for t in doc[apology.end : apology.sent.end] if not t.is_space]
    words_ = [t for t in rest if not t.is_punct]
    if len(words_) >= 2 and words_[0].lower_ in {"about", "for"} and _points_back(words_[1]):
        after = words_[1].i + 1
        if after < apology.sent.end and doc[after].is_punct:
            return ()
    kept = regretted_clause(apology)
    scope = set(t.i for t in without_times(scope_after(apology))) | kept
    return tuple(t for t in rest if t.i in scope)


def _points_back(token: Token) -> bool:
    return token.lower_ in rules().demonstratives or token.lower_ == "it"


def hedged_account(tokens: Sequence[Token]) -> bool:
    """'damage you say never happened', 'the fault you feel was missed': the customer's account
    told as their opinion (a present-tense opinion verb with 'you' as subject) restates nothing."""
    opinions = words("active_listening", "opinion_verbs")
    for t in tokens:
        if t.lower_ in rules().you and t.dep_ == "nsubj" and t.head.lemma_.lower() in opinions and t.head.tag_ == "VBP":
            return True
    return False


def joins_clauses(frame: Span) -> bool:
    """'I'll raise an RMA so the unit can go in': 'so' after a word joins a purpose or result
    to the agent's sentence; the paraphrasing 'So the old phone ...' opens its own."""
    if not len(frame) or frame[0].lower_ != "so" or frame.start == 0:
        return False
    before = frame.doc[frame.start - 1]
    return not (before.is_punct or before.is_space)


def vague_outcome(tokens: Sequence[Token]) -> bool:
    """'your anniversary evening wasn't what it should have been', '... went the way it did',
    '... didn't go as planned': the occasion named and only that it went badly, not what went
    wrong (docs/checks.md: what went wrong, not just the topic)."""
    own = {t.i for t in tokens}
    for verb in tokens:
        if verb.lemma_.lower() not in words("active_listening", "vague_outcome_verbs"):
            continue
        if verb.head.i in own and verb.head.i != verb.i:
            continue  # only the scope's main verb tells the outcome
        for child in verb.children:
            first = min(child.subtree, key=lambda s: s.i)
            if child.dep_ in {"ccomp", "attr", "advcl", "npadvmod", "dobj", "advmod", "prep"} and (
                first.lower_ in {"what", "how", "as"} or child.lemma_.lower() == "way"
            ):
                return True
    return False


def ought_to_have(tokens: Sequence[Token]) -> bool:
    """'the shop should've given you the code on Saturday', 'that callback should have happened':
    what ought to have happened, told in the past, says that it did not (docs/checks.md: what
    should have happened still restates). 'You should have received an email' guesses at the
    customer's side instead, and is left out."""
    own = {t.i for t in tokens}
    for t in tokens:
        if t.tag_ != "MD" or t.lower_ not in {"should", "ought"}:
            continue
        verb = t.head
        if verb.i not in own or verb.tag_ != "VBN" or not any(c.lower_ in {"have", "'ve"} for c in verb.children):
            continue
        subject = next((c for c in verb.children if c.dep_ in {"nsubj", "expl"}), None)
        if subject is None or subject.lower_ not in rules().you:
            return True
    return False


def left_uninformed(doc: Doc) -> List[Candidate]:
    """'nobody told u about the password', 'no one called you back': the customer as the object
    of what nobody did is what happened to them, as a 'you' subject is; one detail with the
    negative subject as the mark of what went wrong."""
    found = []
    for t in doc:
        if t.lower_ not in rules().you or t.dep_ not in {"dobj", "dative", "pobj"}:
            continue
        verb = t.head if t.dep_ != "pobj" else t.head.head
        subject = next((c for c in verb.children if c.dep_ == "nsubj"), None)
        if verb.tag_ != "VBD" or subject is None or subject.lower_ not in situation_words("anyone"):
            continue
        clause = [s for s in verb.subtree if not s.is_space]
        frame = doc[subject.i : t.i + 1] if subject.i < t.i else doc[t.i : t.i + 1]  # quoted: 'nobody told u'
        found.append(Candidate(frame, tuple(s for s in clause if s.i >= frame.end), rules().min_apology, True))
    return found
