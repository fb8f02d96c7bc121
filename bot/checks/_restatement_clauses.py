"""Where a restatement can be, for active_listening: the kinds of clause and segment of a reply.

The clause kinds (frames and their thresholds, the words that mark a past 'you' clause, a reason,
a lead-in) are data in active_listening.json ("clause_rules", with the reason for each); this
module holds what needs the parse: segments of a sentence, 'you' clauses, checking tags, notes,
reasons in questions, and the tests that tell a restatement from the agent's own plans,
advice, questions, general explanations and definitions. docs/checks.md ("active_listening")
gives the trainers' decisions these follow.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import List, Optional, Sequence, Set, Tuple

from spacy.tokens import Doc, Span, Token

from bot.checks import next_step, probing_question
from bot.checks._lexicon import load_lexicon, pattern_set, words
from bot.checks._situation import about_everyone, chat_promises, general_claim, gerund_subject, judges, narrates


@dataclass(frozen=True)
class ClauseRules:
    min_frame: int
    min_empathy: int
    min_frameless: int
    min_frameless_impersonal: int
    min_apology: int
    min_you_clause_without_problem: int
    min_passive_you_without_problem: int
    min_reason: int
    min_neighbour: int
    min_echo: int
    max_grant_words: int
    clause_links: frozenset
    segment_marks: frozenset
    past_aux: frozenset
    reason_marks: frozenset
    you: frozenset
    demonstratives: frozenset
    ability_modals: frozenset
    you_ability_modals: frozenset
    checking_aux: frozenset
    lead_ins: frozenset
    want_verbs: frozenset
    promise_aux: frozenset


@lru_cache(maxsize=1)
def rules() -> ClauseRules:
    data = load_lexicon("active_listening")["clause_rules"]
    counts = {f"min_{k}": int(v) for k, v in data["min_details"].items() if not k.startswith("_")}
    lists = {k: frozenset(v) for k, v in data["words"].items() if not k.startswith("_")}
    return ClauseRules(**counts, max_grant_words=int(data["max_grant_words"]), **lists)


@dataclass(frozen=True)
class Candidate:
    frame: Span  # quoted when it has words; empty for frameless kinds
    scope: Tuple[Token, ...]  # where the details are looked for
    needed: int  # distinct details needed
    needs_problem: bool  # must also say what went wrong
    in_question_ok: bool = False  # the reason part of a question restates even there
    problem_scope: Optional[Tuple[Token, ...]] = None  # where what went wrong may be said, if wider
    explicit: bool = False  # an explicit restatement frame ('so you ...', 'it sounds like')


def _agent_commits(token: Token) -> bool:
    """'I'll send a technician', 'a courier will collect it', not 'you've been told'."""
    if not next_step.is_commitment(token) or gerund_subject(token):
        return False
    subject = next_step._subject(token)
    return subject is None or subject.lower_ not in rules().you


def _commitment_tokens(doc: Doc) -> List[Tuple[Token, Set[int]]]:
    """Each commitment of the agent in `doc` with the token indices of its subtree."""
    cached = doc.user_data.get("checks_agent_commitments")
    if cached is None:
        cached = [(t, {s.i for s in t.subtree}) for t in next_step.commitments(doc) if _agent_commits(t)]
        cached += chat_promises(doc)
        doc.user_data["checks_agent_commitments"] = cached
    return cached


def without_commitments(tokens: Sequence[Token], keep: Optional[Span] = None) -> Tuple[Token, ...]:
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


def scope_after(frame: Span) -> Tuple[Token, ...]:
    """The rest of the frame's sentence, without what the agent commits to doing."""
    doc = frame.doc
    return without_commitments(list(doc[frame.end : frame.sent.end]), keep=frame)


def words_of(sent: Span) -> List[Token]:
    return [t for t in sent if not (t.is_punct or t.is_space)]


