"""The action server chooses spaCy's numeric backend once, in the context every request inherits."""
import asyncio
import threading

import spacy  # noqa: F401  (the actions import it; thinc with it)
from thinc.backends import context_ops

from bot.action_server import keep_thinc_ops_for_every_request


def _ops_seen_by_requests(choose_first: bool):
    """What three request tasks find, in a thread of its own (a fresh, empty context)."""
    seen = {}

    def serve():
        seen["before"] = context_ops.get()
        if choose_first:
            seen["chosen"] = keep_thinc_ops_for_every_request()

        async def request():
            return context_ops.get()

        async def server():
            return await asyncio.gather(*(asyncio.create_task(request()) for _ in range(3)))

        seen["requests"] = asyncio.run(server())

    thread = threading.Thread(target=serve)
    thread.start()
    thread.join()
    return seen


def test_every_request_inherits_the_ops_chosen_at_start():
    seen = _ops_seen_by_requests(choose_first=True)
    assert seen["before"] is None and seen["chosen"] is True
    assert all(type(ops).__name__ == "NumpyOps" for ops in seen["requests"])


def test_without_it_each_request_would_choose_again():
    assert _ops_seen_by_requests(choose_first=False)["requests"] == [None, None, None]
