"""Configuration read from the environment, with the defaults a first run on one machine needs.

Every server binds to loopback unless told otherwise; Rasa's webhook and the action server
also require the shared service secret (bot.service_secret), and only the web app may be exposed.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Tuple

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RESOURCES = Path(__file__).resolve().parent / "resources"

# Longest trainee reply we accept. A support chat message is rarely over a few hundred
# characters; 2,000 leaves room for a long explanation while keeping a pasted document out.
DEFAULT_MAX_MESSAGE_CHARS = 2000
# A conversation with no message for this long ends as abandoned (bot/db/idle_sessions.py):
# longer than any pause to think or look something up, short enough that the trainer's list
# does not fill with sessions "running" for days.
DEFAULT_IDLE_MINUTES = 30


# Every environment variable the project reads, with where it matters; the README's table and
# the deployment files (deploy/) name only these (tests/test_deploy_files.py checks).
ENVIRONMENT = {
    "COACH_HOST": "interface every server binds to",
    "COACH_RASA_PORT": "Rasa server port (the first, with several instances)",
    "COACH_ACTIONS_PORT": "action server port (the first, with several instances)",
    "COACH_WEB_PORT": "web app port",
    "COACH_MAX_MESSAGE_CHARS": "longest trainee message accepted",
    "COACH_VAR_DIR": "logs, generated endpoints, SQLite files, the secret key",
    "COACH_RASA_INSTANCES": "Rasa + action server pairs the launcher starts",
    "COACH_RASA_URLS": "every Rasa server the web app spreads conversations over",
    "COACH_ACTIONS_URLS": "every action server a Rasa server may call when its own is down (bot/action_failover.py)",
    "COACH_REDIS_URL": "Redis the web app processes share (default: the lock store's)",
    "COACH_DATABASE_URL": "our database (bot/db/engine.py)",
    "COACH_TRACKER_DB_URL": "Rasa's tracker store in PostgreSQL (bot/launcher.py)",
    "COACH_LOCK_STORE_URL": "Rasa's lock store in Redis (bot/launcher.py)",
    "COACH_SECRET_KEY": "signs the web app's session cookie (bot/web/__init__.py)",
    "COACH_SHOW_ALL_WARNINGS": "shows the hidden library warnings again (bot/quiet.py)",
    "COACH_SERVICE_SECRET": "the secret the web app sends to Rasa and Rasa to the action server (bot/service_secret.py)",
    "COACH_IDLE_TIMEOUT_MINUTES": "a signed-in web session with no request for this long ends (bot/web/auth.py)",
    "COACH_IDLE_MINUTES": "a conversation with no message for this long ends as abandoned (bot/db/idle_sessions.py)",
    "COACH_TRUSTED_PROXIES": "how many proxies in front of the web app set X-Forwarded-For/-Proto (bot/web/__init__.py)",
}


def _int_env(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from None


def _instances_env(name: str) -> int:
    count = _int_env(name, 1)
    if count < 1:
        raise SystemExit(f"{name} must be 1 or more, got {count}")
    return count


def _url_list_env(name: str) -> Tuple[str, ...]:
    urls = tuple(part.strip().rstrip("/") for part in os.environ.get(name, "").split(",") if part.strip())
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise SystemExit(f"{name} must list http:// URLs separated by commas, got {url!r}")
    return urls


@dataclass(frozen=True)
class Settings:
    host: str
    rasa_port: int
    actions_port: int
    web_port: int
    max_message_chars: int
    var_dir: Path
    idle_minutes: int = DEFAULT_IDLE_MINUTES
    # How many Rasa servers (each with its action server) the launcher starts, on consecutive
    # ports from COACH_RASA_PORT and COACH_ACTIONS_PORT; more than one needs the shared stores.
    rasa_instances: int = 1
    # Where the web app finds Rasa (COACH_RASA_URLS, comma separated); empty means rasa_url.
    rasa_urls: Tuple[str, ...] = ()
    # Redis for what several web app processes share (the answer cache); empty means in memory.
    redis_url: str = ""
    # Proxies (nginx, a load balancer) in front of the web app whose X-Forwarded-For and
    # X-Forwarded-Proto it believes; 0 believes none, since any client can send those headers.
    trusted_proxies: int = 0

    @property
    def rasa_url(self) -> str:
        return f"http://{self.host}:{self.rasa_port}"

    @property
    def rasa_servers(self) -> Tuple[str, ...]:
        """Every Rasa server the web app may talk to, in order."""
        return self.rasa_urls or (self.rasa_url,)

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
        rasa_instances=_instances_env("COACH_RASA_INSTANCES"),
        rasa_urls=_url_list_env("COACH_RASA_URLS"),
        # The lock store's Redis serves the web app too unless it has one of its own.
        redis_url=(os.environ.get("COACH_REDIS_URL") or os.environ.get("COACH_LOCK_STORE_URL") or "").strip(),
        trusted_proxies=_not_negative("COACH_TRUSTED_PROXIES", 0),
    )


def _not_negative(name: str, default: int) -> int:
    value = _int_env(name, default)
    if value < 0:
        raise SystemExit(f"{name} must be 0 or more, got {value}")
    return value


def _positive(name: str, default: int) -> int:
    value = _int_env(name, default)
    if value < 1:
        raise SystemExit(f"{name} must be at least 1 (minutes), got {value}")
    return value
