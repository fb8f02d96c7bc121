"""active_listening: the customer's problem restated in the trainee's words with a concrete detail.

A restatement needs a frame that turns to the customer ('so your ...', 'it sounds like',
'if I understand correctly', 'you've been ...', frames in active_listening.json) and, in the
rest of that sentence, at least one content word that the customer's message or the
scenario's facts also have, compared by lemma and through synonyms.json ('returned your
calls' ~ 'called me back'). 'I understand your frustration' has a frame but no detail.

Trainers also count restatements without a frame, so three more kinds of sentence are read:
an apology naming what went wrong ('I'm sorry nobody called you back'), thanks for efforts the
customer named ('thanks for checking with the neighbours and the mailroom'), and a statement
or checking question that carries two details ('Blue screen every day on a brand-new machine,
and three callbacks that never came'). Every restatement must say what went wrong (a problem
marker: negation, a failure word, a number the customer gave), not only name the topic
('sorry about your anniversary dinner') or the remedy ('so you want a refund'). A wh-question
asks for new information and restates nothing; the agent's own commitments ('I'll send a
technician to look at the laptop') and defensive sentences (details used against the
customer) are not restatements either.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from bot.checks import defensive, next_step, probing_question
from bot.checks._context import Context, concepts, extend_to_clause_end, fill, name_parts, result, synonyms
from bot.checks._lexicon import load_lexicon, pattern_set, words

# Trainers: "with at least one concrete detail from what the customer said or from the facts".
MIN_SHARED_DETAILS = 1
# An empathy phrase ('I understand how annoying ...') is a frame only when the rest of its
# sentence carries two details: one product word ('... your frustration with the laptop')
# is still empty empathy. Frames in the lexicon may ask for more with "min_details".
EMPATHY_MIN_DETAILS = 2
# Where the quote of an empathy phrase stops: 'I understand how you feel' but not '..., and I'll ...'.
CLAUSE_LINKS = frozenset({"and", "but", "so", "because", "while"})
# A sentence with no frame at all restates only with this many details ('Fifty minutes, cold
# food and a rude waiter'); one shared word ('the laptop is ready') is just the topic.
FRAMELESS_MIN_DETAILS = 2
# Without 'you'/'your' the sentence may be about anything ('the new router fixes drops on
# that line'), so it needs one more detail: 'Fifty minutes, cold food and a rude waiter'.
FRAMELESS_MIN_DETAILS_IMPERSONAL = 3
# An apology's object restates with one detail: 'I'm sorry the claim was refused'.
APOLOGY_MIN_DETAILS = 1


def _detail_span(doc: Doc, start: int, end: int) -> Span:
    """The noun chunk around a detail word ('your calls' for 'calls'), else the word itself."""
    for chunk in doc.noun_chunks:
        if chunk.start <= start and end <= chunk.end:
            return chunk
    return doc[start:end]


def _agent_commits(token: Token) -> bool:
    """'I'll send a technician', 'a courier will collect it', not 'you've been told'."""
    if not next_step.is_commitment(token):
        return False
    subject = next_step._subject(token)
    return subject is None or subject.lower_ not in {"you", "u"}


def _scope(frame: Span) -> List[Token]:
    """The rest of the frame's sentence, without what the agent commits to doing."""
    doc = frame.doc
    own: Set[int] = set()
    for token in doc[frame.sent.start : frame.sent.end]:
        if token.i not in own and _agent_commits(token):
            own.update(t.i for t in token.subtree)
    return [t for t in doc[frame.end : frame.sent.end] if t.i not in own]


def restatement_details(frame: Span, ctx: Context, scope: Optional[List[Token]] = None) -> List[Span]:
    """Details after `frame` in its sentence that the customer or the facts mention.

    Without any context (no customer message, no facts) every content word counts: the
    check can then only confirm that the restatement is specific, not that it is right.
    """
    doc = frame.doc
    scope = _scope(frame) if scope is None else scope
    skip = name_parts(ctx.customer_name)
    found = []
    for concept, start, end in concepts(scope, skip=skip):
        if not ctx.known or concept in ctx.known:
            found.append(_detail_span(doc, start, end))
    return filter_spans(found)


def says_what_went_wrong(tokens: Sequence[Token], details: Sequence[Span]) -> bool:
    """A negation, a failure word (by lemma or synonym concept) or a number among the details."""
    negations = words("active_listening", "problem_negations")
    failures = words("active_listening", "problem_failures")
    single = synonyms().single
    for t in tokens:
        low, lemma = t.lower_, t.lemma_.lower()
        if low in negations or lemma in negations or t.dep_ == "neg":
            return True
        if low in failures or lemma in failures or single.get(lemma) in failures or single.get(low) in failures:
            return True
    return any(t.like_num for d in details for t in d)


