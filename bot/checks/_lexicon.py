"""Lexicons: JSON files under bot/resources/lexicons/, each saying where its words came from.

Word lists are read as plain data. Lists of spaCy Matcher patterns ({"label", "id",
"pattern", ...any extra fields}) become a `PatternSet`, built once per vocabulary with
`validate=True`, so a mistyped pattern fails when first used instead of never matching.
"""
from __future__ import annotations

import json
import re
import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Dict, Iterable, List, Pattern, Tuple

from spacy.matcher import Matcher, PhraseMatcher
from spacy.tokens import Doc, Span
from spacy.util import filter_spans

from bot.settings import RESOURCES

LEXICON_DIR = RESOURCES / "lexicons"
# Distinct combinations of required words remembered per pattern set (see PatternSet).
WORD_CANDIDATES_CACHE_SIZE = 20_000


class LexiconError(ValueError):
    """A lexicon file is missing, malformed or does not say where it came from."""


@lru_cache(maxsize=None)
def load_lexicon(name: str) -> Dict[str, Any]:
    """The parsed `<name>.json`; callers must treat it as read-only."""
    path = LEXICON_DIR / f"{name}.json"
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise LexiconError(f"{path}: cannot read lexicon: {exc}") from exc
    source = data.get("_source") if isinstance(data, dict) else None
    if not isinstance(source, str) or not source.strip():
        raise LexiconError(f"{path}: needs a top-level \"_source\" saying where the list came from")
    return data


@lru_cache(maxsize=None)
def words(name: str, key: str) -> frozenset:
    """A word list from a lexicon, lower-cased, as a set."""
    return frozenset(str(w).lower() for w in load_lexicon(name)[key])


@dataclass(frozen=True)
class Match:
    span: Span
    entry: Dict[str, Any]

    @property
    def label(self) -> str:
        return self.entry["label"]


def _required_words(pattern: List[Dict[str, Any]]) -> List[frozenset]:
    """For each token a match cannot skip and that names its words (LOWER, ORTH, TEXT, LEMMA
    equal to or IN a list), those words lower-cased. A doc lacking any of them cannot match."""
    required = []
    for token in _unskippable(pattern):
        for attr in ("LOWER", "ORTH", "TEXT", "LEMMA"):
            value = token.get(attr)
            if isinstance(value, str):
                required.append(frozenset({value.lower()}))
            elif isinstance(value, dict) and set(value) == {"IN"}:
                required.append(frozenset(str(v).lower() for v in value["IN"]))
    return required


def _required_regexes(pattern: List[Dict[str, Any]]) -> List[Tuple[str, "_RegexWords"]]:
    """("lower" or "text", regex) for each token a match cannot skip that is a REGEX on LOWER,
    or on TEXT/ORTH: some token's lower-cased text (or text) must match it. Without this,
    a pattern that names no word ('^apologi[sz]e[sd]?$', a clock time) runs on every reply."""
    required = []
    for token in _unskippable(pattern):
        for attr, form in (("LOWER", "lower"), ("TEXT", "text"), ("ORTH", "text")):
            value = token.get(attr)
            if isinstance(value, dict) and set(value) == {"REGEX"} and isinstance(value["REGEX"], str):
                required.append((form, _RegexWords(re.compile(value["REGEX"]))))  # spaCy's REGEX is re.search too
    return required


def _unskippable(pattern: List[Dict[str, Any]]) -> List[Dict[str, Any]]:
    return [token for token in pattern if token.get("OP", "1") in {"1", "+"}]


def doc_words(doc: Doc) -> frozenset:
    """Every token's lower-cased text and lemma, computed once per doc."""
    cached = doc.user_data.get("checks_words")
    if cached is None:
        found = set()
        for t in doc:  # one pass: every token read from a doc is a new object
            found.add(t.lower_)
            found.add(t.lemma_.lower())
        cached = frozenset(found)
        doc.user_data["checks_words"] = cached
    return cached


def doc_texts(doc: Doc) -> frozenset:
    """Every token's text, computed once per doc."""
    cached = doc.user_data.get("checks_texts")
    if cached is None:
        cached = doc.user_data["checks_texts"] = frozenset(t.text for t in doc)
    return cached


class _RegexWords:
    """Which words one regex matches, remembered: replies share most of their words, so a
    reply's check is mostly set arithmetic instead of a search per word."""

    MAX_WORDS = 50_000  # forgotten when more, so a long-running app does not grow it without bound

    def __init__(self, regex: Pattern):
        self.regex = regex
        self.seen: set = set()
        self.hits: set = set()
        self.lock = threading.Lock()  # the web app checks replies from several threads

    def any_in(self, forms: frozenset) -> bool:
        with self.lock:
            new = forms - self.seen
            if new:
                if len(self.seen) > self.MAX_WORDS:
                    self.seen, self.hits = set(), set()
                self.hits.update(f for f in new if self.regex.search(f))
                self.seen.update(new)
            return not self.hits.isdisjoint(forms)


def _regex_met(doc: Doc, form: str, regex: _RegexWords) -> bool:
    # doc_words holds every lower-cased text (and the lemmas besides): more than enough here.
    return regex.any_in(doc_words(doc) if form == "lower" else doc_texts(doc))


