"""Text from outside made safe to store and to send on: no lone surrogates, no control characters.

JSON can carry a lone UTF-16 surrogate ("\\ud800"); Python keeps it in a str, and the first
UTF-8 encode (a database write, the action server's answer) fails. Control characters other
than tab and newlines are invisible in a transcript and break CSV and terminals. Both are
cleaned, not refused: a pasted reply keeps every character a person can see.
"""
from __future__ import annotations

import re

REPLACEMENT = "\ufffd"
_SURROGATE = re.compile("[\ud800-\udfff]")
# C0 controls except tab, line feed and carriage return; DEL; C1 controls.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


def clean_text(text: str) -> str:
    """`text` with lone surrogates replaced by U+FFFD and control characters removed."""
    return _CONTROL.sub("", _SURROGATE.sub(REPLACEMENT, text))
