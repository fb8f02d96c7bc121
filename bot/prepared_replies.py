"""A trainee's reply worked out while Rasa is still reading it, used only if nothing changed.

Rasa runs NLU and its policies before it calls `action_customer_reply`, and the action server
waits meanwhile. Our Rasa channel (bot/rasa_channel.py) sends the sender id, Rasa's message id
and the text to the action server's `/prepare` as soon as the message arrives; `prepare` works
out the answer then (parse, checks, the customer's words, the scorecard at the end: everything
but storing), from the state this action server last put in that sender's slot. When Rasa's call
comes, `take` hands the answer over only if it was prepared for the same message id, sender and
text from exactly the state now in the slot (the same JSON, key order included); otherwise the
action works it out as before. Storing stays in the action, so nothing answered is lost.

So a prepare that fails, comes late, or reaches an action server that did not answer this
sender's last turn (another instance, a restart) costs time, never a different answer. A trainee
who sends two messages quickly gets the second prepared from the state before the first, which
no longer matches when its call comes. Everything here is per process and bounded; a prepared
answer is dropped once its call has come, used or not.
"""
from __future__ import annotations

import json
import logging
from collections import OrderedDict
from typing import Any, Dict, Optional, Tuple

from bot import conversation
from bot.conversation import Answer, HeardLines

logger = logging.getLogger(__name__)

# Senders whose last slot state is kept: far more than the trainees one action server serves
# at once (50 in bench/load.py); a few KB each.
SENDERS_KEPT = 2048
# Answers waiting for their call: one per message in flight. More means calls that never came.
PREPARED_KEPT = 256
# Message ids whose call has come: a prepare arriving after it is not worked out.
ANSWERED_KEPT = 1024

_last_state: "OrderedDict[str, str]" = OrderedDict()
_prepared: "OrderedDict[str, Tuple[str, str, str, Answer]]" = OrderedDict()
_answered: "OrderedDict[str, None]" = OrderedDict()
counts = {"prepared": 0, "used": 0, "missed": 0}


def _put(cache: OrderedDict, key: str, value: Any, size: int) -> None:
    cache[key] = value
    cache.move_to_end(key)
    while len(cache) > size:
        cache.popitem(last=False)


def _as_json(state: Optional[Dict[str, Any]]) -> str:
    # As Rasa hands the slot back: JSON keeps key order, so equal text means the very same state.
    return json.dumps(state, ensure_ascii=False)


def remember(sender_id: str, state: Optional[Dict[str, Any]]) -> None:
    """The state this action server just put in `sender_id`'s slot, for the next prepare."""
    _put(_last_state, sender_id, _as_json(state), SENDERS_KEPT)


def prepare(sender_id: str, message_id: str, text: str, heard: HeardLines) -> bool:
    """Work out the answer to `text` from `sender_id`'s last slot state; True if one is kept."""
    state_json = _last_state.get(sender_id)
    if state_json is None or message_id in _answered or text.startswith("/"):
        return False
    try:
        answer = conversation.reply(json.loads(state_json), text, heard=heard)
    except Exception:  # the action will work it out again and meet the same problem there
        logger.debug("Preparing a reply of %s failed", sender_id, exc_info=True)
        return False
    if any(message.get("custom", {}).get("type") == "error" for message in answer.messages):
        return False  # errors are cheap, and one from a database outage may be gone by the call
    _put(_prepared, message_id, (sender_id, text, state_json, answer), PREPARED_KEPT)
    counts["prepared"] += 1
    return True


def take(sender_id: str, message_id: Optional[str], text: Optional[str], state: Optional[Dict[str, Any]]) -> Optional[Answer]:
    """The answer prepared for this very message and state, or None: then work it out now."""
    if not message_id:
        return None
    _put(_answered, message_id, None, ANSWERED_KEPT)
    entry = _prepared.pop(message_id, None)
    if entry is None:
        return None
    prepared_sender, prepared_text, state_json, answer = entry
    if prepared_sender != sender_id or prepared_text != text or state_json != _as_json(state):
        counts["missed"] += 1
        return None
    counts["used"] += 1
    return answer


def forget_all() -> None:
    """Drop everything (tests)."""
    _last_state.clear()
    _prepared.clear()
    _answered.clear()
    for key in counts:
        counts[key] = 0
