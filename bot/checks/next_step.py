"""next_step: an action the agent or the company will take (or has just taken) AND when.

The commitment needs the parse: who does it (first person, a company agent, a passive
'your refund will be processed', 'you'll receive'), and whether it is promised ('will',
''ll', 'going to', 'let me', 'I'm sending', 'I've just sent'). When is a Matcher over
time_expressions.json. Both must sit in one sentence.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span, Token

from bot.checks._context import Context, fill, is_negated, result
from bot.checks._lexicon import load_lexicon, pattern_set, words

FUTURE_AUX = frozenset({"will", "'ll", "shall", "wo"})
# How far from a past verb 'a moment ago' or 'this minute' may sit and still mark it as just done.
JUST_DONE_REACH = 12


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


def _is_going_to(verb: Token) -> bool:
    return verb.lemma_ == "go" and verb.tag_ == "VBG" and any(c.dep_ == "xcomp" for c in verb.children)


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


def _just_done(verb: Token) -> bool:
    """'Replacement ordered just now', 'I activated it just now': a past action marked as just done."""
    if verb.tag_ not in {"VBD", "VBN"}:  # 'Free repair approved just now'
        return False
    near = [t.lower_ for t in verb.subtree if abs(t.i - verb.i) <= JUST_DONE_REACH]
    if "ago" in near and near[near.index("ago") - 1] in {"moment", "moments", "minute", "minutes", "second", "seconds", "mins"}:
        return True  # 'I submitted it a moment ago'
    if any(a == "this" and b in {"minute", "second", "moment"} for a, b in zip(near, near[1:])):
        return True  # 'it went out this minute'
    for child in verb.children:
        if child.dep_ == "advmod" and child.lower_ == "just":
            return True
        if child.dep_ == "advmod" and child.lower_ == "now" and child.i > verb.i:
            return any(c.lower_ == "just" for c in child.children) or verb.doc[child.i - 1].lower_ == "just"
    return False


def _sent_on_its_way(verb: Token) -> bool:
    """'goes out', 'comes back', 'ships', 'is booked': the thing itself set off or booked, not
    'it goes dead' or 'it comes and goes'."""
    lemma = verb.lemma_.lower()
    if lemma in words("next_step", "scheduled_passive_verbs") or lemma in {"leave", "depart"}:
        return True
    return any(c.dep_ == "prt" and c.lower_ in {"out", "back", "over"} for c in verb.children)


def _telegraphic(verb: Token) -> bool:
    """Chat drops 'is' and 'I'm': 'engineer booked for fri 2-4pm', 'removing it now and
    refunding both months today'. Only a main verb with no auxiliary counts."""
    if verb.dep_ not in {"ROOT", "conj"} or (verb.dep_ == "conj" and verb.head.dep_ != "ROOT") or _auxiliaries(verb):
        return False
    if verb.tag_ == "VBG":
        return _subject(verb) is None
    subject = _subject(verb)
    if any(c.lemma_.lower() in words("next_step", "record_verbs") for c in verb.children):
        return False  # 'tracking says delivered': what a record shows, not what was done
    return (verb.tag_ in {"VBN", "VBD"} and verb.lemma_.lower() in words("next_step", "scheduled_passive_verbs")
            and subject is not None and subject.pos_ == "NOUN" and not any(c.dep_ == "dobj" for c in verb.children))


def _promise_kind(verb: Token) -> Optional[str]:
    """'future', 'now' (let me ..., I'm sending ...) or 'done' (I've just sent ...), else None.
    Asked of the same verb by several checks, so the answer is kept on the doc."""
    memo = verb.doc.user_data.setdefault("checks_promise_kind", {})
    if verb.i not in memo:
        memo[verb.i] = _find_promise_kind(verb)
    return memo[verb.i]


def _find_promise_kind(verb: Token) -> Optional[str]:
    auxes = _auxiliaries(verb)
    lowers = {a.lower_ for a in auxes}
    habitual = words("next_step", "habitual_adverbs")
    if any(c.dep_ == "advmod" and c.lower_ in habitual for c in verb.children):
        return None  # 'refunds usually show in 3 to 5 days': a timetable, not a promise
    if lowers & FUTURE_AUX or _typed_future(verb):
        return "future"
    head = verb.head
    if verb.dep_ == "xcomp" and head.lemma_ == "go" and head.tag_ == "VBG":  # I'm going to ship
        return "future"
    if verb.dep_ in {"ccomp", "xcomp"} and head.lemma_ == "let" and any(
        c.lower_ in {"me", "us"} for c in (*head.children, *verb.children)
    ):
        return "now"
    if verb.tag_ == "VBN" and any(a.lemma_ == "have" for a in auxes):
        return "done"
    if verb.tag_ == "VBG" and any(a.lemma_ == "be" for a in auxes):
        return "now"
    if _just_done(verb):
        return "done"
    if verb.tag_ in {"VBZ", "VBP"} and verb.lemma_.lower() in words("next_step", "delivered_things_verbs"):
        # 'the phone ships back Monday': present tense for a timetable; 'refunds go back to the
        # card and usually show in 3 to 5 days' is how it always goes, promised to nobody
        return None if any(t.lower_ in habitual for t in verb.sent) else "scheduled"
    if (
        verb.tag_ == "VBN"
        and verb.lemma_.lower() in words("next_step", "scheduled_passive_verbs")
        and any(a.dep_ in {"aux", "auxpass"} and a.lemma_ == "be" and a.tag_ in {"VBZ", "VBP"} for a in auxes)
    ):
        return "scheduled"  # 'it's dispatched by express today', 'your 142 dollars is being refunded today'
    if _telegraphic(verb):
        return "now" if verb.tag_ == "VBG" else "scheduled"
    return None


