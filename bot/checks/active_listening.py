"""active_listening: the customer's problem restated in the trainee's words with a concrete detail.

A restatement is a frame (active_listening.json: 'so your ...', 'it sounds like', an apology
for something specific, thanks for named efforts, a 'you' clause about what happened, ...; the
kinds of clause are found in bot/checks/_restatement_clauses.py) with enough details in its
scope that the customer's message or the scenario's facts also have (compared by lemma and
through synonyms.json), and, for most kinds, a mark of what went wrong. Candidates in defensive
sentences, in the asked part of a question, granting a demand, or telling a plan, a promise,
a reassurance or a wish are no restatement (bot/checks/_not_restatements.py). The situation
judged as a subject is told apart from definitions and plans in bot/checks/_situation.py.
docs/checks.md ("active_listening") gives the trainers' decisions.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from bot.checks import defensive
from bot.checks._apology_scope import apology_scope, hedged_account, joins_clauses, left_uninformed, ought_to_have, regretted_clause, vague_outcome
from bot.checks._context import Context, concepts, extend_to_clause_end, fill, is_content, name_parts, result, synonyms
from bot.checks._lexicon import load_lexicon, pattern_set, words
from bot.checks._not_restatements import not_the_problem, without_definitions
from bot.checks._restatement_clauses import (
    Candidate,
    checked_back,
    is_generic,
    is_info_question,
    noted,
    opening_of,
    reason_clauses,
    rules,
    scope_after,
    segment_of,
    segments_of,
    sentences,
    speaks_for_itself,
    time_tokens,
    without_commitments,
    without_times,
    words_of,
    you_clauses,
)


def _noun_chunks(doc: Doc) -> List[Span]:
    cached = doc.user_data.get("checks_noun_chunks")
    if cached is None:
        cached = list(doc.noun_chunks)
        doc.user_data["checks_noun_chunks"] = cached
    return cached


def _detail_span(doc: Doc, start: int, end: int) -> Span:
    """The noun chunk around a detail word ('your calls' for 'calls'), else the word itself."""
    for chunk in _noun_chunks(doc):
        if chunk.start <= start and end <= chunk.end:
            return chunk
    return doc[start:end]


def details_in(scope: Sequence[Token], ctx: Context) -> Tuple[List[Span], int]:
    """Details in `scope` that the customer or the facts mention: their quotes (noun chunks)
    and how many distinct concepts they are.

    Without any context (no customer message, no facts) every content word counts: the
    check can then only confirm that the restatement is specific, not that it is right.
    """
    if not scope:
        return [], 0
    doc = scope[0].doc
    skip = name_parts(ctx.customer_name)
    spans, seen = [], set()
    for concept, start, end in concepts(scope, skip=skip):
        if _points_back(doc[start]):
            continue
        if not ctx.known or concept in ctx.known:
            seen.add(concept)
            spans.append(_detail_span(doc, start, end))
    return filter_spans(spans), len(seen)


def _points_back(token: Token) -> bool:
    """'those checks', 'that one': a noun under a demonstrative refers to what the customer
    said without saying it again, so it is no detail; a count still is ('those three calls')."""
    if token.like_num or token.pos_ not in {"NOUN", "PROPN"}:
        return False
    return any(child.dep_ == "det" and child.lower_ in rules().demonstratives for child in token.children)


def restatement_details(frame: Span, ctx: Context, scope: Optional[Sequence[Token]] = None) -> List[Span]:
    """Details after `frame` in its sentence that the customer or the facts mention."""
    return details_in(scope_after(frame) if scope is None else scope, ctx)[0]


def says_what_went_wrong(tokens: Sequence[Token], details: Sequence[Span]) -> bool:
    """A negation, a failure word (by lemma or synonym concept) or a number among the details
    that is not part of a time ('after 1 pm' is availability, 'three calls' a failure)."""
    negations = words("active_listening", "problem_negations")
    failures = words("active_listening", "problem_failures")
    single = synonyms().single
    for t in tokens:
        low, lemma = t.lower_, t.lemma_.lower()
        if low == "only" and _habitual(t.head):
            continue  # 'The status page only shows area-wide faults': how it works; 'only got an automated reply' went wrong
        if low in negations or lemma in negations or t.dep_ == "neg":
            return True
        if low in failures or lemma in failures or single.get(lemma) in failures or single.get(low) in failures:
            return True
    if _failure_phrase(tokens, failures) or ought_to_have(tokens):
        return True
    if not details:
        return False
    times = time_tokens(details[0].doc)
    doc = details[0].doc
    return any(t.like_num and t.i not in times and not _in_compound(doc, t) and not _is_amount(doc, t) for d in details for t in d)


def _habitual(verb: Token) -> bool:
    """A present-simple verb of something other than the customer: 'the tracking only updates
    when the driver scans it', 'copying only makes a second set'."""
    if verb.tag_ not in {"VBZ", "VBP"} or verb.lemma_ == "be" or any(c.dep_ in {"aux", "auxpass", "neg"} for c in verb.children):
        return False
    subject = next((c for c in verb.children if c.dep_ in {"nsubj", "csubj"}), None)
    return subject is None or not any(w.lower_ in rules().you | {"your", "ur", "it"} for w in subject.subtree)


