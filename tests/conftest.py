"""Fixtures shared by the test modules: tracker and dispatcher builders, a running assistant."""
from __future__ import annotations

import dataclasses
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any, Dict, Iterator, List, Optional

import pytest
from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher

from bot.rasa_client import RasaRestClient
from bot.launcher import DEFAULT_MODEL, free_port, start_all
from bot.settings import load_settings


def make_tracker(
    *,
    text: str = "",
    intent: str = "restate_issue",
    entities: Optional[List[Dict[str, Any]]] = None,
    slots: Optional[Dict[str, Any]] = None,
    sender_id: str = "trainee-1",
) -> Tracker:
    """A tracker whose latest message is `text`, as the action server receives it."""
    return Tracker(
        sender_id=sender_id,
        slots=slots or {},
        latest_message={"text": text, "intent": {"name": intent, "confidence": 1.0}, "entities": entities or []},
        events=[],
        paused=False,
        followup_action=None,
        active_loop={},
        latest_action_name="action_listen",
    )


@pytest.fixture
def dispatcher() -> CollectingDispatcher:
    return CollectingDispatcher()


@pytest.fixture(scope="session")
def assistant(tmp_path_factory) -> Iterator[Dict[str, str]]:
    """The real action server, Rasa server and web app on free loopback ports."""
    if not DEFAULT_MODEL.exists():
        pytest.fail(f"No trained model at {DEFAULT_MODEL}: `make test` trains it first.")
    settings = dataclasses.replace(
        load_settings(),
        host="127.0.0.1",
        rasa_port=free_port(),
        actions_port=free_port(),
        web_port=free_port(),
        var_dir=Path(tmp_path_factory.mktemp("assistant-var")),
    )
    with ExitStack() as stack:
        services = start_all(stack, settings=settings, model=DEFAULT_MODEL)
        yield {
            "rasa_url": settings.rasa_url,
            "actions_url": settings.actions_url,
            "web_url": settings.web_url,
            "services": {s.name: s for s in services},
            "settings": settings,
        }


@pytest.fixture
def conversation(assistant):
    """A fresh conversation with the running assistant, under a sender id of its own."""
    return RasaRestClient(assistant["rasa_url"], sender=f"test-{uuid.uuid4().hex[:12]}")
