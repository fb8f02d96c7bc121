"""Passwords as NIST SP 800-63B asks: long enough, not a known-common one, no composition rules.

SP 800-63B 5.1.1.2: at least 8 characters (we ask 12: these accounts reach transcripts and HR
records), allow at least 64, no rules for upper case, digits or symbols, and refuse passwords
that are commonly used or derived from the account's own name. The common list is
`bot/resources/common_passwords.txt`, which says where it comes from.
"""
from __future__ import annotations

import secrets
from functools import lru_cache
from typing import FrozenSet, Optional

from bot.settings import RESOURCES

MIN_LENGTH = 12
# Long passphrases are welcome; the bound keeps one sign-in from hashing a megabyte.
MAX_LENGTH = 256
COMMON_PASSWORDS_FILE = RESOURCES / "common_passwords.txt"
# No 0/O or 1/l/I (people copy these from a screen or a printout), and no = + - @: a first
# character among those turns the password into a formula in a spreadsheet (issue 16, finding 7).
GENERATED_ALPHABET = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
GENERATED_LENGTH = 16
FORMULA_STARTS = "=+-@"


def _key(password: str) -> str:
    return "".join(password.lower().split())


@lru_cache(maxsize=1)
def common_passwords() -> FrozenSet[str]:
    lines = COMMON_PASSWORDS_FILE.read_text(encoding="utf-8").splitlines()
    return frozenset(_key(line) for line in lines if line.strip() and not line.startswith("#"))


def password_problem(password: str, *, email: Optional[str] = None, name: Optional[str] = None) -> Optional[str]:
    """Why `password` may not be used, in words for the person choosing it; None when it is fine."""
    if not isinstance(password, str) or len(password) < MIN_LENGTH:
        return f"Choose a password of at least {MIN_LENGTH} characters; a few words make a good one."
    if len(password) > MAX_LENGTH:
        return f"Choose a password of at most {MAX_LENGTH} characters."
    key = _key(password)
    if len(set(key)) <= 2:
        return "That password repeats one or two characters: choose something less predictable."
    if key in common_passwords():
        return "That password is one of the most commonly used ones: choose another."
    own = {_key(part) for part in ((email or "").split("@")[0], email or "", name or "") if part}
    if key in own:
        return "The password must not be your e-mail address or your name."
    return None


def generate_password() -> str:
    """A random password to hand out once: 16 letters and digits (about 93 bits)."""
    while True:
        password = "".join(secrets.choice(GENERATED_ALPHABET) for _ in range(GENERATED_LENGTH))
        if password_problem(password) is None and password[0] not in FORMULA_STARTS:
            return password
