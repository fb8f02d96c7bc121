"""What web app processes share through Redis (COACH_REDIS_URL, else the lock store's Redis).

Behind a load balancer, a page's retry may reach another web app process than its first try.
The answer cache and the one-message-at-a-time lock of each conversation therefore live in
Redis, so that a retried message is answered from the cache, or waits for the first try, in
whichever process it lands, and never reaches Rasa twice. Without Redis they stay in process
memory (bot/web/relay.py), which is right for one web app process.
"""
from __future__ import annotations

import json
import logging
import time
from contextlib import contextmanager
from typing import Any, Dict, Iterator, List, Optional

from bot.web.relay import ANSWER_TTL_SECONDS, ConversationLocks, RelayError

log = logging.getLogger(__name__)

PREFIX = "coach:web"
SHARED_STATE_DOWN = "The practice server is not answering. Try again in a moment."


def _unavailable(exc: Exception) -> RelayError:
    log.warning("Redis (the web app's shared state) failed: %s", exc)
    return RelayError(503, "rasa_down", SHARED_STATE_DOWN)


class RedisAnswerCache:
    """AnswerCache's interface on Redis: one hash of answers and one ordered set of ids per conversation.

    Both keys expire `ttl` seconds after the conversation's last answer: a retry comes within
    minutes, and a conversation idle for an hour has no message in flight.
    """

    def __init__(self, client, *, ttl: float = ANSWER_TTL_SECONDS, prefix: str = PREFIX) -> None:
        self.client = client
        self.ttl = int(ttl)
        self.prefix = prefix

    def _keys(self, conversation: str):
        return f"{self.prefix}:answers:{conversation}", f"{self.prefix}:answer-order:{conversation}"

    def get(self, conversation: str, message_id: str) -> Optional[List[Dict[str, Any]]]:
        import redis

        answers, _ = self._keys(conversation)
        try:
            raw = self.client.hget(answers, message_id)
        except redis.RedisError as exc:
            raise _unavailable(exc) from None
        return json.loads(raw) if raw is not None else None

    def put(self, conversation: str, message_id: str, messages: List[Dict[str, Any]]) -> None:
        import redis

        answers, order = self._keys(conversation)
        try:
            pipe = self.client.pipeline()
            pipe.hset(answers, message_id, json.dumps(messages))
            pipe.zadd(order, {message_id: time.time()})
            pipe.expire(answers, self.ttl)
            pipe.expire(order, self.ttl)
            pipe.execute()
        except redis.RedisError as exc:
            # Rasa has answered: the trainee gets the answer; only a retry of it would go to Rasa again.
            log.warning("Could not remember answer %s of %s in Redis: %s", message_id, conversation, exc)

    def ids_for(self, conversation: str) -> List[str]:
        import redis

        _, order = self._keys(conversation)
        try:
            return [mid.decode() if isinstance(mid, bytes) else mid for mid in self.client.zrange(order, 0, -1)]
        except redis.RedisError as exc:
            raise _unavailable(exc) from None


class RedisConversationLocks(ConversationLocks):
    """One message per conversation at a time across every web app process.

    The process's own lock is taken first, so threads of one process queue in memory and only
    one of them at a time waits on Redis. The Redis lock expires after `lease` seconds, so a
    web app process that dies holding it blocks that conversation for at most that long.
    """

    def __init__(self, client, *, lease: float, wait: float, prefix: str = PREFIX) -> None:
        super().__init__()
        self.client = client
        self.lease = lease
        self.wait = wait
        self.prefix = prefix

    @contextmanager
    def hold(self, conversation: str) -> Iterator[None]:
        import redis

        with super().hold(conversation):
            lock = self.client.lock(f"{self.prefix}:lock:{conversation}", timeout=self.lease,
                                    blocking_timeout=self.wait)
            try:
                acquired = lock.acquire()
            except redis.RedisError as exc:
                raise _unavailable(exc) from None
            if not acquired:
                raise RelayError(503, "busy", "Your previous message is still being answered. Try again in a moment.")
            try:
                yield
            finally:
                try:
                    lock.release()
                except redis.RedisError as exc:  # expired or Redis gone: the lease frees it anyway
                    log.warning("Could not release the relay lock of %s: %s", conversation, exc)


def redis_client(url: str):
    import redis

    return redis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=3, health_check_interval=30)
