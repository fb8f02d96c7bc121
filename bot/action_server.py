"""`python -m bot.action_server`: rasa_sdk's action server, answering only callers with the secret.

rasa_sdk's own server (`python -m rasa_sdk`) runs any action for anyone who reaches its port and
allows every CORS origin. This one is the same app with a check in front: every route but
`/health` needs the `X-Coach-Secret` header (bot.service_secret), which Rasa sends because the
launcher writes it into the run's endpoints file; no CORS.
"""
from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys
import time
from typing import List, Optional

from bot import service_secret

log = logging.getLogger(__name__)

OPEN_PATHS = frozenset({"/health"})
# Opt-in, for measuring where a turn's time goes (bench.latency --timing): a file that gets one
# line per request, "<path> <action or -> <end, epoch seconds> <handler ms>". Off unless set; costs nothing then.
TIMING_LOG_ENV = "COACH_ACTIONS_TIMING_LOG"
# Longer than the channel keeps its idle connection (bot.rasa_channel.PREPARE_KEEP_ALIVE), so
# the channel, not the server, closes it: never a request sent into a connection being closed.
PREPARE_KEEP_ALIVE_SECONDS = 75


def create_app(package: str, secret: str):
    from rasa_sdk.endpoint import create_app as create_sdk_app
    from sanic import response

    app = create_sdk_app(package, cors_origins=None)
    # Our Rasa channel keeps one connection open for /prepare (bot.rasa_channel.ReplyPreparer):
    # a trainee replies every ten seconds or more, and Sanic's 5 s default closed it in between,
    # so the next prepare had to connect first and went out too late to overlap Rasa's NLU.
    app.config.KEEP_ALIVE_TIMEOUT = PREPARE_KEEP_ALIVE_SECONDS

    @app.middleware("request")
    async def require_secret(request):
        if request.path in OPEN_PATHS:
            return None
        if not service_secret.matches(request.headers.get(service_secret.HEADER), secret):
            log.warning("Refused %s %s without the service secret from %s", request.method, request.path, request.ip)
            return response.json({"error": f"Missing or wrong {service_secret.HEADER} header."}, status=401)
        return None

    _add_prepare(app, package)
    timing_log = os.environ.get(TIMING_LOG_ENV)
    if timing_log:
        _add_timing(app, timing_log)
    return app


def _add_prepare(app, package: str) -> None:
    """`POST /prepare {"sender", "message_id", "text"}`: start a reply before Rasa calls for it.

    Our Rasa channel sends it as a message arrives (bot.prepared_replies says why and when the
    answer is used). A package without a `prepare` module (the benchmark's no-op actions) has
    nothing to prepare. Answers 204 whatever happened: the caller does not wait for it.
    """
    from sanic import response

    try:
        hook = importlib.import_module(f"{package}.prepare").prepare
    except ModuleNotFoundError as exc:
        if exc.name != f"{package}.prepare":
            raise
        hook = None

    @app.post("/prepare")
    async def prepare(request):
        body = request.json if hook is not None else None
        if isinstance(body, dict):
            sender, message_id, text = body.get("sender"), body.get("message_id"), body.get("text")
            if all(isinstance(value, str) and value for value in (sender, message_id, text)):
                hook(sender, message_id, text)
        return response.empty(status=204)


def _add_timing(app, path: str) -> None:
    @app.middleware("request")
    async def started(request):
        request.ctx.started = time.perf_counter()

    @app.middleware("response")
    async def finished(request, answer):
        began = getattr(request.ctx, "started", None)
        if began is None:
            return
        action = (request.json or {}).get("next_action", "-") if request.path == "/webhook" else "-"
        with open(path, "a", encoding="utf-8") as log_file:
            log_file.write(f"{request.path} {action} {time.time():.6f} {(time.perf_counter() - began) * 1000:.3f}\n")


def keep_thinc_ops_for_every_request() -> bool:
    """Choose spaCy's numeric backend (thinc's ops) here, in the context every request inherits.

    thinc keeps it in a context variable. Chosen first inside a request (spaCy loads on the first
    reply), it was gone again in the next request's context, so every request chose it anew,
    trying to import optional backends from disk each time: about 7% of the action server's
    time per turn. Only when the actions use spaCy (it is imported by then); True if set.
    """
    if "thinc" not in sys.modules:
        return False
    from thinc.api import get_current_ops

    get_current_ops()
    return True


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.action_server", description=__doc__.split("\n")[0])
    parser.add_argument("--actions", default="actions", help="the package holding the actions")
    parser.add_argument("--port", type=int, default=5055)
    args = parser.parse_args(argv)
    from rasa_sdk import utils

    utils.configure_colored_logging("INFO")
    utils.update_sanic_log_level()
    app = create_app(args.actions, service_secret.load_service_secret())
    keep_thinc_ops_for_every_request()
    host = os.environ.get("SANIC_HOST", "127.0.0.1")
    log.info("Action server on http://%s:%s (secret required)", host, args.port)
    app.run(host, args.port, workers=utils.number_of_sanic_workers(), access_log=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