def _is_amount(doc: Doc, token: Token) -> bool:
    """'142 dollars', '$28': a sum is what a refund or a bill comes to, not a count of failures."""
    after = doc[token.i + 1].lower_ if token.i + 1 < len(doc) else ""
    before = doc[token.i - 1].text if token.i > 0 else ""
    return after in words("active_listening", "currency_words") or before in words("active_listening", "currency_words")


def _failure_phrase(tokens: Sequence[Token], failures: frozenset) -> bool:
    """'out of pocket', 'let down' (problem_phrases), and hyphenated words read whole:
    'switched-off', 'double-charged'."""
    text = " ".join(t.lower_ for t in tokens if not t.is_space)
    padded = f" {text} "
    if any(f" {phrase} " in padded for phrase in words("active_listening", "problem_phrases")):
        return True
    joined = "".join(t.lower_ + (" " if t.whitespace_ else "") for t in tokens)  # as typed: 'switched-off'
    return any(part in failures for part in joined.split() if "-" in part)


def _in_compound(doc: Doc, token: Token) -> bool:
    """'two-factor', '5-star': a number inside a hyphenated word is no count."""
    return token.i + 1 < len(doc) and doc[token.i + 1].text == "-" and not token.whitespace_


def _apology_spans(doc: Doc) -> List[Span]:
    blocked = [m.span for m in pattern_set(doc.vocab, "apology", "non_apologies").find(doc)]
    return [
        m.span
        for m in pattern_set(doc.vocab, "apology").find(doc)
        if not any(m.span.start < b.end and b.start < m.span.end for b in blocked)
    ]


def _bare(apology: Span, ctx: Context) -> bool:
    """'I'm sorry.', 'Hi Ms Okafor, I'm sorry.': the sentence holds nothing but the apology."""
    sent = apology.sent
    rest = [t for t in sent if not (apology.start <= t.i < apology.end)]
    skip = name_parts(ctx.customer_name)
    return not any(is_content(t) for t in rest if t.pos_ not in {"PROPN", "INTJ"} and t.lower_ not in skip)


def _neighbours(apology: Span) -> List[Span]:
    """The segments an apology standing alone is about: the one just before and the one just after."""
    sents = sentences(apology.doc)
    i = next(k for k, s in enumerate(sents) if s.start == apology.sent.start)
    out = []
    if i > 0:
        out.append(segments_of(sents[i - 1])[-1:])
    if i + 1 < len(sents):
        out.append(segments_of(sents[i + 1])[:1])
    return [seg for segs in out for seg in segs]


