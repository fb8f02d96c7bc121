"""Is an example a whole, well-made sentence a trainee can copy? Rules that need only the parse.

Broken examples this rejects (issue 11): "So your Yes has been a problem since ... — have I got
that right?" (a placeholder, a possessive before an interjection), "I'm sorry fourth time you're
calling about the same thing." (a bare noun phrase after "sorry"), "I'm sorry you're done being
patient." (an apology for the customer's state of mind, not for what happened).
"""
from __future__ import annotations

import re
from typing import Optional

from bot.coaching.rules import rules
from bot.nlp import get_nlp

PLACEHOLDER = re.compile(r"\.\.\.|…|[{}<>\[\]]|\be\.g\.|\bTODO\b")
# What may follow "sorry": "about", "for", "that", "to", a pronoun or determiner, a comma.
AFTER_SORRY_POS = frozenset({"ADP", "SCONJ", "PRON", "DET", "PUNCT", "PART", "CCONJ", "AUX", "ADV"})
# What may follow a possessive "your": the thing owned, or a word describing it.
AFTER_YOUR_POS = frozenset({"NOUN", "PROPN", "ADJ", "NUM"})


def problem(text: str) -> Optional[str]:
    """Why `text` is not a well-made example, or None when it is."""
    text = text.strip()
    if not text:
        return "empty"
    if PLACEHOLDER.search(text):
        return "holds a placeholder or an ellipsis"
    if not (text[0].isupper() or text[0].isdigit()):
        return "does not start with a capital letter"
    if text[-1] not in ".!?":
        return "does not end with a full stop, question mark or exclamation mark"
    doc = get_nlp()(text)
    for sent in doc.sents:
        words = [t for t in sent if not t.is_punct]
        if words and not any(t.pos_ in ("VERB", "AUX") or t.lower_ in ("thanks", "thank") for t in words):
            return f"'{sent.text.strip()}' has no verb"
    tokens = list(doc)
    for i, token in enumerate(tokens[:-1]):
        nxt = tokens[i + 1]
        if token.lower_ == "your" and nxt.pos_ not in AFTER_YOUR_POS:
            return f"'your {nxt.text}' is not a thing the customer owns"
        if token.lower_ == "sorry" and nxt.pos_ not in AFTER_SORRY_POS:
            return f"'sorry {nxt.text}' is not a sentence"
        if token.lower_ == "sorry":
            rest = [t.lower_ for t in tokens[i + 1:i + 6]]
            if rest and rest[0] == "that":
                rest = rest[1:]
            if rest[:1] == ["you"] and set(rest[1:]) & rules().feeling_words:
                return "apologises for how the customer feels, not for what happened"
    return None


def well_formed(text: str) -> bool:
    return problem(text) is None