def _is_conditional(verb: Token) -> bool:
    """'If it drops again, we'll send an engineer': nothing is promised now."""
    return any(
        c.dep_ == "advcl" and any(m.dep_ == "mark" and m.lower_ in words("next_step", "condition_marks") for m in c.children)
        for c in verb.children
    )


def _is_action(verb: Token) -> bool:
    lemma = verb.lemma_.lower()
    if lemma == "be":  # "I'll be in touch", "he'll be there": a be_actions word within two steps
        near = [t for t in verb.subtree if t.i != verb.i and verb.i in (t.head.i, t.head.head.i)]
        return any(t.lower_ in words("next_step", "be_actions") for t in near)
    if _is_causative(verb):
        return True
    return lemma not in words("next_step", "not_actions")


def is_commitment(verb: Token) -> bool:
    """Does `verb` promise (or report) an action by the agent or the company?

    Several checks ask this of every token, so the answers are kept on the doc."""
    memo = verb.doc.user_data.setdefault("checks_commitment", {})
    found = memo.get(verb.i)
    if found is None:
        found = memo[verb.i] = _is_commitment(verb)
    return found


def _announces_delivery(verb: Token) -> bool:
    """'Expect the engineer between 1 and 3', 'you can expect a call tomorrow': what the company
    will deliver, told from the customer's side."""
    if verb.lemma_.lower() not in words("next_step", "expect_verbs") or is_negated(verb) or verb.sent.text.rstrip().endswith("?"):
        return False
    subject = _subject(verb)
    if subject is not None and subject.lower_ not in {"you", "u"}:
        return False
    things = words("next_step", "expected_things")
    return any(c.dep_ == "dobj" and c.lemma_.lower() in things for c in verb.children)


def _opens_with_will(verb: Token) -> bool:
    """'will call u tmrw am', 'Will email the code tonight': chat drops the 'I' before 'will'."""
    auxes = [a for a in _auxiliaries(verb) if a.lower_ in FUTURE_AUX and a.i < verb.i]
    if not auxes or verb.lemma_.lower() == "do" or verb.sent.text.rstrip().endswith("?"):
        return False
    aux = auxes[0]
    before = verb.doc[aux.i - 1] if aux.i > aux.sent.start else None
    return before is None or before.is_punct or before.lower_ in {"and", "so", "ok", "okay"}


def _is_commitment(verb: Token) -> bool:
    if verb.pos_ not in {"VERB", "AUX"} or verb.dep_ in {"aux", "auxpass"}:
        return False
    if _is_going_to(verb):  # the promise is the verb after "going to"
        return False
    if _announces_delivery(verb) and not _is_conditional(verb):
        return True
    if any(a.lower_ in words("next_step", "hedging_modals") for a in _auxiliaries(verb)):
        return False
    kind = _promise_kind(verb)
    if kind is None or is_negated(verb) or not _is_action(verb) or _is_conditional(verb):
        return False
    subject = _subject(verb)
    if verb.head.lemma_ == "let" and kind == "now":
        return True
    if subject is None:
        if kind == "future" and _opens_with_will(verb):
            return True
        if kind == "now" and _telegraphic(verb):  # 'removing it now': chat drops the "I'm"
            return True
        return kind == "done" and _just_done(verb)  # 'booked one just now for you': chat drops the 'I've'
    who = subject.lower_
    if _typed_future(verb) and subject.dep_ != "nsubj":  # 'ill call you': no parsed subject
        return True
    if kind == "scheduled" or (kind == "now" and verb.lemma_.lower() in words("next_step", "delivered_things_verbs")):
        if subject.lower_ in {"it", "that", "this"} and _sent_on_its_way(verb):
            return True  # 'it goes out tonight by express', 'that's booked now'
        return subject.lower_ not in {"you", "it", "that", "this", "they"} or subject.pos_ == "NOUN"
    if kind == "done" and verb.tag_ == "VBD":  # 'Replacement ordered just now', 'I activated it just now'
        return who in words("next_step", "first_person") or subject.pos_ in {"NOUN", "PROPN"}
    lemma = verb.lemma_.lower()
    if who in words("next_step", "first_person"):
        return True
    passive = subject.dep_ == "nsubjpass" or any(a.dep_ == "auxpass" for a in _auxiliaries(verb))
    if kind == "future" and (passive or lemma in words("next_step", "delivered_things_verbs")):
        return True
    if kind == "future" and who == "you" and lemma in words("next_step", "customer_receives_verbs"):
        return True
    if kind == "done" and passive:
        return True
    return subject.lemma_.lower() in words("next_step", "agents") or who in words("next_step", "agents")