def _blocks_echo(doc: Doc) -> List[Span]:
    """Apologies, thanks, empathy phrases, greetings and wishes: a verbless segment holding one
    is not an echo ('Hi Ken, happy early birthday to your daughter!')."""
    spans = [m.span for m in pattern_set(doc.vocab, "greeting").find(doc)]
    spans += [m.span for m in pattern_set(doc.vocab, "active_listening", "well_wishes").find(doc)]
    spans += [m.span for m in pattern_set(doc.vocab, "apology").find(doc)]
    spans += [m.span for m in pattern_set(doc.vocab, "thanks").find(doc)]
    spans += [m.span for m in pattern_set(doc.vocab, "active_listening", "empty_empathy").find(doc)]
    return spans


def _other_frames(doc: Doc, ctx: Context) -> List[Candidate]:
    """Apologies, thanks for the customer's efforts (what they tried is the detail), clauses
    about what happened to the customer, reasons in questions and frameless segments."""
    found: List[Candidate] = []
    own_words = words("active_listening", "about_own_words")
    for span in _apology_spans(doc):
        scope = apology_scope(span)  # 'sorry again about Friday morning'
        said = f" {' '.join(t.lower_ for t in scope)} "
        if any(f" {phrase} " in said for phrase in own_words) or vague_outcome(scope):
            continue  # 'Sorry, that came out wrong', 'Sorry for the wait.': the agent's own words or delay
        # 'I'm sorry the courier sent you back to us': the past event regretted is what went wrong
        found.append(Candidate(span, scope, rules().min_apology, not regretted_clause(span)))
        before = _before_apology(span)
        if before:  # '2 whole evenings stuck on the setup and still no calls, im so sorry'
            # '..., and I'm sorry the repair centre overlooked them': the failure may follow
            # joined by 'and', the clause is no longer the apology's object alone: two details, as without a frame
            joined = span.start > 0 and doc[span.start - 1].lower_ == "and"
            needed = rules().min_frameless if joined else rules().min_apology
            found.append(Candidate(span, before, needed, True, problem_scope=before + scope))
        if _bare(span, ctx):
            greetings = [m.span for m in pattern_set(doc.vocab, "greeting").find(doc)]
            for seg in _neighbours(span):
                if speaks_for_itself(seg) or is_generic(seg):
                    continue
                if not any(g.start < seg.end and seg.start < g.end for g in greetings):  # 'Hi Ken, happy birthday!'
                    # 'callbacks are meant to go out within 24 hours. I'm sorry.': the deadline is no detail
                    found.append(Candidate(opening_of(seg), without_times(without_commitments(list(seg))), rules().min_neighbour, True))
    for m in pattern_set(doc.vocab, "active_listening", "effort_frames").find(doc):
        # what they tried is named in the clause itself: 'thanks for checking X and Y, that saves time'
        span = extend_to_clause_end(m.span)
        found.append(Candidate(span, tuple(span[1:]), m.entry.get("min_details", rules().min_frameless), False))
    found += you_clauses(doc)
    found += left_uninformed(doc)
    found += checked_back(doc)
    found += noted(doc)
    found += reason_clauses(doc)
    blockers = None
    for sent in sentences(doc):
        for seg in segments_of(sent):
            if speaks_for_itself(seg) or is_generic(seg) or _grants(seg):
                continue
            # without a frame, a time or date is the plan's ('Tuesday 18 June, 8 till 10') and a time
            # echoed back ('Noted, weekdays after 1 pm') confirms logistics: neither is a detail of the problem
            tokens = without_times(without_commitments(list(seg)))
            about_them = any(t.lower_ in {"you", "your", "u", "ur"} for t in seg)
            needed = rules().min_frameless if about_them else rules().min_frameless_impersonal
            found.append(Candidate(opening_of(seg), tokens, needed, True))
            if _echo(seg, ctx):
                blockers = _blocks_echo(doc) if blockers is None else blockers
                if not any(b.start < seg.end and seg.start < b.end for b in blockers):
                    found.append(Candidate(opening_of(seg), tokens, rules().min_echo, False))
    return found


