"""`python -m bot.web`: serve the web app with waitress on COACH_HOST:COACH_WEB_PORT."""
from __future__ import annotations

import logging
import os

from waitress import serve

from bot.private_files import PRIVATE_UMASK
from bot.settings import load_settings
from bot.web import create_app

# Enough for a training room chatting at once; each request mostly waits on Rasa.
THREADS = 8


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = load_settings()
    # Started on its own too (not only by the launcher): whatever it creates in var/ stays private.
    os.umask(PRIVATE_UMASK)
    app = create_app()
    logging.getLogger("bot.web").info(
        "Practice chat on %s/ (relaying to Rasa at %s; shared state %s)", settings.web_url,
        ", ".join(app.extensions["rasa_relay"].rasa_urls), "in Redis" if settings.redis_url else "in this process",
    )
    serve(app, host=settings.host, port=settings.web_port, threads=THREADS)


if __name__ == "__main__":
    main()