def is_info_question(sent: Span) -> bool:
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
            # ', have you updated it?', ', did he offer to take them back?': the auxiliary before its subject
            or (t.pos_ == "AUX" and t.i + 1 < sent.end and (sent.doc[t.i + 1].lower_ in rules().you or (
                sent.doc[t.i + 1].dep_ in {"nsubj", "nsubjpass"} and not _checking_tag_in(sent))))
        )
        for t in sent
    ):
        return True
    opening = words_of(sent)
    while opening and opening[0].lower_ in rules().lead_ins:  # 'Sorry, could you check with the neighbours?'
        opening = opening[1:]
    opening = opening[:3]
    question_words = words("active_listening", "info_question_words")
    if any(t.lower_ in question_words and not subordinates(t) for t in opening):
        return True
    if len(opening) >= 2 and (opening[0].tag_ == "MD" or opening[0].pos_ == "AUX") and opening[1].lower_ in rules().you | {"your", "ur"}:
        return True
    # 'Is the laptop plugged in when it crashes?', 'Has it happened since?': a new fact asked for;
    # a checking question keeps the statement's order ('So the technician never came?')
    if opening and opening[0].pos_ == "AUX" and opening[0].i == words_of(sent)[0].i and opening[0].lower_ not in rules().checking_aux:
        return True
    return bool(pattern_set(sent.doc.vocab, "probing_question", "open_prompts").find(sent))


def _checking_tag_in(sent: Span) -> bool:
    """', is that right?', ', have I understood that right?' check the statement before them."""
    tags = pattern_set(sent.doc.vocab, "active_listening", "checking_tags").find(sent.doc)
    return any(sent.start <= m.span.start < sent.end for m in tags)


def segments_of(sent: Span) -> List[Span]:
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
    marks = rules().segment_marks
    for t in sent:
        spaced_dash = t.text == "-" and t.i > sent.start and doc[t.i - 1].whitespace_
        if t.text in marks or spaced_dash:
            if t.i > start:
                out.append(doc[start : t.i])
            start = t.i + 1
    if start < sent.end:
        out.append(doc[start : sent.end])
    return [s for s in out if words_of(s)]


def _modal_plans(modal: Token) -> bool:
    """'should fix it', 'can wait', 'I'd want it back', but not a failure told as a modal:
    'you can't get a call back', 'won't charge', 'should have been there', 'must have been awful'."""
    doc = modal.doc
    after = [t for t in doc[modal.i + 1 : min(len(doc), modal.i + 5)] if not t.is_punct]
    negated = bool(after) and (after[0].dep_ == "neg" or after[0].lower_ in {"not", "n't", "never"})
    rest = after[1:] if negated else after
    if len(rest) >= 2 and rest[0].lower_ in {"have", "'ve"} and rest[1].tag_ == "VBN":
        return False  # 'should have been there': what went wrong, told as what ought to have happened
    if judges(modal):
        return False  # 'must be maddening', 'anyone would be fed up'
    return not (negated and modal.lower_ in rules().ability_modals)


def speaks_for_itself(seg: Span) -> bool:
    """Segments that are the agent's own plans, advice or requests, not a restatement: a
    modal in the main clause ('should fix it', 'can wait'), an imperative, or I/we as the
    main subject."""
    root = seg.root
    for t in seg:
        if t.tag_ == "MD" and (t.head.i == root.i or (t.head.dep_ == "conj" and t.head.head.i == root.i)):
            if _modal_plans(t):
                return True
    # a gerund as subject ("Losing calls all week would wear anyone down") makes it no imperative
    if root.tag_ == "VB" and not any(c.dep_ in {"nsubj", "nsubjpass", "expl", "csubj", "csubjpass"} for c in root.children):
        return True
    subject = next((c for c in root.children if c.dep_ in {"nsubj", "nsubjpass"}), None)
    return subject is not None and subject.lower_ in words("next_step", "first_person")


def opening_of(span: Span) -> Span:
    first = next((t for t in span if not (t.is_punct or t.is_space)), span[0])
    return span.doc[first.i : first.i]


def segment_of(doc: Doc, token: Token) -> Span:
    for seg in segments_of(token.sent):
        if seg.start <= token.i < seg.end:
            return seg
    return token.sent