def _before_apology(apology: Span) -> Tuple[Token, ...]:
    """What an apology or empathy phrase closing its sentence is about: the clause before it
    ('A whole week of drops, I'm so sorry', '... after a hip operation, that's awful'), less
    the agent's commitments and times; nothing when the phrase opens the sentence."""
    doc = apology.doc
    before = [t for t in doc[apology.sent.start : apology.start] if not t.is_space]
    if len(before) > 1 and before[-1].lower_ == "and" and before[-2].is_punct:
        before = before[:-1]  # 'Four calls about the same crash is four too many, and I'm sorry'
    if not before or not before[-1].is_punct or not any(is_content(t) for t in before):
        return ()
    seg = doc[before[0].i : before[-1].i]
    if speaks_for_itself(seg) or is_generic(seg):
        return ()
    return without_times(without_commitments(before))


def _grants(seg: Span) -> bool:
    """'No 48-hour wait.', 'No policy lines.': a short verbless 'no ...' grants the customer's
    demand; 'No signal and your photos stuck on the old phone' lists what went wrong."""
    opening = words_of(seg)
    if not opening or opening[0].lower_ != "no" or len(opening) > rules().max_grant_words:
        return False
    return not any(t.pos_ in {"VERB", "AUX"} for t in seg) and not seg.text.rstrip().endswith("?")


def _grants_after(cand: Candidate) -> bool:
    """'OK, no restarts.', 'Fair enough, no policy lines.': the frame is followed by a granted demand."""
    words_ = [t for t in cand.scope if not (t.is_punct or t.is_space)]
    if not words_ or words_[0].lower_ != "no":
        return False
    seg = segment_of(cand.frame.doc, words_[0])
    return not any(t.pos_ in {"VERB", "AUX"} for t in seg if t.i >= words_[0].i)


def _echo(seg: Span, ctx: Context) -> bool:
    """A verbless segment that repeats what the customer asked for ('Photos and contacts from
    the old phone.'); 'No policy lines.' or 'No 48-hour wait.' grants a demand instead."""
    negations = words("active_listening", "problem_negations")
    if seg.root.pos_ in {"VERB", "AUX"}:
        return False
    if seg.root.lemma_.lower() in words("active_listening", "remedy_nouns"):
        return False  # 'A full refund of the 142 dollars, or dinner for two on us': an offer
    times = time_tokens(seg.doc)
    if any(t.tag_ == "VBN" for t in seg) and any(t.i in times for t in seg):  # 'hotel and meals refunded, all today'
        return False
    if _new_time(seg, times, ctx):
        return False  # 'Assistance teams at Newark work from 5 am to midnight', 'a technician this week': the agent's slot
    return not any(t.lower_ in negations or t.dep_ == "neg" for t in seg)


def _new_time(seg: Span, times: Set[int], ctx: Context) -> bool:
    """Does `seg` hold a time the customer did not give? Echoing their deadline ('A birthday
    gift that needs to be there by Saturday') listens; a time of the agent's is a plan or hours."""
    if not ctx.known:
        return False
    timed = [t for t in seg if t.i in times]
    return bool(timed) and any(concept not in ctx.known for concept, _, _ in concepts(timed))


def _in_asked_part(cand: Candidate) -> bool:
    """Is the candidate in the question part of an information question? A segment before a
    dash ('Twenty restarts — how long does it stay down?') is not."""
    sent = cand.frame.sent
    if not is_info_question(sent):
        return False
    if cand.in_question_ok:
        return False
    segments = segments_of(sent)
    if len(segments) < 2:
        return True
    start = cand.scope[0].i if cand.scope else cand.frame.start
    seg = next((s for s in segments if s.start <= start < s.end), segments[-1])
    if seg.start == segments[-1].start:
        return True
    opening = words_of(seg)[:3]
    question_words = words("active_listening", "info_question_words")
    return any(t.lower_ in question_words for t in opening)  # 'What happens when it drops — does ...?'


