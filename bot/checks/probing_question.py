"""probing_question: an open question about the problem ('What happens right before it crashes?',
'Can you tell me more about ...', 'How often ...'). Yes/no questions do not count.

Open prompts, small talk and rhetorical or form-filling questions are patterns in
probing_question.json; whether a question word heads the main clause (so 'When it crashes,
does it show an error?' stays a yes/no question) is `asks_open`.
"""
from __future__ import annotations

from typing import List

from spacy.tokens import Doc, Span

from bot.checks._context import Context, fill, result, sentence_text
from bot.checks._lexicon import load_lexicon, pattern_set, words

# Dependencies that put a question word inside a subordinate clause ('when it crashes, ...',
# 'do you know what it says?', 'what I'll do is ...').
SUBORDINATE_DEPS = frozenset({"advcl", "relcl", "ccomp", "acl", "csubj", "mark", "pcomp"})


def is_question(sent: Span) -> bool:
    last = next((t for t in reversed(sent) if not t.is_space), None)
    return last is not None and last.text.endswith("?")


def asks_open(sent: Span) -> bool:
    """A question word heads the main clause: 'What happens ...?', 'How often does it ...?'."""
    memo = sent.doc.user_data.setdefault("checks_asks_open", {})
    key = (sent.start, sent.end)
    if key not in memo:
        memo[key] = _asks_open(sent)
    return memo[key]


def _asks_open(sent: Span) -> bool:
    qwords = words("probing_question", "question_words")
    first = next((t for t in sent if t.is_alpha), None)
    for token in sent:
        if token.lower_ not in qwords or not token.tag_.startswith("W"):
            continue
        if any(a.dep_ in SUBORDINATE_DEPS for a in [token, *token.ancestors] if a.i != sent.root.i):
            continue
        if is_question(sent):
            return True
        # Chat often drops the "?": accept 'What happens before it crashes' but not 'How awful!'.
        if first is not None and token.i == first.i and not sent.text.rstrip().endswith("!") and token.head.pos_ in {"VERB", "AUX"}:
            return True
    return False


def _checks_understanding(sent: Span) -> bool:
    """'So the technician never came?', '..., have I got that right?': saying the problem back to
    check it, which the restating tip asks for, not a closed question asked instead of an open one."""
    text = " ".join(t.lower_ for t in sent if t.is_alpha or t.lower_ in {"'s", "'ve"})
    fillers = words("probing_question", "checking_fillers")
    tokens = text.split()
    while tokens and tokens[0] in fillers:
        tokens = tokens[1:]
    opening = " ".join(tokens)
    return any(opening == o or opening.startswith(o + " ") for o in words("probing_question", "checking_openers")) or any(
        opening.endswith(" " + e) for e in words("probing_question", "checking_endings")
    )


def check(doc: Doc, ctx: Context) -> dict:
    lex = load_lexicon("probing_question")
    prompts = [m.span for m in pattern_set(doc.vocab, "probing_question", "open_prompts").find(doc)]
    off_topic = [m.span for m in pattern_set(doc.vocab, "probing_question", "not_probing").find(doc)]
    open_q: List[Span] = []
    closed: List[Span] = []
    other: List[Span] = []
    for sent in doc.sents:
        text = sentence_text(sent)
        if len(text) == 0:
            continue
        if any(s.sent == sent for s in off_topic):
            if is_question(sent) or any(s.sent == sent and s.start == text.start for s in off_topic):
                other.append(text)
            continue
        if any(p.sent == sent for p in prompts) or asks_open(sent):
            open_q.append(text)
        elif is_question(sent):
            closed.append(text)
    if open_q:
        return result(True, [ctx.quote(s) for s in open_q])
    if closed:
        checking = [_checks_understanding(s) for s in closed]
        kind = "checking" if all(checking) else "closed"
        shown = next((s for s, c in zip(closed, checking) if not c), closed[0])
        return result(False, [ctx.quote(s) for s in closed], fill(lex["tips"][kind], span=ctx.quote(shown)))
    if other:
        return result(False, [ctx.quote(s) for s in other], fill(lex["tips"]["not_about_problem"], span=ctx.quote(other[0])))
    return result(False, [], lex["tips"]["missing"])
