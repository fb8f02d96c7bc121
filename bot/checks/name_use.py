"""name_use: the customer's first or last name, with or without a title ('Dana', 'Ms Whitfield')."""
from __future__ import annotations

import re
from functools import lru_cache
from typing import List, Match, Optional, Pattern, Tuple

from spacy.lang.en.stop_words import STOP_WORDS
from spacy.tokens import Doc

from bot.checks._context import Context, fill, result
from bot.checks._lexicon import load_lexicon, words

# A name part shorter than this ("J.", "A") is an initial, too easily found by chance.
MIN_NAME_PART_CHARS = 2


@lru_cache(maxsize=256)
def name_patterns(customer_name: str) -> Tuple[Tuple[Pattern, bool], ...]:
    """(regex, word_like) per part of the name; a title before it is part of the match.

    Parts that are also English words ('Will', 'Rose', 'Brown') must be capitalised.
    """
    lex = load_lexicon("names")
    title_words = {t.rstrip(".").lower() for t in lex["titles"]}
    titles = "|".join(re.escape(t.rstrip(".")) for t in lex["titles"])
    word_like = words("names", "word_like_names") | STOP_WORDS
    patterns = []
    for part in re.split(r"\s+", customer_name.strip()):
        bare = part.strip(".,")
        if len(bare) < MIN_NAME_PART_CHARS or bare.lower() in title_words:
            continue
        is_word = bare.lower() in word_like
        if is_word:
            bare = bare[0].upper() + bare[1:]
        regex = rf"(?<!\w)(?P<title>(?:{titles})\.?\s+)?{re.escape(bare)}(?!\w)"
        patterns.append((re.compile(regex, 0 if is_word else re.IGNORECASE), is_word))
    return tuple(patterns)


def _capitalised_by_position(text: str, match: Match) -> bool:
    """'Will you be home?': a word-like name at a sentence start, not followed by a comma."""
    before = text[: match.start()].rstrip()
    at_start = not before or before[-1] in ".!?\n"
    return at_start and not match.group("title") and not text[match.end() :].lstrip().startswith(",")


def find_name(text: str, customer_name: Optional[str]) -> List[Tuple[int, int]]:
    """Character spans in `text` where the customer's name is used."""
    if not customer_name or not customer_name.strip():
        return []
    hits = []
    for pattern, word_like in name_patterns(customer_name):
        for match in pattern.finditer(text):
            if not (word_like and _capitalised_by_position(text, match)):
                hits.append(match.span())
    return sorted(hits)


def check(doc: Doc, ctx: Context) -> dict:
    hits = find_name(ctx.text.text, ctx.customer_name)
    if hits:
        return result(True, [ctx.text.original_slice(start, end) for start, end in hits])
    name = ctx.first_name()
    tip = fill(load_lexicon("names")["tips"]["missing"], name=name) if name else None
    return result(False, [], tip)
