"""Configuration read from the environment, with the defaults a first run on one machine needs.

Every server binds to loopback unless told otherwise; Rasa's webhook and the action server
also require the shared service secret (bot.service_secret), and only the web app may be exposed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESOURCES = Path(__file__).resolve().parent / "resources"

# Longest trainee reply we accept. A support chat message is rarely over a few hundred
# characters; 2,000 leaves room for a long explanation while keeping a pasted document out.
DEFAULT_MAX_MESSAGE_CHARS = 2000
# A conversation with no message for this long ends as abandoned (bot/db/idle_sessions.py):
# longer than any pause to think or look something up, short enough that the trainer's list
# does not fill with sessions "running" for days.
DEFAULT_IDLE_MINUTES = 30


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


@dataclass(frozen=True)
class Settings:
    host: str
    rasa_port: int
    actions_port: int
    web_port: int
    max_message_chars: int
    var_dir: Path
    idle_minutes: int = DEFAULT_IDLE_MINUTES

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def actions_url(self) -> str:
        return f"http://{self.host}:{self.actions_port}"

    @property
    def web_url(self) -> str:
        return f"http://{self.host}:{self.web_port}"


def load_settings() -> Settings:
    """Read the settings documented in the README's configuration table."""
    var_dir = Path(os.environ.get("COACH_VAR_DIR", PROJECT_ROOT / "var"))
    return Settings(
        host=os.environ.get("COACH_HOST", "127.0.0.1"),
        rasa_port=_int_env("COACH_RASA_PORT", 5005),
        actions_port=_int_env("COACH_ACTIONS_PORT", 5055),
        web_port=_int_env("COACH_WEB_PORT", 8000),
        max_message_chars=_int_env("COACH_MAX_MESSAGE_CHARS", DEFAULT_MAX_MESSAGE_CHARS),
        var_dir=var_dir,
        idle_minutes=_positive("COACH_IDLE_MINUTES", DEFAULT_IDLE_MINUTES),
    )


def _positive(name: str, default: int) -> int:
    value = _int_env(name, default)
    if value < 1:
        raise SystemExit(f"{name} must be at least 1 (minutes), got {value}")
    return value