def you_clauses(doc: Doc) -> List[Candidate]:
    """'you' as the subject of what happened to them: 'you were left at the gate', 'you paid
    for premium service and still can't get a call back', 'you've checked the porch'."""
    found = []
    you = rules().you
    for t in doc:
        if t.lower_ not in you or t.dep_ not in {"nsubj", "nsubjpass"}:
            continue
        verb = t.head
        if verb.dep_ == "relcl":  # 'the card you paid with', 'the days you were charged': background
            continue
        auxes = [c for c in verb.children if c.dep_ in {"aux", "auxpass"}]
        past = verb.tag_ == "VBD" or any(a.lower_ in rules().past_aux for a in auxes)
        unable = any(a.lower_ in rules().you_ability_modals for a in auxes) and any(c.dep_ == "neg" for c in verb.children)
        if not (past or unable) or any(a.tag_ == "MD" and _modal_plans(a) for a in auxes):
            continue
        if _hedged_or_asked(verb):
            continue
        seg = segment_of(doc, t)
        if _imperative(seg):  # 'Tell me what you were working on': a prompt, not a restatement
            continue
        scope = without_commitments(list(seg))
        # 'you were left at the gate — that should never happen': the judgement may follow the dash
        sentence = without_commitments(list(t.sent))
        found.append(Candidate(doc[t.i : t.i + 1], scope, rules().min_apology, True, problem_scope=sentence))
        without_problem = rules().min_passive_you_without_problem if t.dep_ == "nsubjpass" else rules().min_you_clause_without_problem
        found.append(Candidate(doc[t.i : t.i + 1], scope, without_problem, False))
    return found


def checked_back(doc: Doc) -> List[Candidate]:
    """'A charging fault came back as liquid damage on a phone that's never been wet, did I get
    that right?': the statement before a checking tag is the restatement."""
    found = []
    for m in pattern_set(doc.vocab, "active_listening", "checking_tags").find(doc):
        sent = m.span.sent
        before = [t for t in doc[sent.start : m.span.start] if not (t.is_punct or t.is_space)]
        if before:
            found.append(Candidate(m.span, without_commitments(before), rules().min_frameless, True, explicit=True))
    return found


def noted(doc: Doc) -> List[Candidate]:
    """'I've noted on the complaint that both steaks came out cold': what the agent records
    about the case is told in the customer's terms."""
    found = []
    for t in doc:
        if t.lemma_.lower() in words("active_listening", "recording_verbs") and t.tag_ in {"VBN", "VBD", "VBZ", "VBP"}:
            for clause in (c for c in t.children if c.dep_ == "ccomp"):
                scope = tuple(s for s in clause.subtree if not s.is_punct)
                found.append(Candidate(doc[t.i : t.i + 1], scope, rules().min_frameless, True))
    return found


def _imperative(seg: Span) -> bool:
    root = seg.root
    return root.tag_ == "VB" and not any(c.dep_ in {"nsubj", "nsubjpass", "expl", "csubj", "csubjpass"} for c in root.children)


def _hedged_or_asked(verb: Token) -> bool:
    """'I'm sorry you feel you've been overcharged' (the customer's account hedged as an
    opinion) and 'what time you were told' (a question about it) restate nothing."""
    opinions = words("active_listening", "opinion_verbs")
    if any(a.lemma_.lower() in opinions for a in verb.ancestors):
        return True
    return any(t.tag_.startswith("W") and not subordinates(t) for t in verb.subtree if t.i < verb.i)


def subordinates(wh: Token) -> bool:
    """'So when you asked for the steaks to be reheated, he rolled his eyes?': 'when' opens an
    adverbial clause of the statement, as it does in 'when you were home all afternoon', and
    asks nothing; 'When did it start?' asks."""
    return wh.dep_ in {"advmod", "mark"} and wh.head.dep_ == "advcl"


