"""active_listening: the customer's problem restated in the trainee's words with a concrete detail.

A restatement needs a frame that turns to the customer ('so your ...', 'it sounds like',
'if I understand correctly', 'you've been ...', frames in active_listening.json) and, in the
rest of that sentence, at least one detail (a content word or a count) that the customer's
message or the scenario's facts also have, compared by lemma and through synonyms.json
('returned your calls' ~ 'called me back', 'fifty' ~ '50'). Details are counted as distinct
concepts, so 'a water-damage verdict' holds two. 'I understand your frustration' has a frame
but no detail.

Trainers also count restatements without a lexicon frame, so more kinds of clause are read:
- an apology naming what went wrong ('I'm sorry nobody called you back'); a bare 'I'm sorry.'
  lends its frame to the sentence just before or after it ('I'm sorry. Someone should have
  met you with a wheelchair and didn't.');
- thanks for efforts the customer named ('thanks for checking with the neighbours and the mailroom');
- a clause about what happened to the customer, 'you' as the subject of a past or perfect
  verb or of a modal that is negated ('you paid for premium service and still can't get a
  call back', 'you were told it was the airport's problem');
- the reason part of a question ('Since the check passed but it still crashes, can you ...?');
- any other statement or checking question that carries two details ('Blue screen every day
  on a brand-new machine, and three callbacks that never came'), read per segment of its
  sentence (dashes, semicolons and colons split one: 'Fifty minutes and cold food — I'm sorry');
- a fragment without a verb that echoes two details of the request ('Photos and contacts from
  the old phone.').
A restatement must say what went wrong (a problem marker: negation, a failure word or phrase,
a count), not only name the topic ('sorry about your anniversary dinner') or the remedy ('so
you want a refund'). Three kinds need no marker because their details are the problem: thanks
for named efforts, a 'you' clause with three details ('You've done everything right: restarts,
updates, the hardware check'; two when it was done to them, 'you were told ...') and an
echoed request. A wh-question or a question that opens with an auxiliary and 'you' ('Did you tell the
waiter?') asks for new information and restates nothing; the agent's own commitments, plans
and advice ('I'll send a technician to look at the laptop', 'you should restart it'), what will
happen to the customer ('your refund is being processed today', 'you won't pay the 320') and
defensive sentences (details used against the customer) are not restatements either. Feelings
('confused'), nouns that point back ('those checks') and, without a frame, times and slots are
no details.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Dict, List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc, Span, Token
from spacy.util import filter_spans

from bot.checks import defensive, next_step, probing_question
from bot.checks._context import Context, concepts, extend_to_clause_end, fill, is_content, name_parts, result, synonyms
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
# What happened to the customer ('you were left at the gate') restates with one detail and a
# problem marker, or with this many details and none: 'You've done everything right: restarts,
# updates, the hardware check'. With fewer it is background ('You booked the assistance with us'),
# unless it was done to them: 'You were told it was the airport's problem when you'd booked it'.
YOU_CLAUSE_DETAILS_WITHOUT_PROBLEM = 3
PASSIVE_YOU_DETAILS_WITHOUT_PROBLEM = 2
# The reason part of a question ('Since the check passed but it still crashes, ...').
REASON_MIN_DETAILS = 2
# A sentence next to a bare 'I'm sorry.' restates with this many details ('I'm sorry. Sitting
# for forty minutes, then missing your flight, must have been awful').
NEIGHBOUR_MIN_DETAILS = 2
# A verbless echo of what the customer asked for ('Photos and contacts from the old phone.').
ECHO_MIN_DETAILS = 2
# A granted demand is said in a few words ('No 48-hour wait.', 'OK, no more restarts.').
MAX_GRANT_WORDS = 5
# Punctuation that splits a sentence into segments read on their own.
SEGMENT_MARKS = frozenset({"—", "–", ";", ":", "--"})
# Auxiliaries that put a 'you' clause in the past: 'you've waited', 'you were told', 'you'd booked'.
PAST_AUX = frozenset({"have", "'ve", "has", "had", "'d", "were", "was", "been"})
# Marks of a reason clause inside a question.
REASON_MARKS = frozenset({"since", "because", "given", "seeing"})
YOU = frozenset({"you", "u"})
DEMONSTRATIVES = frozenset({"this", "that", "these", "those"})
# Modals that, negated, tell what the customer could not get ('you can't get a call back',
# 'it won't charge'); negated 'should' or 'must' is still the agent's view ('you shouldn't have to').
ABILITY_MODALS = frozenset({"can", "ca", "could", "wo", "will", "would"})
# Of those, the ones that tell what the customer could not do: 'you can't log in'; 'you won't
# pay the 320' is a promise to them.
YOU_ABILITY_MODALS = frozenset({"can", "ca", "could"})
# Auxiliaries that open a checking question as often as a new one ('Am I right that ...?').
CHECKING_AUX = frozenset({"am"})
# Words that may open a question before its real start: 'Sorry, could you ...?', 'OK, did you ...?'.
LEAD_INS = frozenset({"sorry", "ok", "okay", "right", "alright", "also", "hi", "hey", "thanks", "um", "oh", "and"})
# What the customer wants done: 'you'd like it taken off', 'you want a refund'.
WANT_VERBS = frozenset({"like", "want", "prefer", "wish"})
# Auxiliaries of what will happen: 'will be refunded', 'should show', 'won't be touched'.
PROMISE_AUX = frozenset({"will", "'ll", "shall", "should", "wo"})


@dataclass(frozen=True)
class Candidate:
    frame: Span  # quoted when it has words; empty for frameless kinds
    scope: Tuple[Token, ...]  # where the details are looked for
    needed: int  # distinct details needed
    needs_problem: bool  # must also say what went wrong
    in_question_ok: bool = False  # the reason part of a question restates even there
    problem_scope: Optional[Tuple[Token, ...]] = None  # where what went wrong may be said, if wider
    explicit: bool = False  # an explicit restatement frame ('so you ...', 'it sounds like')


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


def _agent_commits(token: Token) -> bool:
    """'I'll send a technician', 'a courier will collect it', not 'you've been told'."""
    if not next_step.is_commitment(token):
        return False
    subject = next_step._subject(token)
    return subject is None or subject.lower_ not in YOU


def _commitment_tokens(doc: Doc) -> List[Tuple[Token, Set[int]]]:
    """Each commitment of the agent in `doc` with the token indices of its subtree."""
    cached = doc.user_data.get("checks_agent_commitments")
    if cached is None:
        cached = [(t, {s.i for s in t.subtree}) for t in next_step.commitments(doc) if _agent_commits(t)]
        doc.user_data["checks_agent_commitments"] = cached
    return cached


def _without_commitments(tokens: Sequence[Token], keep: Optional[Span] = None) -> Tuple[Token, ...]:
    """`tokens` less what the agent commits to doing. When the parse hangs the frame itself
    under the commitment ('sorry about the no-show, we'll get someone out'), only the
    commitment's other branches go, not the branch that holds the frame."""
    if not tokens:
        return ()
    doc = tokens[0].doc
    first, last = tokens[0].i, tokens[-1].i
    own: Set[int] = set()
    for verb, subtree in _commitment_tokens(doc):
        if keep is None and not first <= verb.i <= last:
            continue  # a commitment in another segment ('...; I've ordered a replacement') takes none of this one
        if keep is not None and len(keep) and keep.start in subtree:
            own.add(verb.i)
            for child in verb.children:
                child_tree = {s.i for s in child.subtree}
                if keep.start not in child_tree:
                    own.update(child_tree)
        else:
            own.update(subtree)
    return tuple(t for t in tokens if t.i not in own)


def _scope(frame: Span) -> Tuple[Token, ...]:
    """The rest of the frame's sentence, without what the agent commits to doing."""
    doc = frame.doc
    return _without_commitments(list(doc[frame.end : frame.sent.end]), keep=frame)


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
    return any(child.dep_ == "det" and child.lower_ in DEMONSTRATIVES for child in token.children)


def restatement_details(frame: Span, ctx: Context, scope: Optional[Sequence[Token]] = None) -> List[Span]:
    """Details after `frame` in its sentence that the customer or the facts mention."""
    return details_in(_scope(frame) if scope is None else scope, ctx)[0]


def says_what_went_wrong(tokens: Sequence[Token], details: Sequence[Span]) -> bool:
    """A negation, a failure word (by lemma or synonym concept) or a number among the details
    that is not part of a time ('after 1 pm' is availability, 'three calls' a failure)."""
    negations = words("active_listening", "problem_negations")
    failures = words("active_listening", "problem_failures")
    single = synonyms().single
    for t in tokens:
        low, lemma = t.lower_, t.lemma_.lower()
        if low in negations or lemma in negations or t.dep_ == "neg":
            return True
        if low in failures or lemma in failures or single.get(lemma) in failures or single.get(low) in failures:
            return True
    if _failure_phrase(tokens, failures):
        return True
    if not details:
        return False
    times = _time_tokens(details[0].doc)
    doc = details[0].doc
    return any(t.like_num and t.i not in times and not _in_compound(doc, t) and not _is_amount(doc, t) for d in details for t in d)


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


def _words_of(sent: Span) -> List[Token]:
    return [t for t in sent if not (t.is_punct or t.is_space)]


def _is_info_question(sent: Span) -> bool:
    """'What happened after you raised it?', 'Could you walk me through what you were doing?',
    'Did you tell the waiter?': asks for something new; 'So it never came?' does not."""
    if probing_question.asks_open(sent):
        return True
    if not probing_question.is_question(sent):
        return False
    # 'While you were waiting those 40 minutes, who did you speak to?': the main clause comes
    # after the comma, whatever the parser made of it
    if probing_question.is_question(sent) and any(
        t.i > sent.start
        and sent.doc[t.i - 1].text == ","
        and (
            (t.tag_.startswith("W") and t.lower_ not in {"which", "whose", "whom"})
            or (t.pos_ == "AUX" and t.i + 1 < sent.end and sent.doc[t.i + 1].lower_ in YOU)  # ', have you updated it?'
        )
        for t in sent
    ):
        return True
    opening = _words_of(sent)
    while opening and opening[0].lower_ in LEAD_INS:  # 'Sorry, could you check with the neighbours?'
        opening = opening[1:]
    opening = opening[:3]
    question_words = words("active_listening", "info_question_words")
    if any(t.lower_ in question_words for t in opening):
        return True
    if len(opening) >= 2 and (opening[0].tag_ == "MD" or opening[0].pos_ == "AUX") and opening[1].lower_ in YOU | {"your", "ur"}:
        return True
    # 'Is the laptop plugged in when it crashes?', 'Has it happened since?': a new fact asked for;
    # a checking question keeps the statement's order ('So the technician never came?')
    if opening and opening[0].pos_ == "AUX" and opening[0].i == _words_of(sent)[0].i and opening[0].lower_ not in CHECKING_AUX:
        return True
    return bool(pattern_set(sent.doc.vocab, "probing_question", "open_prompts").find(sent))


def _segments(sent: Span) -> List[Span]:
    """`sent` split at dashes, semicolons and colons; a hyphen inside a word does not split."""
    doc = sent.doc
    memo = doc.user_data.setdefault("checks_segments", {})
    key = (sent.start, sent.end)
    if key not in memo:
        memo[key] = _split(sent)
    return memo[key]


def _split(sent: Span) -> List[Span]:
    doc = sent.doc
    out, start = [], sent.start
    for t in sent:
        spaced_dash = t.text == "-" and t.i > sent.start and doc[t.i - 1].whitespace_
        if t.text in SEGMENT_MARKS or spaced_dash:
            if t.i > start:
                out.append(doc[start : t.i])
            start = t.i + 1
    if start < sent.end:
        out.append(doc[start : sent.end])
    return [s for s in out if _words_of(s)]


def _modal_plans(modal: Token) -> bool:
    """'should fix it', 'can wait', 'I'd want it back', but not a failure told as a modal:
    'you can't get a call back', 'won't charge', 'should have been there', 'must have been awful'."""
    doc = modal.doc
    after = [t for t in doc[modal.i + 1 : min(len(doc), modal.i + 5)] if not t.is_punct]
    negated = bool(after) and (after[0].dep_ == "neg" or after[0].lower_ in {"not", "n't", "never"})
    rest = after[1:] if negated else after
    if len(rest) >= 2 and rest[0].lower_ in {"have", "'ve"} and rest[1].tag_ == "VBN":
        return False  # 'should have been there': what went wrong, told as what ought to have happened
    return not (negated and modal.lower_ in ABILITY_MODALS)


def _speaks_for_itself(seg: Span) -> bool:
    """Segments that are the agent's own plans, advice or requests, not a restatement: a
    modal in the main clause ('should fix it', 'can wait'), an imperative, or I/we as the
    main subject."""
    root = seg.root
    for t in seg:
        if t.tag_ == "MD" and (t.head.i == root.i or (t.head.dep_ == "conj" and t.head.head.i == root.i)):
            if _modal_plans(t):
                return True
    if root.tag_ == "VB" and not any(c.dep_ in {"nsubj", "nsubjpass", "expl"} for c in root.children):
        return True
    subject = next((c for c in root.children if c.dep_ in {"nsubj", "nsubjpass"}), None)
    return subject is not None and subject.lower_ in words("next_step", "first_person")


def _opening(span: Span) -> Span:
    first = next((t for t in span if not (t.is_punct or t.is_space)), span[0])
    return span.doc[first.i : first.i]


def _segment_of(doc: Doc, token: Token) -> Span:
    for seg in _segments(token.sent):
        if seg.start <= token.i < seg.end:
            return seg
    return token.sent


def _you_clauses(doc: Doc) -> List[Candidate]:
    """'you' as the subject of what happened to them: 'you were left at the gate', 'you paid
    for premium service and still can't get a call back', 'you've checked the porch'."""
    found = []
    for t in doc:
        if t.lower_ not in YOU or t.dep_ not in {"nsubj", "nsubjpass"}:
            continue
        verb = t.head
        if verb.dep_ == "relcl":  # 'the card you paid with', 'the days you were charged': background
            continue
        auxes = [c for c in verb.children if c.dep_ in {"aux", "auxpass"}]
        past = verb.tag_ == "VBD" or any(a.lower_ in PAST_AUX for a in auxes)
        unable = any(a.lower_ in YOU_ABILITY_MODALS for a in auxes) and any(c.dep_ == "neg" for c in verb.children)
        if not (past or unable) or any(a.tag_ == "MD" and _modal_plans(a) for a in auxes):
            continue
        if _hedged_or_asked(verb):
            continue
        seg = _segment_of(doc, t)
        if _imperative(seg):  # 'Tell me what you were working on': a prompt, not a restatement
            continue
        scope = _without_commitments(list(seg))
        # 'you were left at the gate — that should never happen': the judgement may follow the dash
        sentence = _without_commitments(list(t.sent))
        found.append(Candidate(doc[t.i : t.i + 1], scope, APOLOGY_MIN_DETAILS, True, problem_scope=sentence))
        without_problem = PASSIVE_YOU_DETAILS_WITHOUT_PROBLEM if t.dep_ == "nsubjpass" else YOU_CLAUSE_DETAILS_WITHOUT_PROBLEM
        found.append(Candidate(doc[t.i : t.i + 1], scope, without_problem, False))
    return found


def _checked_back(doc: Doc) -> List[Candidate]:
    """'A charging fault came back as liquid damage on a phone that's never been wet, did I get
    that right?': the statement before a checking tag is the restatement."""
    found = []
    for m in pattern_set(doc.vocab, "active_listening", "checking_tags").find(doc):
        sent = m.span.sent
        before = [t for t in doc[sent.start : m.span.start] if not (t.is_punct or t.is_space)]
        if before:
            found.append(Candidate(m.span, _without_commitments(before), FRAMELESS_MIN_DETAILS, True, explicit=True))
    return found


def _noted(doc: Doc) -> List[Candidate]:
    """'I've noted on the complaint that both steaks came out cold': what the agent records
    about the case is told in the customer's terms."""
    found = []
    for t in doc:
        if t.lemma_.lower() in words("active_listening", "recording_verbs") and t.tag_ in {"VBN", "VBD", "VBZ", "VBP"}:
            for clause in (c for c in t.children if c.dep_ == "ccomp"):
                scope = tuple(s for s in clause.subtree if not s.is_punct)
                found.append(Candidate(doc[t.i : t.i + 1], scope, FRAMELESS_MIN_DETAILS, True))
    return found


def _imperative(seg: Span) -> bool:
    root = seg.root
    return root.tag_ == "VB" and not any(c.dep_ in {"nsubj", "nsubjpass", "expl"} for c in root.children)


def _hedged_or_asked(verb: Token) -> bool:
    """'I'm sorry you feel you've been overcharged' (the customer's account hedged as an
    opinion) and 'what time you were told' (a question about it) restate nothing."""
    opinions = words("active_listening", "opinion_verbs")
    if any(a.lemma_.lower() in opinions for a in verb.ancestors):
        return True
    return any(t.tag_.startswith("W") for t in verb.subtree if t.i < verb.i)


def _generic(seg: Span) -> bool:
    """General explanations, not this customer's case: 'Assistance requests sometimes drop
    off if the flight is changed', 'An eSIM is simply a SIM card built into the phone'."""
    generic = words("active_listening", "generic_markers")
    hypothetical = words("active_listening", "hypothetical_marks")
    if any(t.lower_ in generic for t in seg):
        return True
    if any(t.dep_ == "mark" and t.lower_ in hypothetical for t in seg):
        return True
    for t in seg:
        if t.lemma_ == "be" and t.dep_ != "relcl":
            subject = next((c for c in t.children if c.dep_ == "nsubj"), None)
            if subject is not None and any(c.dep_ == "det" and c.lower_ in {"a", "an"} for c in subject.children):
                return True  # 'An eSIM is ...': a definition
    return _defines(seg)


def _defines(seg: Span) -> bool:
    """'Smart Switch is the app that copies ...', 'Sync just means ...', 'CID = customer induced
    damage', 'Think of an eSIM as ...': a term explained, not the customer's case."""
    if any(t.text == "=" for t in seg):
        return True
    lowered = [t.lower_ for t in seg]
    if "think" in lowered and "of" in lowered and "as" in lowered:
        return True
    root = seg.root
    lemma = root.lemma_.lower()
    if root.tag_ not in {"VBZ", "VBP"} or lemma not in {"be", "mean", "stand"}:
        return False
    subject = next((c for c in root.children if c.dep_ == "nsubj"), None)
    if subject is None or subject.lower_ in {"it", "that", "this", "there", "you", "i", "we", "they", "he", "she"}:
        return False
    if lemma in {"mean", "stand"}:
        return True
    if lemma == "be" and any(t.lower_ == "what" for t in seg) and any(t.lemma_ == "call" for t in seg):
        return True  # 'a misconnect is what we call it when ...'
    attr = next((c for c in root.children if c.dep_ == "attr" and c.pos_ == "NOUN"), None)
    # a term (a name or an acronym, no 'your'/'the') defined as a thing: 'PNR is just your booking record'
    term = subject.pos_ == "PROPN" or subject.text.isupper() or not any(c.dep_ in {"det", "poss"} for c in subject.children)
    return attr is not None and term


def _time_tokens(doc: Doc) -> Set[int]:
    cached = doc.user_data.get("checks_time_tokens")
    if cached is None:
        cached = {i for m in pattern_set(doc.vocab, "time_expressions").find(doc) for i in range(m.span.start, m.span.end)}
        doc.user_data["checks_time_tokens"] = cached
    return cached


def _reason_clauses(doc: Doc) -> List[Candidate]:
    """The reason in a question: 'Since the hardware check passed but it still crashes, can you ...?'."""
    found = []
    for t in doc:
        if t.dep_ == "mark" and t.lower_ in REASON_MARKS and t.head.dep_ == "advcl":
            scope = tuple(s for s in t.head.subtree if s.i != t.i)
            found.append(Candidate(doc[t.i : t.i + 1], scope, REASON_MIN_DETAILS, True, in_question_ok=True))
    return found


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


def _sentences(doc: Doc) -> List[Span]:
    """The reply's sentences, split once (spaCy walks the parse again on every `doc.sents`)."""
    sents = doc.user_data.get("checks_sents")
    if sents is None:
        sents = doc.user_data["checks_sents"] = list(doc.sents)
    return sents


def _without_times(tokens: Sequence[Token]) -> Tuple[Token, ...]:
    """`tokens` less those in a time expression ('by Friday', '8 till 10')."""
    if not tokens:
        return ()
    times = _time_tokens(tokens[0].doc)
    return tuple(t for t in tokens if t.i not in times)


def _neighbours(apology: Span) -> List[Span]:
    """The segments an apology standing alone is about: the one just before and the one just after."""
    sents = _sentences(apology.doc)
    i = next(k for k, s in enumerate(sents) if s.start == apology.sent.start)
    out = []
    if i > 0:
        out.append(_segments(sents[i - 1])[-1:])
    if i + 1 < len(sents):
        out.append(_segments(sents[i + 1])[:1])
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
        scope = _without_times(_scope(span))  # 'sorry again about Friday morning'
        said = f" {' '.join(t.lower_ for t in scope)} "
        if any(f" {phrase} " in said for phrase in own_words):
            continue  # 'Sorry, that came out wrong': an apology for the agent's own words
        found.append(Candidate(span, scope, APOLOGY_MIN_DETAILS, True))
        if _bare(span, ctx):
            greetings = [m.span for m in pattern_set(doc.vocab, "greeting").find(doc)]
            for seg in _neighbours(span):
                if _speaks_for_itself(seg) or _generic(seg):
                    continue
                if not any(g.start < seg.end and seg.start < g.end for g in greetings):  # 'Hi Ken, happy birthday!'
                    # 'callbacks are meant to go out within 24 hours. I'm sorry.': the deadline is no detail
                    found.append(Candidate(_opening(seg), _without_times(_without_commitments(list(seg))), NEIGHBOUR_MIN_DETAILS, True))
    for m in pattern_set(doc.vocab, "active_listening", "effort_frames").find(doc):
        # what they tried is named in the clause itself: 'thanks for checking X and Y, that saves time'
        span = extend_to_clause_end(m.span)
        found.append(Candidate(span, tuple(span[1:]), m.entry.get("min_details", FRAMELESS_MIN_DETAILS), False))
    found += _you_clauses(doc)
    found += _checked_back(doc)
    found += _noted(doc)
    found += _reason_clauses(doc)
    blockers = None
    for sent in _sentences(doc):
        for seg in _segments(sent):
            if _speaks_for_itself(seg) or _generic(seg) or _grants(seg):
                continue
            # without a frame, a time or date is the plan's ('Tuesday 18 June, 8 till 10') and a time
            # echoed back ('Noted, weekdays after 1 pm') confirms logistics: neither is a detail of the problem
            tokens = _without_times(_without_commitments(list(seg)))
            about_them = any(t.lower_ in {"you", "your", "u", "ur"} for t in seg)
            needed = FRAMELESS_MIN_DETAILS if about_them else FRAMELESS_MIN_DETAILS_IMPERSONAL
            found.append(Candidate(_opening(seg), tokens, needed, True))
            if _echo(seg):
                blockers = _blocks_echo(doc) if blockers is None else blockers
                if not any(b.start < seg.end and seg.start < b.end for b in blockers):
                    found.append(Candidate(_opening(seg), tokens, ECHO_MIN_DETAILS, False))
    return found


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
    auxes = [c for c in verb.children if c.dep_ in {"aux", "auxpass"}]
    lowers = {a.lower_ for a in auxes}
    passive = any(c.dep_ in {"auxpass", "nsubjpass"} for c in verb.children)
    if "being" in lowers and lowers & {"is", "are", "'s", "'re"} and verb.tag_ == "VBN":  # not 'Being cut off from ...'
        return True
    if verb.tag_ == "VBN" and verb.lemma_.lower() in words("next_step", "scheduled_passive_verbs") and lowers & {"is", "are", "'s", "'re"}:
        return True  # 'both charges are refunded', 'it's booked for Tuesday'
    if not lowers & PROMISE_AUX or lowers & {"have", "'ve"}:  # 'should have been there' is what went wrong
        return False
    if not any(c.dep_ == "neg" for c in verb.children):
        return True
    subject = next((c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}), None)
    if verb.lemma_.lower() in words("active_listening", "promised_absences"):  # 'it won't appear on your June bill'
        return True
    return passive or (subject is not None and subject.lower_ in YOU)


