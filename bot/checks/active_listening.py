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

from dataclasses import dataclass
from typing import Dict, List, Set, Tuple

from spacy.tokens import Doc, Span, Token

from bot.checks import defensive, listening_layer
from bot.checks._apology_scope import apology_scope, hedged_account, joins_clauses, left_uninformed, regretted_clause, vague_outcome
from bot.checks._context import Context, concepts, extend_to_clause_end, fill, is_content, name_parts, result
from bot.checks._details import details_in, says_what_went_wrong
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


@dataclass(frozen=True)
class Judged:
    """A candidate with the details found in its scope, and whether the rules accept it."""

    cand: Candidate
    details: List[Span]
    count: int
    passes: bool


def judged_candidates(doc: Doc, ctx: Context, *, every: bool = False) -> List[Judged]:
    """The candidates in text order up to the first the rules accept (all of them with `every`,
    as the learned layer reads them)."""
    out = []
    for cand in _restatement_candidates(doc, ctx):
        details, count = details_in(cand.scope, ctx)
        problem_scope = cand.scope if cand.problem_scope is None else cand.problem_scope
        # without a frame, a number alone ('142 dollars', 'a table for two') is no failure
        passes = count >= cand.needed and (not cand.needs_problem or says_what_went_wrong(problem_scope, () if not len(cand.frame) else details))
        out.append(Judged(cand, details, count, passes))
        if passes and not every:
            break
    return out


def check(doc: Doc, ctx: Context) -> dict:
    lex = load_lexicon("active_listening")
    model = listening_layer.load_model()
    hit = next((j for j in judged_candidates(doc, ctx) if j.passes), None)
    verdict = listening_layer.judge(doc, ctx, hit is not None, model) if model is not None else None
    if hit is not None and (verdict is None or verdict.found):
        quoted = [ctx.quote(hit.cand.frame)] if len(hit.cand.frame) else []
        return result(True, quoted + [ctx.quote(d) for d in hit.details])
    if verdict is not None and verdict.found:
        # the learned layer's restatement: the sentence it judged is the evidence
        return result(True, [ctx.quote(verdict.span)])
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
