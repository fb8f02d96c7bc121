"""next_step: an action the agent or the company will take (or has just taken) AND when.

The commitment needs the parse: who does it (first person, a company agent, a passive
'your refund will be processed', 'you'll receive'), and whether it is promised ('will',
''ll', 'going to', 'let me', 'I'm sending', 'I've just sent'). When is a Matcher over
time_expressions.json. Both must sit in one sentence.
"""
from __future__ import annotations

from typing import List, Optional, Sequence, Tuple

from spacy.tokens import Doc, Span, Token

from bot.checks._context import Context, is_negated, result
from bot.checks._lexicon import load_lexicon, words
from bot.checks._next_step_actions import (  # noqa: F401  (_subject: read by other checks)
    FUTURE_AUX,
    _auxiliaries,
    _firm_should,
    _is_causative,
    _remedy_arrives,
    _subject,
    _typed_future,
    _wished,
    is_vague,
)
from bot.checks._next_step_times import clause_of, in_condition, in_other_question, time_only
from bot.checks._remedy_clauses import remedy_pairs
from bot.checks import _next_step_times
from bot.checks import _next_step_tips  # noqa: E402  (imports this module back; used at call time)

# How far from a past verb 'a moment ago' or 'this minute' may sit and still mark it as just done.
JUST_DONE_REACH = 12






def _is_going_to(verb: Token) -> bool:
    return verb.lemma_ == "go" and verb.tag_ == "VBG" and any(c.dep_ == "xcomp" for c in verb.children)






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
            # "I've only just picked up your case": when the agent arrived, not an action done
            return child.i == 0 or verb.doc[child.i - 1].lower_ != "only"
        if child.dep_ == "advmod" and child.lower_ == "now" and child.i > verb.i:
            return any(c.lower_ == "just" for c in child.children) or verb.doc[child.i - 1].lower_ == "just"
    return False


def _sent_on_its_way(verb: Token) -> bool:
    """'goes out', 'comes back', 'ships', 'is booked': the thing itself set off or booked, not
    'it goes dead' or 'it comes and goes'."""
    lemma = verb.lemma_.lower()
    if lemma in words("next_step", "scheduled_passive_verbs") or lemma in {"leave", "depart"}:
        return True
    return _on_its_way(verb) or any(c.dep_ == "prt" and c.lower_ in {"out", "back", "over"} for c in verb.children)


def _on_its_way(verb: Token) -> bool:
    """'it's on its way back to your card', 'the refund is on the way': a delivery under way."""
    return verb.lemma_ == "be" and any(
        c.dep_ == "prep" and c.lower_ == "on" and any(g.dep_ == "pobj" and g.lower_ == "way" for g in c.children)
        for c in verb.children
    )


def _telegraphic(verb: Token) -> bool:
    """Chat drops 'is' and 'I'm': 'engineer booked for fri 2-4pm', 'removing it now and
    refunding both months today'. Only a main verb with no auxiliary counts."""
    if verb.dep_ not in {"ROOT", "conj"} or (verb.dep_ == "conj" and verb.head.dep_ != "ROOT") or _auxiliaries(verb):
        return False
    if verb.tag_ == "VBG":
        return _subject(verb) is None
    if any(t.dep_ == "neg" for t in verb.subtree):
        return False  # 'the engineer booked for Tuesday never came': what went wrong, not what is done
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
    if verb.dep_ == "xcomp" and _wished(head):  # 'I'd like to call you myself tomorrow'
        return "future"
    if verb.dep_ in {"ccomp", "xcomp"} and head.lemma_ == "let" and any(
        c.lower_ in {"me", "us"} for c in (*head.children, *verb.children)
    ):
        return "now"
    if verb.tag_ == "VBN" and any(a.lemma_ == "have" for a in auxes):
        return "done"
    if verb.tag_ == "VBG" and any(a.lemma_ == "be" for a in auxes):
        # 'the staff were doing their best that evening' is the past
        return None if any(a.tag_ == "VBD" for a in auxes) else "now"
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
    if verb.tag_ in {"VBZ", "VBP"} and _on_its_way(verb):
        return "scheduled"
    if _telegraphic(verb):
        return "now" if verb.tag_ == "VBG" else "scheduled"
    return None




def _is_conditional(verb: Token) -> bool:
    """'If it drops again, we'll send an engineer': nothing is promised now. The condition may
    hang on the first of two joined verbs ('if it does, call us and we'll refund it')."""
    marks = words("next_step", "condition_marks")
    while True:
        if any(c.dep_ == "advcl" and any(m.dep_ == "mark" and m.lower_ in marks for m in c.children) for c in verb.children):
            return True
        if verb.dep_ != "conj" or verb.head.i == verb.i:
            return False
        verb = verb.head






def _is_action(verb: Token) -> bool:
    lemma = verb.lemma_.lower()
    if lemma == "be":  # "I'll be back", "he'll be there": a be_actions word within two steps
        near = [t for t in verb.subtree if t.i != verb.i and verb.i in (t.head.i, t.head.head.i)]
        return any(t.lower_ in words("next_step", "be_actions") for t in near) or _remedy_arrives(verb)
    if _is_causative(verb):
        return True
    if lemma in words("next_step", "causative_verbs") and any(c.dep_ == "dobj" for c in verb.children):
        if any(c.dep_ in {"prt", "advmod"} and c.lower_ in words("next_step", "be_actions") for c in verb.children):
            return True  # 'have an engineer out by Friday', 'get someone round': a visit
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