def _without_definitions(cand: Candidate) -> Candidate:
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
        cached = doc.user_data["checks_defined_tokens"] = {
            t.i for sent in _sentences(doc) for seg in _segments(sent) if _defines(seg) for t in seg
        }
    return cached


def _wanted(cand: Candidate) -> bool:
    """'Right, you'd like it taken off and the money back', 'so you want a refund': the remedy
    the customer asks for, not what went wrong."""
    start = cand.scope[0] if cand.scope else (cand.frame[0] if len(cand.frame) else None)
    if start is None:
        return False
    verb = _clause_verb(start)
    subject = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    return verb.lemma_.lower() in WANT_VERBS and subject is not None and subject.lower_ in YOU and not any(
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


def _grants(seg: Span) -> bool:
    """'No 48-hour wait.', 'No policy lines.': a short verbless 'no ...' grants the customer's
    demand; 'No signal and your photos stuck on the old phone' lists what went wrong."""
    opening = _words_of(seg)
    if not opening or opening[0].lower_ != "no" or len(opening) > MAX_GRANT_WORDS:
        return False
    return not any(t.pos_ in {"VERB", "AUX"} for t in seg) and not seg.text.rstrip().endswith("?")


def _grants_after(cand: Candidate) -> bool:
    """'OK, no restarts.', 'Fair enough, no policy lines.': the frame is followed by a granted demand."""
    words_ = [t for t in cand.scope if not (t.is_punct or t.is_space)]
    if not words_ or words_[0].lower_ != "no":
        return False
    seg = _segment_of(cand.frame.doc, words_[0])
    return not any(t.pos_ in {"VERB", "AUX"} for t in seg if t.i >= words_[0].i)


def _echo(seg: Span) -> bool:
    """A verbless segment that repeats what the customer asked for ('Photos and contacts from
    the old phone.'); 'No policy lines.' or 'No 48-hour wait.' grants a demand instead."""
    negations = words("active_listening", "problem_negations")
    if seg.root.pos_ in {"VERB", "AUX"}:
        return False
    times = _time_tokens(seg.doc)
    if any(t.tag_ == "VBN" for t in seg) and any(t.i in times for t in seg):  # 'hotel and meals refunded, all today'
        return False
    return not any(t.lower_ in negations or t.dep_ == "neg" for t in seg)


def _in_asked_part(cand: Candidate) -> bool:
    """Is the candidate in the question part of an information question? A segment before a
    dash ('Twenty restarts — how long does it stay down?') is not."""
    sent = cand.frame.sent
    if not _is_info_question(sent):
        return False
    if cand.in_question_ok:
        return False
    segments = _segments(sent)
    if len(segments) < 2:
        return True
    start = cand.scope[0].i if cand.scope else cand.frame.start
    seg = next((s for s in segments if s.start <= start < s.end), segments[-1])
    if seg.start == segments[-1].start:
        return True
    opening = _words_of(seg)[:3]
    question_words = words("active_listening", "info_question_words")
    return any(t.lower_ in question_words for t in opening)  # 'What happens when it drops — does ...?'


def _example(ctx: Context, lex: dict) -> str:
    if ctx.mirror:
        return fill(lex["example"], mirror=ctx.mirror)
    if ctx.known:
        return fill(lex["example_fallback"], detail=next(iter(ctx.known.values())))
    return lex["example_no_context"]


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
    candidates = [
        Candidate(m.span, _scope(m.span), m.entry.get("min_details", MIN_SHARED_DETAILS), True, explicit=m.entry.get("explicit", True))
        for m in frames
    ]
    candidates += [Candidate(s, _scope(s), EMPATHY_MIN_DETAILS, True) for s in empty]
    candidates += _other_frames(doc, ctx)
    defended = {m.span.sent.start for m in defensive.flagged(doc, ctx)}
    questions: Dict[Tuple[int, bool, int], bool] = {}
    kept = []
    for cand in sorted(candidates, key=lambda c: c.frame.start):
        sent_start = cand.frame.sent.start
        if sent_start in defended:
            continue
        asked = (sent_start, cand.in_question_ok, cand.scope[0].i if cand.scope else -1)
        if asked not in questions:
            questions[asked] = _in_asked_part(cand)
        if questions[asked] or _grants_after(cand) or (not cand.explicit and (_promised(cand) or _in_plan(cand) or _wanted(cand))):
            continue
        kept.append(_without_definitions(cand))
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
    example = _example(ctx, lex)
    if empty:
        quotes = [ctx.quote(extend_to_clause_end(s, CLAUSE_LINKS)) for s in empty]
        return result(False, quotes, fill(lex["tips"]["empty_empathy"], span=quotes[0], example=example))
    explicit = [m.span for m in frames if m.entry.get("explicit", True)]
    if explicit:
        span = ctx.quote(explicit[0])
        return result(False, [span], fill(lex["tips"]["frame_without_detail"], span=span, example=example))
    return result(False, [], fill(lex["tips"]["missing"], example=example))
