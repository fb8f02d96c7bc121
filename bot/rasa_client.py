"""A small client for Rasa's REST channel, as the tests and the benchmark use it."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict, List, Optional

import requests

from bot.service_secret import HEADER, load_service_secret


class RasaRestClient:
    """Talks to Rasa's REST channel as the chat page and the tests do."""

    def __init__(
        self,
        rasa_url: str,
        *,
        sender: str,
        secret: Optional[str] = None,
        var_dir: Optional[Path] = None,
        session: requests.Session | None = None,
    ):
        """`secret` is the shared service secret; by default the one in `var_dir` (else COACH_VAR_DIR)."""
        self.url = f"{rasa_url}/webhooks/rest/webhook"
        self.sender = sender
        self.secret = secret or load_service_secret(var_dir)
        self.http = session or requests.Session()

    def send(self, message: str) -> List[Dict[str, Any]]:
        response = self.http.post(
            self.url,
            json={"sender": self.sender, "message": message},
            headers={HEADER: self.secret},
            timeout=60,
        )
        response.raise_for_status()
        return response.json()

    @staticmethod
    def texts(messages: List[Dict[str, Any]]) -> List[str]:
        return [m["text"] for m in messages if "text" in m]

    @staticmethod
    def payloads(messages: List[Dict[str, Any]], kind: str) -> List[Dict[str, Any]]:
        return [m["custom"] for m in messages if m.get("custom", {}).get("type") == kind]


def start_command(scenario: str, persona: str = "angry", mode: str = "coach") -> str:
    """The control message that starts a practice session."""
    return "/start_scenario" + json.dumps({"scenario": scenario, "persona": persona, "mode": mode})


END_COMMAND = "/end_session"
