"""defensive: blame, denial, dismissal or stonewalling. found=True is bad; the tip offers the
ownership wording stored with the pattern that fired."""
from __future__ import annotations

from typing import List

from spacy.tokens import Doc

from bot.checks._context import Context, fill, in_quotes, result
from bot.checks._lexicon import Match, load_lexicon, pattern_set


def flagged(doc: Doc, ctx: Context) -> List[Match]:
    """Defensive phrases the trainee said (quoted words, e.g. what a colleague said, are left out)."""
    if "defensive" not in ctx.memo:
        ctx.memo["defensive"] = [m for m in pattern_set(doc.vocab, "defensive").find(doc) if not in_quotes(m.span)]
    return ctx.memo["defensive"]


def check(doc: Doc, ctx: Context) -> dict:
    matches = flagged(doc, ctx)
    if not matches:
        return result(False)
    first = matches[0]
    tip = fill(load_lexicon("defensive")["tips"]["found"], span=ctx.quote(first.span), rewrite=first.entry["rewrite"])
    return result(True, [ctx.quote(m.span) for m in matches], tip)
