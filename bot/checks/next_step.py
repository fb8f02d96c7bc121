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
from bot.checks._lexicon import Match, load_lexicon, pattern_set, words
from bot.checks._remedy_clauses import remedy_pairs

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
    return any(c.dep_ == "prt" and c.lower_ in {"out", "back", "over"} for c in verb.children)


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
    if _telegraphic(verb):
        return "now" if verb.tag_ == "VBG" else "scheduled"
    return None


def _wished(verb: Token) -> bool:
    """'I'd like to', 'we want to': the agent's own wish to act is a commitment to do it."""
    if verb.lemma_.lower() not in words("next_step", "wish_verbs") or is_negated(verb) or verb.sent.text.rstrip().endswith("?"):
        return False
    subject = next((c for c in verb.children if c.dep_ == "nsubj"), None)
    return subject is not None and subject.lower_ in {"i", "we"} and not any(
        a.lower_ in {"might", "may", "could"} for a in _auxiliaries(verb))


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


def in_condition(token: Token) -> bool:
    """Is `token` inside an 'if'/'unless'/'once' clause ('if it isn't with you by the 21st')?"""
    marks = words("next_step", "condition_marks")
    for above in (token, *token.ancestors):
        if above.dep_ == "advcl" and any(m.dep_ == "mark" and m.lower_ in marks for m in above.children):
            return True
    return False


def _firm_should(verb: Token, subject: Optional[Token]) -> bool:
    """'your credit should show within one billing cycle', 'you should see it in 3 to 5 days':
    a delivery told with 'should' is still promised; 'you should have ordered sooner' is not."""
    if any(a.lemma_ == "have" for a in _auxiliaries(verb)) or verb.lemma_.lower() not in words("next_step", "firm_should_verbs"):
        return False
    return subject is not None and (subject.lower_ == "you" or subject.pos_ in {"NOUN", "PROPN"} or subject.lower_ == "it")


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
    particles = vague["with_particle"].get(lemma)
    if particles and any(c.dep_ in {"prt", "advmod", "prep"} and c.lower_ in particles for c in verb.children):
        return True
    if _is_causative(verb) or lemma in words("next_step", "causative_verbs"):
        # the thing to be done hangs on 'have'/'get' or, as the parser often has it, on its object
        objects = [c for c in verb.children if c.dep_ == "dobj"]
        done = [c for c in verb.children if c.dep_ in {"ccomp", "xcomp", "oprd", "acomp"}]
        done += [c for o in objects for c in o.children if c.dep_ in {"relcl", "acl"}]
        return any(c.lower_ in vague["done_to_it"] or (c.pos_ == "VERB" and is_vague(c)) for c in done)
    return False


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
    if lemma == "be" and kind == "future" and _remedy_arrives(verb):
        return True  # 'the May refund will be on your card by Friday'

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


def _clause_of(time: Span) -> Optional[Token]:
    """The verb whose clause holds `time`, if the parse gives one."""
    for above in time.root.ancestors:
        if above.pos_ in {"VERB", "AUX"} and above.dep_ not in {"aux", "auxpass"}:
            return above
    return None


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
    clause = _clause_of(time)
    if clause is None or clause == verb:
        return True
    if _is_past(clause) and not _just_done(clause):
        return False  # 'it should have been at your door on the 18th — that's what I'm fixing'
    return not (is_commitment(clause) or _is_conditional(clause) or in_condition(clause))


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


def _kept(match: Match) -> Match:
    """'Wednesday by courier' is matched as 'Wednesday by' so that 'the Friday model' is not; the
    time is its first "keep_tokens" tokens."""
    keep = match.entry.get("keep_tokens")
    return match if keep is None else Match(match.span[:keep], match.entry)


def _not_a_when(time: Span) -> bool:
    """'Tuesday's no-show' names a day's event; 'bye for now', 'by now' are no time to act."""
    doc = time.doc
    if time.end < len(doc) and doc[time.end].lower_ in {"'s", "'"}:
        return True
    if len(time) == 1 and time.root.dep_ in {"compound", "amod"} and time.root.head.i > time.root.i:
        return True  # 'how Saturday mains are timed'

    return time.text.lower() == "now" and time.start > 0 and doc[time.start - 1].lower_ in {"for", "by", "until", "till"}


def check(doc: Doc, ctx: Context) -> dict:
    lex = load_lexicon("next_step")
    times = [_kept(m) for m in pattern_set(doc.vocab, "time_expressions").find(doc)]
    # a time inside a condition ('if it isn't with you by the 21st') is not when anything is done
    firm = [m for m in times if m.label == "TIME" and not in_condition(m.span.root) and not _not_a_when(m.span)]
    vague = [m for m in times if m.label == "VAGUE_TIME"]
    verbs = commitments(doc)

    pairs: List[Tuple[Span, Span]] = []
    for verb in (v for v in verbs if not is_vague(v)):
        action = action_span(verb, [t.span for t in times])
        for time in firm:
            if time.span.sent == verb.sent and not _in_other_question(verb, time.span) and _time_belongs(verb, time.span):
                pairs.append((action, time.span))
            elif time.span.sent.start == verb.sent.end and _time_only(time.span.sent, time.span):
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

    if verbs:
        actions = [action_span(v, [t.span for t in times]) for v in verbs]
        vague_here = [m.span for m in vague if any(m.span.sent == v.sent for v in verbs)]
        vague_actions = [a for v, a in zip(verbs, actions) if is_vague(v)]
        if vague_here:
            tip = fill(lex["tips"]["vague_time"], span=ctx.quote(vague_here[0]))
        elif vague_actions and any(m.span.sent == v.sent for m in firm for v in verbs):
            tip = fill(lex["tips"]["vague_action"], span=ctx.quote(vague_actions[0]))
        else:
            tip = fill(lex["tips"]["missing_time"], span=ctx.quote(actions[0]))
        return result(False, [ctx.quote(s) for s in actions + vague_here], tip)
    # A time in a question ('anything else I can help with today?') promises nothing either way.
    stated = [m.span for m in firm if not m.span.sent.text.rstrip().endswith("?")]
    if stated:
        tip = fill(lex["tips"]["missing_action"], span=ctx.quote(stated[0]))
        return result(False, [ctx.quote(s) for s in stated], tip)
    return result(False, [], lex["tips"]["missing"])