def _is_info_question(sent: Span) -> bool:
    """'What happened after you raised it?', 'Could you walk me through what you were doing?':
    asks for something new; 'So it never came?' does not."""
    if probing_question.asks_open(sent):
        return True
    if not probing_question.is_question(sent):
        return False
    opening = [t for t in sent if not (t.is_punct or t.is_space)][:3]
    question_words = words("active_listening", "info_question_words")
    if any(t.lower_ in question_words for t in opening):
        return True
    return bool(pattern_set(sent.doc.vocab, "probing_question", "open_prompts").find(sent))


def _speaks_for_itself(sent: Span) -> bool:
    """Sentences that are the agent's own plans, advice or requests, not a restatement:
    a modal ('should fix it', 'can wait'), an imperative, or I/we as the main subject."""
    root = sent.root
    if any(t.tag_ == "MD" for t in sent):
        return True
    if root.tag_ == "VB" and not any(c.dep_ in {"nsubj", "nsubjpass", "expl"} for c in root.children):
        return True
    subject = next((c for c in root.children if c.dep_ in {"nsubj", "nsubjpass"}), None)
    return subject is not None and subject.lower_ in words("next_step", "first_person")


def _sentence_opening(sent: Span) -> Span:
    first = next((t for t in sent if not (t.is_punct or t.is_space)), sent[0])
    return sent.doc[first.i : first.i]


def _other_frames(doc: Doc) -> List[Tuple[Span, int, bool]]:
    """(opening, details needed, must say what went wrong) for apologies, thanks for the
    customer's efforts (what they tried is the detail), and frameless sentences."""
    found: List[Tuple[Span, int, bool]] = []
    blocked = [m.span for m in pattern_set(doc.vocab, "apology", "non_apologies").find(doc)]
    for m in pattern_set(doc.vocab, "apology").find(doc):
        if not any(m.span.start < b.end and b.start < m.span.end for b in blocked):
            found.append((m.span, APOLOGY_MIN_DETAILS, True))
    for m in pattern_set(doc.vocab, "active_listening", "effort_frames").find(doc):
        # what they tried is named in the clause itself: 'thanks for checking X and Y, that saves time'
        found.append((extend_to_clause_end(m.span), m.entry.get("min_details", FRAMELESS_MIN_DETAILS), False))
    for sent in doc.sents:
        if not _speaks_for_itself(sent):
            about_them = any(t.lower_ in {"you", "your", "u", "ur"} for t in sent)
            needed = FRAMELESS_MIN_DETAILS if about_them else FRAMELESS_MIN_DETAILS_IMPERSONAL
            found.append((_sentence_opening(sent), needed, True))
    return found


def _example(ctx: Context, lex: dict) -> str:
    if ctx.mirror:
        return fill(lex["example"], mirror=ctx.mirror)
    if ctx.known:
        return fill(lex["example_fallback"], detail=next(iter(ctx.known.values())))
    return lex["example_no_context"]


def check(doc: Doc, ctx: Context) -> dict:
    lex = load_lexicon("active_listening")
    frames = pattern_set(doc.vocab, "active_listening", "frames").find(doc)
    empty = [m.span for m in pattern_set(doc.vocab, "active_listening", "empty_empathy").find(doc)]
    candidates = [(m.span, m.entry.get("min_details", MIN_SHARED_DETAILS), True) for m in frames]
    candidates += [(s, EMPATHY_MIN_DETAILS, True) for s in empty]
    candidates += _other_frames(doc)
    defended = {m.span.sent.start for m in defensive.flagged(doc, ctx)}
    for frame, needed, needs_problem in sorted(candidates, key=lambda c: c[0].start):
        if frame.sent.start in defended or _is_info_question(frame.sent):
            continue
        scope = _scope(frame) if needs_problem else list(frame[1:])
        details = restatement_details(frame, ctx, scope)
        if len(details) >= needed and (not needs_problem or says_what_went_wrong(scope, details)):
            quoted = [ctx.quote(frame)] if len(frame) else []
            return result(True, quoted + [ctx.quote(d) for d in details])
    example = _example(ctx, lex)
    if empty:
        quotes = [ctx.quote(extend_to_clause_end(s, CLAUSE_LINKS)) for s in empty]
        return result(False, quotes, fill(lex["tips"]["empty_empathy"], span=quotes[0], example=example))
    explicit = [m.span for m in frames if m.entry.get("explicit", True)]
    if explicit:
        span = ctx.quote(explicit[0])
        return result(False, [span], fill(lex["tips"]["frame_without_detail"], span=span, example=example))
    return result(False, [], fill(lex["tips"]["missing"], example=example))
