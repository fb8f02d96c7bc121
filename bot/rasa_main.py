"""`python -m bot.rasa_main <rasa arguments>`: Rasa's own command line, with one fix installed first.

Rasa 3.6 checks every action server response with `jsonschema.validate(result, schema)`, which
also checks Rasa's own, never-changing response schema against the JSON Schema meta-schema on
every call: about 20 ms of a 25-50 ms turn on this machine. Here that check is done once, at
start, and every response is then validated by a validator built from the same schema, so a
malformed response is rejected exactly as before (same error, same message).

Nothing inside site-packages is edited. The fix is installed only on the Rasa versions it was
written for and only when the method it replaces is there; otherwise Rasa runs as it is and a
line in its log says why.
"""
from __future__ import annotations

import logging
import sys
from typing import Any, Callable, Dict, List, Optional

logger = logging.getLogger(__name__)

# The Rasa releases whose RemoteAction._validate_action_result this was checked against
# (rasa/core/actions/action.py): on any other, Rasa keeps its own.
PATCHED_FOR = ("3.6.21",)


def _rasa_validate_suffix() -> str:
    # The text Rasa appends to the validation error, kept identical.
    from rasa.shared.constants import DOCS_BASE_URL

    return (
        ". Failed to validate Action server response from API, "
        "make sure your response from the Action endpoint is valid. "
        f"For more information about the format visit {DOCS_BASE_URL}/custom-actions"
    )


def build_action_result_validator() -> Callable[[Any, Dict[str, Any]], bool]:
    """A replacement for RemoteAction._validate_action_result with the schema checked once."""
    from jsonschema.exceptions import best_match
    from jsonschema.validators import validator_for
    from rasa.core.actions.action import RemoteAction

    schema = RemoteAction.action_response_format_spec()
    cls = validator_for(schema)
    cls.check_schema(schema)  # what jsonschema.validate does on every call, done once here
    validator = cls(schema)
    suffix = _rasa_validate_suffix()

    def _validate_action_result(self: Any, result: Dict[str, Any]) -> bool:
        # As jsonschema.validate: the most relevant of all errors, not the first one found.
        error = best_match(validator.iter_errors(result))
        if error is not None:
            error.message += suffix
            raise error
        return True

    _validate_action_result.built_once = True  # type: ignore[attr-defined]
    return _validate_action_result


def install_action_result_validator() -> Optional[Callable]:
    """Replace Rasa's per-call schema check; return the original method, or None if Rasa's stays.

    The original is returned so a caller (a test) can put it back.
    """
    import rasa
    from rasa.core.actions.action import RemoteAction

    version = getattr(rasa, "__version__", "unknown")
    original = getattr(RemoteAction, "_validate_action_result", None)
    if version not in PATCHED_FOR:
        logger.warning(
            "Rasa %s is not one of %s that bot.rasa_main was written for: action responses are "
            "validated by Rasa's own check (slower, re-checks its schema on every call).",
            version, ", ".join(PATCHED_FOR),
        )
        return None
    if original is None or not callable(getattr(RemoteAction, "action_response_format_spec", None)):
        logger.warning(
            "RemoteAction._validate_action_result or action_response_format_spec is missing in Rasa %s: "
            "action responses are validated by Rasa's own code.", version,
        )
        return None
    if getattr(original, "built_once", False):
        return original  # already installed in this process
    RemoteAction._validate_action_result = build_action_result_validator()
    return original


def _say(message: str) -> None:
    # Before Rasa sets up logging nothing else reaches its log file; one line says which check runs.
    print(f"bot.rasa_main: {message}", file=sys.stderr, flush=True)


def main(argv: Optional[List[str]] = None) -> None:
    args = list(sys.argv[1:] if argv is None else argv)
    if install_action_result_validator() is not None:
        _say("action server responses are validated with a schema validator built once")
    else:
        _say("action server responses are validated by Rasa's own check (see the warning above)")
    from rasa.__main__ import main as rasa_main

    # Rasa reads its arguments from sys.argv, as when started as `rasa ...`.
    sys.argv = ["rasa", *args]
    rasa_main()


if __name__ == "__main__":
    main()
