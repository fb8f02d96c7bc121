"""Reply text as the parser should see it, with a way back to the trainee's exact characters.

HTML tags and markdown marks would split or glue words ('<b>sorry</b>', '**sorry**'), curly
apostrophes stop "I’m" matching "I'm", and runs of spaces make whitespace tokens that break
multi-word patterns. `clean` removes or normalises them and remembers, for every character
it keeps, which characters of the original it stands for, so evidence can quote the reply
exactly as typed.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import List

# One alternation, tried left to right at each position:
#   tag     an HTML tag or comment, up to 300 characters, on one line
#   entity  an HTML character reference (&amp; &#39; &#x2019;)
#   link    the "](url)" half of a markdown link; its "[" is a mark below
#   mark    markdown emphasis, code and heading/quote marks
_MARKUP = re.compile(
    r"(?P<tag><!--.{0,300}?-->|</?[A-Za-z][^<>\n]{0,300}>)"
    r"|(?P<entity>&(?:#\d{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{1,31});)"
    r"|(?P<link>\]\([^()\s]{0,500}\))"
    r"|(?P<mark>\*{1,3}|_{2,3}|~~|`{1,3}|^[ \t]*#{1,6}[ \t]|^[ \t]*>[ \t]?|\[(?=[^\]\n]{0,300}\]\())",
    re.MULTILINE,
)
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u201c": '"', "\u201d": '"', "\u00a0": " "})


@dataclass(frozen=True)
class CleanText:
    original: str
    text: str
    starts: List[int]  # starts[i]: where text[i] begins in original
    ends: List[int]  # ends[i]: where it ends

    def original_slice(self, start: int, end: int) -> str:
        """The original characters behind text[start:end] (end exclusive)."""
        if end <= start:
            return ""
        return self.original[self.starts[start] : self.ends[end - 1]]


_CLOSING = set(".,;:!?)]}'\"")


def _separates(chars: List[str], original: str, end: int) -> bool:
    """Does a removed tag stand between two words (so it must leave a space behind)?"""
    after = original[end] if end < len(original) else " "
    return bool(chars) and not chars[-1].isspace() and after not in _CLOSING


# Characters that send a reply through the slow path below; most chat replies have none.
_NEEDS_WORK = re.compile(r"[<>&*_~`#\[\]\u2018\u2019\u201c\u201d\u00a0]|\s\s|[^\S ]")


def clean(original: str) -> CleanText:
    if not _NEEDS_WORK.search(original):
        n = len(original)
        return CleanText(original=original, text=original, starts=list(range(n)), ends=list(range(1, n + 1)))
    chars: List[str] = []
    starts: List[int] = []
    ends: List[int] = []

    def put(piece: str, start: int, end: int) -> None:
        for ch in piece:
            if ch.isspace():
                # Collapse a whitespace run to one character; a newline anywhere in it wins.
                if chars and chars[-1] in " \n":
                    if ch == "\n":
                        chars[-1] = "\n"
                    ends[-1] = end
                    continue
                ch = "\n" if ch == "\n" else " "
            chars.append(ch)
            starts.append(start)
            ends.append(end)

    pos = 0
    for match in _MARKUP.finditer(original):
        for i in range(pos, match.start()):
            put(original[i].translate(_QUOTES), i, i + 1)
        if match.lastgroup == "entity":
            put(html.unescape(match.group()).translate(_QUOTES), match.start(), match.end())
        elif match.lastgroup in {"tag", "link"} and _separates(chars, original, match.end()):
            # "Hi<br>Dana" must not become "HiDana", nor "<b>Dana</b>," become "Dana ,".
            put(" ", match.start(), match.end())
        pos = match.end()
    for i in range(pos, len(original)):
        put(original[i].translate(_QUOTES), i, i + 1)
    return CleanText(original=original, text="".join(chars), starts=starts, ends=ends)
