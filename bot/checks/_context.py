"""What every check gets: the parsed reply, the scenario context, and helpers they share."""
from __future__ import annotations

import re
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Optional, Sequence, Tuple

from spacy.tokens import Span, Token

from bot.checks._lexicon import load_lexicon, words
from bot.checks._text import CleanText, clean

# Parts of speech that can carry a concrete detail ("laptop", "crashed", "Friday", "three").
CONTENT_POS = frozenset({"NOUN", "PROPN", "VERB", "ADJ", "NUM", "ADV"})
# Words allowed between the parts of a multi-word synonym: "called me back", "returned your calls".
MAX_PHRASE_GAP = 2
# Evidence for an apology or thanks runs to the end of its clause, but not past this many
# tokens, so one run-on sentence does not become the whole quote.
MAX_CLAUSE_TOKENS = 14
# Contexts (customer messages, fact sentences) read for their words, kept between calls:
# a practice session repeats the same facts every turn.
CONTEXT_CACHE_SIZE = 2048


@dataclass
class Context:
    nlp: Any
    text: CleanText
    customer_name: Optional[str]
    known: Dict[str, str]  # concept -> the customer's or the scenario's word for it
    mirror: Optional[str]  # the customer's first complaint with pronouns turned round
    jargon_terms: Tuple[str, ...]
    memo: Dict[str, Any] = field(default_factory=dict)

    def quote(self, span: Span) -> str:
        """The reply's own characters for `span`, markup and curly quotes included."""
        return self.text.original_slice(span.start_char, span.end_char)

    def first_name(self) -> Optional[str]:
        parts = [p for p in (self.customer_name or "").split() if p.rstrip(".").lower() not in _titles()]
        return parts[0] if parts else None


def result(found: bool, evidence: Iterable[str] = (), tip: Optional[str] = None) -> Dict[str, Any]:
    seen: List[str] = []
    for item in evidence:
        if item and item not in seen:
            seen.append(item)
    return {"found": bool(found), "evidence": seen, "tip": tip}


@lru_cache(maxsize=1)
def _titles() -> frozenset:
    return frozenset(t.rstrip(".").lower() for t in load_lexicon("names")["titles"])


# --- concepts: lemmas folded through the synonym lexicon -------------------------------------


@dataclass(frozen=True)
class Synonyms:
    single: Dict[str, str]
    phrases: Dict[str, List[Tuple[Tuple[str, ...], str]]]  # first word -> [(words, concept)]


@lru_cache(maxsize=1)
def synonyms() -> Synonyms:
    single: Dict[str, str] = {}
    phrases: Dict[str, List[Tuple[Tuple[str, ...], str]]] = {}
    for group in load_lexicon("synonyms")["groups"]:
        concept = group[0].lower()
        for entry in group:
            parts = tuple(entry.lower().split())
            if len(parts) == 1:
                if single.get(parts[0], concept) != concept:
                    raise ValueError(f"synonyms.json: {entry!r} is in two groups")
                single[parts[0]] = concept
            else:
                phrases.setdefault(parts[0], []).append((parts, concept))
    return Synonyms(single, phrases)


def _has_digit(token: Token) -> bool:
    """'12.99', '7:30', '3pm': a figure the customer gave is a concrete detail."""
    return any(c.isdigit() for c in token.text)


def _is_count(token: Token) -> bool:
    """'three', 'fifty', '12.99': spaCy lists number words as stop words, but a count the
    customer gave ('three times', 'fifty minutes') is a concrete detail. 'one' is too common
    ('the new one', 'one moment') to be one."""
    return (token.like_num or _has_digit(token)) and token.lower_ not in words("active_listening", "not_counts")


def is_content(token: Token) -> bool:
    if _is_count(token):
        return True
    return (
        token.is_alpha
        and (not token.is_stop or token.lower_ in words("active_listening", "content_stop_words"))
        and token.pos_ in CONTENT_POS
        and len(token.text) > 1
        and token.lemma_.lower() not in words("active_listening", "generic_lemmas")
    )


