"""The shared secret that lets only our web app talk to Rasa, and only Rasa to the action server.

Rasa's REST channel and rasa_sdk's action server trust whoever reaches their port; on a machine
shared with other people that is anyone who learns a conversation id. The secret lives in
`<var>/service_secret` (0600, made on first use) or in COACH_SERVICE_SECRET, and travels in the
`X-Coach-Secret` header: web app -> Rasa (bot.rasa_channel), Rasa -> action server
(bot.action_server, through the header the launcher writes into the run's endpoints file).
"""
from __future__ import annotations

import hmac
import os
import secrets
from pathlib import Path
from typing import Optional

from bot.private_files import kept_secret

HEADER = "X-Coach-Secret"
ENV = "COACH_SERVICE_SECRET"
FILE_NAME = "service_secret"


def secret_path(var_dir: Path) -> Path:
    return Path(var_dir) / FILE_NAME


def load_service_secret(var_dir: Optional[Path] = None) -> str:
    """COACH_SERVICE_SECRET, or the secret kept in `<var_dir>/service_secret`, made (0600) if missing."""
    from_env = os.environ.get(ENV, "").strip()
    if from_env:
        return from_env
    if var_dir is None:
        from bot.settings import load_settings

        var_dir = load_settings().var_dir
    return kept_secret(secret_path(var_dir), lambda: secrets.token_urlsafe(32), env=ENV)


def matches(sent: Optional[str], secret: str) -> bool:
    """True when `sent` is the secret; compared in constant time."""
    if not sent or not secret:
        return False
    return hmac.compare_digest(sent.encode("utf-8", "replace"), secret.encode("utf-8"))