def _tip(lex: dict, kind: str, ctx: Context, **values: str) -> str:
    tip = fill(lex["tips"][kind], **values)
    if ctx.mirror:
        return fill(lex["with_example"], tip=tip, example=fill(lex["example"], mirror=ctx.mirror))
    return fill(lex["without_example"], tip=tip)


def _restatement_candidates(doc: Doc, ctx: Context) -> List[Candidate]:
    """Every place a restatement could be, in text order, less those in defensive sentences,
    in the asked part of an information question or granting a demand. They depend on the
    reply alone (and the customer's name), so a reply seen again reuses them."""
    key = ("checks_restatement_candidates", name_parts(ctx.customer_name))
    cached = doc.user_data.get(key)
    if cached is not None:
        return cached
    frames = pattern_set(doc.vocab, "active_listening", "frames").find(doc)
    empty = [m.span for m in pattern_set(doc.vocab, "active_listening", "empty_empathy").find(doc)]
    # a time in a frame's scope is the plan's too ('Understood - Tuesday morning 8 to 12 is free')
    candidates = [
        Candidate(m.span, without_times(scope_after(m.span)), m.entry.get("min_details", rules().min_frame), True, explicit=m.entry.get("explicit", True))
        for m in frames
        if not joins_clauses(m.span)
    ]
    candidates += [Candidate(s, scope_after(s), rules().min_empathy, True) for s in empty]
    # 'Forty minutes alone at the gate after a hip operation, that's awful': what is judged comes first
    candidates += [Candidate(s, before, rules().min_empathy, True) for s in empty for before in [_before_apology(s)] if before]
    candidates += _other_frames(doc, ctx)
    # a detail used against the customer is no restatement, whichever layer finds the defence;
    # a checking question ('So your package shows as delivered but isn't there?') is left to the
    # lexicon, since the learned layer's guess is least sure on the restatements trainers want
    matches = defensive.flagged(doc, ctx)
    learned = [s.span for s in defensive.learned(doc, matches) if not s.span.text.rstrip().endswith("?")]
    defended = {m.span.sent.start for m in matches} | {span.start for span in learned}
    questions: Dict[Tuple[int, bool, int], bool] = {}
    kept = []
    for cand in sorted(candidates, key=lambda c: c.frame.start):
        sent_start = cand.frame.sent.start
        if sent_start in defended:
            continue
        asked = (sent_start, cand.in_question_ok, cand.scope[0].i if cand.scope else -1)
        if asked not in questions:
            questions[asked] = _in_asked_part(cand)
        if questions[asked] or _grants_after(cand) or not_the_problem(cand) or hedged_account(cand.scope):
            continue
        kept.append(without_definitions(cand))
    doc.user_data[key] = kept
    return kept


def check(doc: Doc, ctx: Context) -> dict:
    lex = load_lexicon("active_listening")
    for cand in _restatement_candidates(doc, ctx):
        details, count = details_in(cand.scope, ctx)
        problem_scope = cand.scope if cand.problem_scope is None else cand.problem_scope
        # without a frame, a number alone ('142 dollars', 'a table for two') is no failure
        if count >= cand.needed and (not cand.needs_problem or says_what_went_wrong(problem_scope, () if not len(cand.frame) else details)):
            quoted = [ctx.quote(cand.frame)] if len(cand.frame) else []
            return result(True, quoted + [ctx.quote(d) for d in details])
    frames = pattern_set(doc.vocab, "active_listening", "frames").find(doc)
    empty = [m.span for m in pattern_set(doc.vocab, "active_listening", "empty_empathy").find(doc)]
    if empty:
        quotes = [ctx.quote(extend_to_clause_end(s, rules().clause_links)) for s in empty]
        return result(False, quotes, _tip(lex, "empty_empathy", ctx, span=quotes[0]))
    explicit = [m.span for m in frames if m.entry.get("explicit", True) and not joins_clauses(m.span)]
    if explicit:
        span = ctx.quote(explicit[0])
        return result(False, [span], _tip(lex, "frame_without_detail", ctx, span=span))
    return result(False, [], _tip(lex, "missing", ctx))