Forms = Callable[[Token], FrozenSet[str]]


def parsed_forms(token: Token) -> FrozenSet[str]:
    """A parsed token's lower-cased text and lemma."""
    return frozenset((token.lower_, token.lemma_.lower()))


def unparsed_forms(lemmatizer) -> Forms:
    """Forms of a token that was only tokenized: its text and its lemma read as a noun, a verb
    and an adjective ('leaves' -> leaves, leaf, leave). Context texts are read this way: no
    tagger or parser runs on them, and a wider set of forms only makes a match easier."""

    def forms(token: Token) -> FrozenSet[str]:
        out = {token.lower_}
        if lemmatizer is not None and token.is_alpha and getattr(lemmatizer, "mode", "") == "rule":
            for pos in ("NOUN", "VERB", "ADJ"):
                token.pos_ = pos
                out.update(lemma.lower() for lemma in lemmatizer.rule_lemmatize(token))
        return frozenset(out)

    return forms


def _unparsed_content(token: Token, forms: FrozenSet[str]) -> bool:
    if _is_count(token):
        return True
    return (
        token.is_alpha
        and (not token.is_stop or token.lower_ in words("active_listening", "content_stop_words"))
        and len(token.text) > 1
        and not forms & words("active_listening", "generic_lemmas")
    )


def concepts(
    tokens: Sequence[Token], *, skip: frozenset = frozenset(), forms: Optional[Forms] = None
) -> List[Tuple[str, int, int]]:
    """(concept, start, end) for content words and multi-word synonyms among `tokens`.

    start/end are token indices in the doc. Words in `skip` (e.g. the customer's name) are no
    detail. Parsed tokens (the reply) give one concept each, from their lemma; with `forms`
    (context texts, only tokenized) every form gives one.
    """
    syn = synonyms()
    parsed = forms is None
    token_forms = [(forms or parsed_forms)(t) for t in tokens]
    found: List[Tuple[str, int, int]] = []
    for pos, token in enumerate(tokens):
        for first in token_forms[pos]:
            for parts, concept in syn.phrases.get(first, ()):
                end = _phrase_end(tokens, token_forms, pos, parts)
                if end is not None:
                    found.append((concept, token.i, tokens[end - 1].i + 1))
        if token.lower_ in skip:
            continue
        if parsed and is_content(token):
            lemma = token.lemma_.lower()
            found.append((syn.single.get(token.lower_) or syn.single.get(lemma) or lemma, token.i, token.i + 1))
        elif not parsed and _unparsed_content(token, token_forms[pos]):
            found.extend((syn.single.get(f, f), token.i, token.i + 1) for f in sorted(token_forms[pos]))
    return found


def _phrase_end(
    tokens: Sequence[Token], token_forms: Sequence[FrozenSet[str]], pos: int, parts: Tuple[str, ...]
) -> Optional[int]:
    """Where the multi-word synonym `parts` starting at tokens[pos] ends, allowing short gaps."""
    k, gap, j = 1, 0, pos + 1
    while k < len(parts) and j < len(tokens):
        if parts[k] in token_forms[j]:
            k, gap = k + 1, 0
        elif tokens[j].text == "-" and not tokens[j - 1].whitespace_:
            pass  # 'blue-screens' is 'blue screen', 'no-show' is 'no show'
        elif gap < MAX_PHRASE_GAP and not tokens[j].is_punct:
            gap += 1
        else:
            return None
        j += 1
    return j if k == len(parts) else None


class _ContextCache:
    """Concepts of context texts, least recently used dropped first; safe across threads
    (the web app may check replies from several request threads)."""

    def __init__(self, size: int):
        self.size = size
        self.items: "OrderedDict[str, Dict[str, str]]" = OrderedDict()
        self.lock = threading.Lock()

    def get(self, text: str) -> Optional[Dict[str, str]]:
        with self.lock:
            value = self.items.get(text)
            if value is not None:
                self.items.move_to_end(text)
            return value

    def put(self, text: str, value: Dict[str, str]) -> None:
        with self.lock:
            self.items[text] = value
            self.items.move_to_end(text)
            while len(self.items) > self.size:
                self.items.popitem(last=False)