def is_generic(seg: Span) -> bool:
    """General explanations, not this customer's case: 'Assistance requests sometimes drop
    off if the flight is changed', 'An eSIM is simply a SIM card built into the phone'."""
    generic = words("active_listening", "generic_markers")
    hypothetical = words("active_listening", "hypothetical_marks")
    if any(t.lower_ in generic for t in seg):
        return True
    if any(t.dep_ == "mark" and t.lower_ in hypothetical for t in seg):
        return True
    for t in seg:
        if about_everyone(t) or general_claim(t):
            return True
        if t.lemma_ == "be" and t.dep_ != "relcl":
            subject = next((c for c in t.children if c.dep_ == "nsubj"), None)
            if subject is not None and any(c.dep_ == "det" and c.lower_ in {"a", "an"} for c in subject.children) and not narrates(subject):
                return True  # 'An eSIM is ...': a definition; 'A parcel marked delivered when you were home is ...' is not
    return defines(seg)


def defines(seg: Span) -> bool:
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
    if narrates(subject):  # 'Fifty minutes for mains that came out cold isn't the evening anyone should get'
        return False
    if lemma in {"mean", "stand"}:
        return True
    if lemma == "be" and any(t.lower_ == "what" for t in seg) and any(t.lemma_ == "call" for t in seg):
        return True  # 'a misconnect is what we call it when ...'
    attr = next((c for c in root.children if c.dep_ == "attr" and c.pos_ == "NOUN"), None)
    # a term (a name or an acronym, no 'your'/'the') defined as a thing: 'PNR is just your booking record'
    term = subject.pos_ == "PROPN" or subject.text.isupper() or not any(c.dep_ in {"det", "poss"} for c in subject.children)
    return attr is not None and term


def time_tokens(doc: Doc) -> Set[int]:
    cached = doc.user_data.get("checks_time_tokens")
    if cached is None:
        cached = {i for m in pattern_set(doc.vocab, "time_expressions").find(doc) for i in range(m.span.start, m.span.end)}
        doc.user_data["checks_time_tokens"] = cached
    return cached


def reason_clauses(doc: Doc) -> List[Candidate]:
    """The reason in a question: 'Since the hardware check passed but it still crashes, can you ...?'."""
    found = []
    marks = rules().reason_marks
    for t in doc:
        if t.dep_ == "mark" and t.lower_ in marks and t.head.dep_ == "advcl":
            scope = tuple(s for s in t.head.subtree if s.i != t.i)
            found.append(Candidate(doc[t.i : t.i + 1], scope, rules().min_reason, True, in_question_ok=True))
    return found


def sentences(doc: Doc) -> List[Span]:
    """The reply's sentences, split once (spaCy walks the parse again on every `doc.sents`)."""
    sents = doc.user_data.get("checks_sents")
    if sents is None:
        sents = doc.user_data["checks_sents"] = list(doc.sents)
    return sents


def without_times(tokens: Sequence[Token]) -> Tuple[Token, ...]:
    """`tokens` less those in a time expression ('by Friday', '8 till 10')."""
    if not tokens:
        return ()
    times = time_tokens(tokens[0].doc)
    own = {t.i for t in tokens}
    return tuple(t for t in tokens if t.i not in times or _in_past_event(t, own))


def _in_past_event(token: Token, own: Set[int]) -> bool:
    """'The chat agent in April should have taken it off': a time in a clause about what went
    wrong, told in the past by someone other than the agent, dates the failure; 'by Friday'
    under 'I'll call' or in a verbless plan is the plan's."""
    verb = token.head
    while verb.pos_ not in {"VERB", "AUX"} and verb.head.i != verb.i:
        verb = verb.head
    if verb.pos_ not in {"VERB", "AUX"} or verb.dep_ in {"aux", "auxpass"} or verb.i not in own:
        return False  # the verb of another segment ('booked one just now: Tuesday 18th, 8 to 10') dates nothing here
    auxes = [c for c in verb.children if c.dep_ in {"aux", "auxpass"}]
    past = verb.tag_ == "VBD" or (verb.tag_ == "VBN" and any(a.lower_ in rules().past_aux for a in auxes))
    subject = next((c for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}), None)
    return past and not (subject is not None and subject.lower_ in words("next_step", "first_person"))
