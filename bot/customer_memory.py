"""What a trainee heard the customer say in their earlier sessions of a scenario.

The action server knows the trainee from the conversation's owner (the web app claims each
sender id for its user before relaying, `bot.db.claim_conversation`). Their earlier sessions of
the scenario are read from our database once per running session and action-server process,
and turned into the ids of the parts said (bot/customer_voice.py), so the customer can say
other ones first. No owner (a raw REST sender) or no database means nothing was heard before:
the customer then only varies within the session.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from typing import FrozenSet, Optional, Tuple

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from bot import db
from bot.customer_voice import parts_heard
from bot.recording import engine
from bot.scenario_catalogue import split_ref
from bot.scenarios import get_scenario

logger = logging.getLogger(__name__)


# Running sessions whose trainee's earlier sessions were read: they do not change while a
# session runs, so one read per session and process suffices. Bounded; oldest dropped first.
_CACHE: "OrderedDict[Tuple[str, str, str, str], FrozenSet[str]]" = OrderedDict()
CACHE_SIZE = 1024


def heard_before(*, sender_id: str, scenario: str, persona: str, session_id: Optional[str]) -> FrozenSet[str]:
    """Ids of the parts the owner of `sender_id` heard in sessions of `scenario` other than `session_id`."""
    if session_id is None:
        # A session about to start: read afresh, since the previous one may have just ended.
        return _heard(sender_id, scenario, persona, None) or frozenset()
    key = (sender_id, scenario, persona, session_id)
    if key in _CACHE:
        _CACHE.move_to_end(key)
        return _CACHE[key]
    heard = _heard(sender_id, scenario, persona, session_id)
    if heard is None:
        return frozenset()  # not cached: the next turn asks the database again
    _CACHE[key] = heard
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return heard


def _heard(sender_id: str, ref: str, persona: str, session_id: Optional[str]) -> Optional[FrozenSet[str]]:
    # `ref` is the scenario id, or "id@version" for the version this session plays.
    scenario = split_ref(ref)[0]
    try:
        with db.session_scope(engine()) as session:
            owner = db.conversation_owner(session=session, sender_id=sender_id)
            if owner is None:
                return frozenset()
            earlier = select(db.PracticeSession.id, db.PracticeSession.opening).where(
                db.PracticeSession.user_id == owner, db.PracticeSession.scenario == scenario
            )
            if session_id is not None:
                earlier = earlier.where(db.PracticeSession.id != session_id)
            rows = session.execute(earlier).all()
            texts = [opening for _, opening in rows]
            if rows:
                texts.extend(
                    session.execute(
                        select(db.Turn.customer_text).where(db.Turn.session_id.in_([sid for sid, _ in rows]))
                    ).scalars()
                )
    except SQLAlchemyError as exc:
        logger.warning("Could not read what the trainee of %s heard before: %s", sender_id, exc)
        return None
    return parts_heard(texts, get_scenario(ref), persona)
