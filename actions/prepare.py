"""The action server's `/prepare` hook (bot.action_server): a reply worked out ahead of its call."""
from actions.common import heard_lines_of
from bot import prepared_replies


def prepare(sender_id: str, message_id: str, text: str) -> bool:
    return prepared_replies.prepare(sender_id, message_id, text, heard_lines_of(sender_id))