class PatternSet:
    """Matchers for one list of pattern entries; `find` returns non-overlapping matches.

    A Matcher's cost grows with its number of patterns whether or not anything matches,
    and most replies hold none of the words a pattern needs ('sorry', 'policy', 'tomorrow').
    So each pattern gets its own Matcher, indexed under the words of its most selective
    required token (see `_required_words`); `find` looks up the doc's words in that index and
    runs only the patterns whose required words are all in the doc, and whose required
    regexes each match one of its words (`_required_regexes`). Results are kept on the
    doc, since several checks ask for the same set ('apology' is read by three).
    """

    def __init__(self, vocab, entries: Iterable[Dict[str, Any]], where: str):
        self.entries: Dict[str, Dict[str, Any]] = {}
        self.matchers: List[Tuple[List[frozenset], Matcher]] = []
        self.regexes: Dict[int, List[Tuple[str, _RegexWords]]] = {}  # pattern number -> required regexes
        self.index: Dict[str, List[int]] = {}
        self.always: List[int] = []  # patterns that name no required word
        for entry in entries:
            try:
                key, pattern = entry["id"], entry["pattern"]
                entry["label"]
            except (KeyError, TypeError):
                raise LexiconError(f"{where}: every pattern needs \"label\", \"id\" and \"pattern\": {entry!r}") from None
            if key in self.entries:
                raise LexiconError(f"{where}: pattern id {key!r} is used twice")
            self.entries[key] = entry
            matcher = Matcher(vocab, validate=True)
            try:
                matcher.add(key, [pattern])
            except ValueError as exc:  # spaCy's validation error names the bad attribute
                raise LexiconError(f"{where}: pattern {key!r} is invalid: {exc}") from exc
            required = _required_words(pattern)
            number = len(self.matchers)
            self.matchers.append((required, matcher))
            regexes = _required_regexes(pattern)
            if regexes:
                self.regexes[number] = regexes
            if required:
                for word in min(required, key=len):
                    self.index.setdefault(word, []).append(number)
            else:
                self.always.append(number)
        self.index_words = frozenset(self.index)
        # Every word any pattern requires: which patterns can match depends only on which of
        # these a doc holds, and replies share most of them ('you', 'we', 'the', 'sorry').
        self.required_words = frozenset(w for required, _ in self.matchers for options in required for w in options)
        self.by_words: Dict[frozenset, List[int]] = {}
        self.cache_key = f"checks_found:{where}:{id(self)}"

    def _word_candidates(self, present: frozenset) -> List[int]:
        """The patterns whose required words are all among `present`, in pattern order."""
        key = present & self.required_words
        found = self.by_words.get(key)
        if found is None:
            numbers = set(self.always)
            for word in self.index_words & key:
                numbers.update(self.index[word])
            found = []
            for n in sorted(numbers):  # a plain loop: this runs for most replies, once per set
                for options in self.matchers[n][0]:
                    if options.isdisjoint(key):
                        break
                else:
                    found.append(n)
            if len(self.by_words) >= WORD_CANDIDATES_CACHE_SIZE:
                self.by_words.clear()
            self.by_words[key] = found
        return found

    def _candidates(self, doc: Doc) -> List[int]:
        """The patterns whose required words and regexes are all in `doc`, kept on the doc
        (sentence by sentence look-ups ask again)."""
        key = (self.cache_key, "candidates")
        cached = doc.user_data.get(key)
        if cached is None:
            cached = doc.user_data[key] = [
                n
                for n in self._word_candidates(doc_words(doc))
                if all(_regex_met(doc, form, regex) for form, regex in self.regexes.get(n, ()))
            ]
        return cached

    def find(self, doclike) -> List[Match]:
        """Longest matches first among overlaps, returned in text order."""
        doc = doclike.doc if isinstance(doclike, Span) else doclike
        offset = doclike.start if isinstance(doclike, Span) else 0
        key = (self.cache_key, offset, doclike.end if isinstance(doclike, Span) else len(doc))
        cached = doc.user_data.get(key)
        if cached is None:
            spans = [
                Span(doc, start + offset, end + offset, label=match_id)
                for n in self._candidates(doc)
                for match_id, start, end in self.matchers[n][1](doclike)
            ]
            cached = [Match(span, self.entries[span.label_]) for span in filter_spans(spans)]
            doc.user_data[key] = cached
        return list(cached)


@lru_cache(maxsize=64)
def pattern_set(vocab, name: str, key: str = "patterns") -> PatternSet:
    return PatternSet(vocab, load_lexicon(name)[key], where=f"{name}.json:{key}")


@lru_cache(maxsize=256)
def phrase_matcher(nlp, terms: Tuple[str, ...]) -> PhraseMatcher:
    """Case-insensitive whole-token matcher for `terms`; the match key is the term itself."""
    matcher = PhraseMatcher(nlp.vocab, attr="LOWER")
    for term in terms:
        if term.strip():
            matcher.add(term, [nlp.make_doc(term)])
    return matcher


def find_phrases(matcher: PhraseMatcher, doc: Doc) -> List[Tuple[Span, str]]:
    spans = [Span(doc, start, end, label=match_id) for match_id, start, end in matcher(doc)]
    return [(span, span.label_) for span in filter_spans(spans)]
