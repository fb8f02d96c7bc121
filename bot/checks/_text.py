"""Reply text as the parser should see it, with a way back to the trainee's exact characters.

HTML tags and markdown marks would split or glue words ('<b>sorry</b>', '**sorry**'), curly
apostrophes stop "I’m" matching "I'm", runs of spaces make whitespace tokens that break
multi-word patterns, and chat spellings ('sry', 'u', 'tmrw', 'dont') are words no lexicon or
parser knows. `clean` removes or normalises them (the spellings written out are data:
"before_parse" in chat_spellings.json) and remembers, for every character it keeps, which
characters of the original it stands for, so evidence can quote the reply exactly as typed.
"""
from __future__ import annotations

import html
import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, List, Tuple

from bot.checks._lexicon import load_lexicon

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


@lru_cache(maxsize=1)
def _chat() -> Tuple["re.Pattern[str]", Dict[str, str]]:
    data = load_lexicon("chat_spellings")
    spelled = {k: data["words"][k] for k in data["before_parse"]}
    alternatives = "|".join(sorted(map(re.escape, spelled), key=len, reverse=True))
    # 'ill call u' is "I'll call you", 'feel ill' is not: these only before one of the verbs
    before_verb = data["before_verb"]
    verbs = "|".join(sorted(map(re.escape, before_verb["verbs"]), key=len, reverse=True))
    for spelling, word in before_verb["spellings"].items():
        spelled[spelling] = word
        alternatives += rf"|{re.escape(spelling)}(?=\s+(?:{verbs})(?![\w'-]))"
    # a whole word: not inside another ('umbrella', 'U.S.', 'UR-12', "u's")
    return re.compile(rf"(?<![\w'/.-])(?:{alternatives})(?![\w'/-]|\.\w)", re.IGNORECASE), spelled


def _spelled_out(text: CleanText) -> CleanText:
    """`text` with its chat spellings written out, each new character standing for the whole
    spelling it replaces."""
    pattern, spelled = _chat()
    if not pattern.search(text.text):
        return text
    chars: List[str] = []
    starts: List[int] = []
    ends: List[int] = []
    pos = 0
    for match in pattern.finditer(text.text):
        chars += text.text[pos : match.start()]
        starts += text.starts[pos : match.start()]
        ends += text.ends[pos : match.start()]
        word = spelled[match.group().lower()]
        if match.group()[0].isupper():
            word = word[0].upper() + word[1:]
        chars += word
        starts += [text.starts[match.start()]] * len(word)
        ends += [text.ends[match.end() - 1]] * len(word)
        pos = match.end()
    chars += text.text[pos:]
    starts += text.starts[pos:]
    ends += text.ends[pos:]
    return CleanText(original=text.original, text="".join(chars), starts=starts, ends=ends)


def clean(original: str) -> CleanText:
    return _spelled_out(_without_markup(original))


def _without_markup(original: str) -> CleanText:
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