def _asks(verb: Token) -> bool:
    """'Have I got that right?', 'Shall I call you tomorrow?': a question, not a promise."""
    if not verb.sent.text.rstrip().endswith("?"):
        return False
    subjects = [c.i for c in verb.children if c.dep_ in {"nsubj", "nsubjpass"}]
    return bool(subjects) and any(a.i < subjects[0] for a in _auxiliaries(verb) if a.head == verb)


def _is_commitment(verb: Token) -> bool:
    if verb.pos_ not in {"VERB", "AUX"} or verb.dep_ in {"aux", "auxpass"} or _asks(verb):
        return False
    if _is_going_to(verb):  # the promise is the verb after "going to"
        return False
    if _announces_delivery(verb) and not _is_conditional(verb):
        return True
    subject = _subject(verb)
    hedges = {a.lower_ for a in _auxiliaries(verb)} & words("next_step", "hedging_modals")
    if hedges and not (hedges == {"should"} and _firm_should(verb, subject)):
        return False
    kind = "future" if hedges else _promise_kind(verb)
    receives = kind == "future" and subject is not None and subject.lower_ == "you" and (
        verb.lemma_.lower() in words("next_step", "customer_receives_verbs"))
    if kind is None or is_negated(verb) or not (receives or _is_action(verb)) or _is_conditional(verb):
        return False
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
    if lemma == "be" and kind == "future" and subject.pos_ in {"NOUN", "PROPN"} and _is_action(verb):
        return True  # 'the May refund will be on your card by Friday', 'your account will be back to ...'

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
    if verb.lemma_ == "be":  # 'I'll be there', 'the refund will be on your card'
        objects |= {"advmod", "prep", "acomp"}
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
    if just is None or any(c.lower_ == "only" for c in just.children) or verb.doc[just.i - 1].lower_ == "only":
        return None  # "I've only just picked up your case": recently, not an action just done
    return verb.doc[just.i : just.i + 1]




def _is_past(verb: Token) -> bool:
    auxes = _auxiliaries(verb)
    return verb.tag_ == "VBD" and not auxes or any(a.tag_ == "VBD" or a.lemma_ == "have" for a in auxes)


def _time_belongs(verb: Token, time: Span) -> bool:
    """'I'll stay on the chat, and if we drop off I'll ring you within 5 minutes': the time is
    the conditional ring's, not stay's. A time in another verb's clause belongs to that verb
    when it is a promise of its own or a condition; otherwise the parse is given the benefit."""
    ahead = load_lexicon("next_step")["remedy_clause"]["future_time_words"]
    head = time.root.head
    if not any(t.lower_ in ahead for t in time) and head.dep_ == "prep" and head.head.pos_ in {"NOUN", "PROPN"}:
        return False  # 'feedback about our dinner on Saturday 8 June': the dinner's date
    clause = clause_of(time)
    if clause is None or clause == verb:
        return True
    if _is_past(clause) and not _just_done(clause):
        return False  # 'it should have been at your door on the 18th — that's what I'm fixing'
    if clause.dep_ == "advcl" and any(c.dep_ == "mark" and c.lower_ in words("next_step", "reason_marks") for c in clause.children):
        # "I'm only asking because the system shows the visit on Friday": the reason's time
        return is_commitment(clause)
    return not (is_commitment(clause) or _is_conditional(clause) or in_condition(clause))










def _may_take_a_time(verb: Token) -> bool:
    """'I've booked an engineer for tomorrow' gives the remedy's time; "I've read your message
    from this morning" tells what the agent noticed, which no time makes a next step."""
    return _promise_kind(verb) != "done" or verb.lemma_.lower() not in words("next_step", "noticed_not_done")


def check(doc: Doc, ctx: Context) -> dict:
    lex = load_lexicon("next_step")
    times, firm, vague = _next_step_times.find(doc)
    verbs = commitments(doc)

    pairs: List[Tuple[Span, Span]] = []
    for verb in (v for v in verbs if not is_vague(v)):
        action = action_span(verb, [t.span for t in times])
        for time in firm if _may_take_a_time(verb) else ():
            if time.span.sent == verb.sent and not in_other_question(verb, time.span) and _time_belongs(verb, time.span):
                pairs.append((action, time.span))
            elif time.span.sent.start == verb.sent.end and time_only(time.span.sent, time.span):
                pairs.append((action, time.span))  # 'I'll call you back. Within the hour.'
            elif time.span.end == verb.sent.start and time.span.start > time.span.sent.start and not time.span[-1].is_punct:
                # '... and tomorrow at 10am I'll call you': the parser ended a sentence at the time
                pairs.append((action, time.span))
        just = _just_marker(verb)
        if just is not None and not any(a is action for a, _ in pairs):
            # quote 'just' on its own only when the action's quote does not already hold it
            pairs.append((action, action if action.start <= just.start < action.end else just))
    paired = {time.start for _, time in pairs}
    pairs += remedy_pairs([m.span for m in firm if m.span.start not in paired])
    if pairs:
        evidence = sorted({s for pair in pairs for s in pair}, key=lambda s: (s.start, s.end))
        return result(True, [ctx.quote(s) for s in evidence])

    close = _next_step_tips.partial(ctx, verbs, times, firm, vague)
    if close is None:
        return result(False, [], lex["tips"]["missing"])
    return result(False, [ctx.quote(s) for s in close["evidence"]], close["tip"])
