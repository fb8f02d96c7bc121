"""assess_many over several processes, for a long file of replies (`python -m bot assess`).

Each reply's checks depend on that reply and its context alone, so a file can be cut into
runs of items, each run assessed in a worker, and the answers put back in file order. The
model, the lexicons and the pattern sets are loaded once here before the workers are forked,
so they start at once and share that memory until they change it. Where processes cannot be
forked (not Linux or macOS), or the file is short, one process does it all as before.
"""
from __future__ import annotations

import multiprocessing
from typing import Any, Dict, Iterator, List, Optional, Sequence, Tuple

from bot.checks import BATCH_SIZE, assess_many

# Items per task: a whole nlp.pipe batch, and small enough that the workers end together.
RUN_SIZE = BATCH_SIZE
# Below this many items a second process costs more than it saves.
MIN_ITEMS = 2 * RUN_SIZE

_MAX_CHARS: Optional[int] = None  # set in the parent before the fork, read in the workers


def _run(task: Tuple[int, Sequence[dict]]) -> List[Dict[str, Any]]:
    first, items = task
    return list(assess_many(items, max_chars=_MAX_CHARS, first_number=first))


def assess_in_workers(
    items: Sequence[dict], *, workers: int, max_chars: Optional[int] = None
) -> Iterator[Dict[str, Dict[str, Any]]]:
    """The same answers as assess_many(items), in the same order, from `workers` processes."""
    global _MAX_CHARS
    if workers <= 1 or len(items) < MIN_ITEMS or "fork" not in multiprocessing.get_all_start_methods():
        yield from assess_many(items, max_chars=max_chars)
        return
    # the first run here loads everything the workers then inherit
    first = list(assess_many(items[:RUN_SIZE], max_chars=max_chars))
    yield from first
    _MAX_CHARS = max_chars
    tasks = [(start + 1, items[start : start + RUN_SIZE]) for start in range(RUN_SIZE, len(items), RUN_SIZE)]
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for answers in pool.imap(_run, tasks):
            yield from answers