_CONTEXT_CACHE = _ContextCache(CONTEXT_CACHE_SIZE)


def warm_contexts(nlp, texts: Iterable[str]) -> None:
    """Read the context texts not yet cached: tokenizer and lemmatizer tables only, no model."""
    todo = list(dict.fromkeys(t for t in texts if t and t.strip() and _CONTEXT_CACHE.get(t) is None))
    if not todo:
        return
    lemmatizer = nlp.get_pipe("lemmatizer") if "lemmatizer" in nlp.pipe_names else None
    forms = unparsed_forms(lemmatizer)
    for text in todo:
        doc = nlp.make_doc(clean(text).text)
        known: Dict[str, str] = {}
        for concept, start, end in concepts(list(doc), forms=forms):
            known.setdefault(concept, doc[start:end].text)
        _CONTEXT_CACHE.put(text, known)


def known_concepts(nlp, texts: Sequence[str], *, skip: frozenset = frozenset()) -> Dict[str, str]:
    return dict(_merged_concepts(nlp, tuple(texts), skip))


# A file or a session scores many replies against the same customer turn and scenario, and
# merging their concepts took about a twentieth of the checks' time; the merge depends on the
# texts and the skipped names alone.
@lru_cache(maxsize=1024)
def _merged_concepts(nlp, texts: Tuple[str, ...], skip: frozenset) -> Dict[str, str]:
    warm_contexts(nlp, texts)
    known: Dict[str, str] = {}
    for text in texts:
        for concept, surface in (_CONTEXT_CACHE.get(text) or {}).items():
            if surface.lower() not in skip:
                known.setdefault(concept, surface)
    return known


@lru_cache(maxsize=1024)  # asked for by several checks on every reply
def name_parts(customer_name: Optional[str]) -> frozenset:
    return frozenset(
        p.lower() for p in re.split(r"[\s\-]+", customer_name or "") if p and p.rstrip(".").lower() not in _titles()
    )


# --- helpers on the parse --------------------------------------------------------------------


def extend_to_clause_end(span: Span, stop_words: frozenset = frozenset()) -> Span:
    """`span` plus what follows it up to punctuation, a word in `stop_words` or the sentence end."""
    doc = span.doc
    limit = min(span.sent.end, span.end + MAX_CLAUSE_TOKENS)
    end = span.end
    while end < limit and not (doc[end].is_punct and doc[end].text not in "'-") and doc[end].lower_ not in stop_words:
        if doc[end].is_space or (doc[end].text == "-" and doc[end - 1].whitespace_):
            break  # a line break, or a dash between clauses ('I apologise - I'll remove it'), not 'mix-up'
        end += 1
    return doc[span.start : end]


def is_negated(token: Token) -> bool:
    """'I'm not sorry', 'I don't appreciate', 'no need to apologize'."""
    chain = [token]
    if token.dep_ in {"acomp", "xcomp", "acl", "attr", "oprd", "dobj"} and token.head.i != token.i:
        chain.append(token.head)
    for t in chain:
        for child in t.children:
            if child.dep_ == "neg" or (child.dep_ == "det" and child.lower_ == "no"):
                return True
    return False


def in_quotes(span: Span) -> bool:
    """Inside quotation marks in its sentence: reported words, not the trainee's own."""
    before = span.doc[span.sent.start : span.start].text
    return before.count('"') % 2 == 1


def sentence_text(span: Span) -> Span:
    """The sentence of `span` without leading or trailing spaces."""
    sent = span.sent
    start, end = sent.start, sent.end
    while start < end and sent.doc[start].is_space:
        start += 1
    while end > start and sent.doc[end - 1].is_space:
        end -= 1
    return sent.doc[start:end]


def overlaps(a: Span, b: Span) -> bool:
    return a.start < b.end and b.start < a.end


def fill(template: str, **values: Any) -> str:
    return template.format(**values)
