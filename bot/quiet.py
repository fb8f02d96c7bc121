"""Keep known third-party warnings off the console, so progress, results and real errors show.

The filters are data (bot/resources/third_party_warnings.txt); this module turns them into the
environment our commands give their processes, into pytest's filters, and applies them inside a
library's command line:

    python -m bot.quiet rasa train ...      # what `make train` runs
    python -m bot.quiet rasa_sdk --actions actions

Warnings not in the file, ours included, still show.
"""
from __future__ import annotations

import builtins
import os
import re
import runpy
import sys
import warnings
from pathlib import Path
from typing import Dict, List, Optional, Pattern, Tuple

from bot.settings import RESOURCES

FILTERS_FILE = RESOURCES / "third_party_warnings.txt"
# Set to 1 to see the listed warnings again, e.g. when upgrading a library.
SHOW_ALL_ENV = "COACH_SHOW_ALL_WARNINGS"

# Libraries that log rather than warn, told to keep to errors. TensorFlow's C++ side: 2 keeps
# errors; Rasa 3.6 pins SQLAlchemy 1.4, so its notice about 2.0 has nothing for a user to do.
QUIET_VARIABLES = {
    "TF_CPP_MIN_LOG_LEVEL": "2",
    "SQLALCHEMY_SILENCE_UBER_WARNING": "1",
    "RASA_TELEMETRY_ENABLED": "false",
}


def showing_all(env: Optional[Dict[str, str]] = None) -> bool:
    return (os.environ if env is None else env).get(SHOW_ALL_ENV, "").strip() not in ("", "0")


def warning_filters(path: Path = FILTERS_FILE) -> List[str]:
    """The filters as written, in `python -W` form (action:message:category:module); none if COACH_SHOW_ALL_WARNINGS is set."""
    if showing_all() and path == FILTERS_FILE:
        return []
    filters = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        fields = _fields(line)
        category = getattr(builtins, fields[2], None) if len(fields) == 4 else None
        if (
            len(fields) != 4 or fields[0] != "ignore" or "," in line or not (fields[1] or fields[3])
            or not (isinstance(category, type) and issubclass(category, Warning))
        ):
            raise ValueError(
                f"{path}:{number}: expected ignore:message:category:module with a message or a module, "
                f"a built-in warning category and no ',' or ':' inside a field, got {line!r}"
            )
        filters.append(line)
    return filters


def _fields(line: str) -> List[str]:
    """action, message, category, module; as with -W, trailing empty fields may be left out."""
    fields = line.split(":")
    return fields + [""] * (4 - len(fields))


def environment(base: Optional[Dict[str, str]] = None) -> Dict[str, str]:
    """`base` (default os.environ) plus the variables that keep child processes quiet.

    What the user set wins: their TF_CPP_MIN_LOG_LEVEL stays, and their PYTHONWARNINGS comes
    after ours, which gives it precedence where the two disagree.
    """
    env = dict(os.environ if base is None else base)
    for name, value in QUIET_VARIABLES.items():
        env.setdefault(name, value)
    ours = ",".join(warning_filters())
    if not ours or showing_all(env):
        return env
    theirs = env.get("PYTHONWARNINGS", "")
    if not theirs.startswith(ours):  # already there when our Makefile started this process
        env["PYTHONWARNINGS"] = f"{ours},{theirs}" if theirs else ours
    return env


def pytest_filters() -> List[str]:
    """The same filters in pytest's `filterwarnings` form, where message and module are regexes."""
    converted = []
    for line in warning_filters():
        action, message, category, module = _fields(line)
        converted.append(
            ":".join([action, re.escape(message), category, re.escape(module) + r"\Z" if module else ""])
        )
    return converted


def _is_known(known: List[Tuple[Pattern[str], type, str]], message: str, category: type, filename: str) -> bool:
    for text, known_category, module in known:
        if not issubclass(category, known_category) or not text.match(message):
            continue
        if not module:
            return True
        # showwarning is given the file, not the module: compare the module's path instead.
        path = module.replace(".", os.sep)
        if filename.endswith(os.sep + path + ".py") or filename.endswith(os.sep + path + os.sep + "__init__.py"):
            return True
    return False


def hide_known_warnings() -> None:
    """Drop the known warnings on their way to the console, whatever filters libraries add later.

    Filters alone do not hold inside Rasa: the first matching filter wins, and libraries put
    theirs in front after start-up (Sanic 21.12 adds "once" for every DeprecationWarning when
    sanic.app is imported; Rasa's CLI adds "once" for every UserWarning, which pyparsing's
    deprecation warnings also are). So the check is made where a warning is shown.
    """
    known = []
    for line in warning_filters():
        _, message, category, module = _fields(line)
        known.append((re.compile(re.escape(message), re.IGNORECASE), getattr(builtins, category), module))
    show = warnings.showwarning

    def showwarning(message, category, filename, lineno, file=None, line=None):
        if not _is_known(known, str(message), category, filename):
            show(message, category, filename, lineno, file, line)

    warnings.showwarning = showwarning


def run_module(module: str, args: List[str]) -> None:
    """Run `python -m module args...` with the known warnings hidden."""
    hide_known_warnings()
    sys.argv = [module, *args]
    runpy.run_module(module, run_name="__main__", alter_sys=True)


def main(argv: Optional[List[str]] = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if not argv or argv[0].startswith("-"):
        print("usage: python -m bot.quiet MODULE [ARGS...]   e.g. python -m bot.quiet rasa train", file=sys.stderr)
        return 2
    for name, value in QUIET_VARIABLES.items():
        os.environ.setdefault(name, value)
    run_module(argv[0], argv[1:])
    return 0


if __name__ == "__main__":
    sys.exit(main())