def commitments(doc: Doc) -> List[Token]:
    cached = doc.user_data.get("checks_commitments")
    if cached is None:
        cached = doc.user_data["checks_commitments"] = [t for t in doc if is_commitment(t)]
    return list(cached)


def action_span(verb: Token, times: Sequence[Span] = ()) -> Span:
    """'I'll ship a replacement' for ship: subject, auxiliaries, verb, particle, object and an
    adjoining prepositional phrase ('look into it'), stopping where a time expression starts."""
    doc = verb.doc
    parts = [verb] + [c for c in verb.children if c.dep_ in {"aux", "auxpass", "neg", "prt", "nsubj", "nsubjpass"}]
    if verb.dep_ in {"xcomp", "ccomp"} and (verb.head.lemma_ == "let" or _is_going_to(verb.head)):
        head = verb.head
        parts += [head] + [c for c in head.children if c.dep_ in {"aux", "nsubj"} or c.lower_ in {"me", "us"}]
    start = min(p.left_edge.i if p.dep_ in {"nsubj", "nsubjpass"} else p.i for p in parts)
    end = max(p.i for p in parts) + 1
    objects = {"dobj", "dative", "prt"}
    if verb.lemma_ in {"have", "get"}:  # 'have someone call you', 'get it fixed'
        objects |= {"ccomp", "xcomp", "oprd", "acomp"}
    for child in sorted(verb.children, key=lambda c: c.i):
        if child.i > verb.i and (child.dep_ in objects or (child.dep_ == "prep" and child.i == end)):
            end = max(end, child.right_edge.i + 1)
    end = min([end] + [t.start for t in times if verb.i < t.start < end])
    while end - 1 > verb.i and (doc[end - 1].pos_ in {"ADP", "CCONJ", "PUNCT"} or doc[end - 1].is_space):
        end -= 1
    return doc[start:end]


def _just_marker(verb: Token) -> Optional[Span]:
    """'I've just sent it', 'a refund has just been issued': trainers count 'just' as the when."""
    if _promise_kind(verb) != "done":
        return None
    just = next((c for c in verb.children if c.lower_ == "just" and c.dep_ == "advmod"), None)
    return verb.doc[just.i : just.i + 1] if just is not None else None


def _in_other_question(verb: Token, time: Span) -> bool:
    """'We'll go one step at a time — what do you see on the screen right now?': the time
    belongs to a question after a dash, colon or semicolon, not to the promise."""
    doc = verb.doc
    if not time.sent.text.rstrip().endswith("?") or time.start < verb.i:
        return False
    return any(t.text in {"—", "–", "-", ";", ":"} for t in doc[verb.i : time.start])


def _time_only(sent: Span, time: Span) -> bool:
    """A sentence that is just a time ('By 5 pm today.', 'Within the hour, promise.')."""
    return not any(t.pos_ in {"VERB", "AUX"} for t in sent if not (time.start <= t.i < time.end))


def check(doc: Doc, ctx: Context) -> dict:
    lex = load_lexicon("next_step")
    times = pattern_set(doc.vocab, "time_expressions").find(doc)
    firm = [m for m in times if m.label == "TIME"]
    vague = [m for m in times if m.label == "VAGUE_TIME"]
    verbs = commitments(doc)

    pairs: List[Tuple[Span, Span]] = []
    for verb in verbs:
        action = action_span(verb, [t.span for t in times])
        for time in firm:
            if time.span.sent == verb.sent and not _in_other_question(verb, time.span):
                pairs.append((action, time.span))
            elif time.span.sent.start == verb.sent.end and _time_only(time.span.sent, time.span):
                pairs.append((action, time.span))  # 'I'll call you back. Within the hour.'
        just = _just_marker(verb)
        if just is not None and not any(a is action for a, _ in pairs):
            # quote 'just' on its own only when the action's quote does not already hold it
            pairs.append((action, action if action.start <= just.start < action.end else just))
    if pairs:
        evidence = sorted({s for pair in pairs for s in pair}, key=lambda s: (s.start, s.end))
        return result(True, [ctx.quote(s) for s in evidence])

    if verbs:
        actions = [action_span(v, [t.span for t in times]) for v in verbs]
        vague_here = [m.span for m in vague if any(m.span.sent == v.sent for v in verbs)]
        if vague_here:
            tip = fill(lex["tips"]["vague_time"], span=ctx.quote(vague_here[0]))
        else:
            tip = fill(lex["tips"]["missing_time"], span=ctx.quote(actions[0]))
        return result(False, [ctx.quote(s) for s in actions + vague_here], tip)
    # A time in a question ('anything else I can help with today?') promises nothing either way.
    stated = [m.span for m in firm if not m.span.sent.text.rstrip().endswith("?")]
    if stated:
        tip = fill(lex["tips"]["missing_action"], span=ctx.quote(stated[0]))
        return result(False, [ctx.quote(s) for s in stated], tip)
    return result(False, [], lex["tips"]["missing"])
