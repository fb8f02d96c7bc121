"""assess_in_workers: the same answers as assess_many, in file order, from forked workers."""
import multiprocessing

import pytest

from bot.checks import assess_many
from bot.checks import workers as workers_module
from bot.checks.workers import assess_in_workers

ITEMS = [
    {"reply": "Hi Dana, I'm sorry your laptop keeps crashing. I'll book a technician for tomorrow.",
     "customer": "My laptop crashes every day!", "customer_name": "Dana Whitfield"},
    "not an object",
    {"reply": "That's not my fault, calm down."},
    {"customer": "no reply here"},
    {"reply": "x" * 300},
    {"reply": "Thanks for waiting. So the charge appeared twice on your May bill?", "customer": "I was charged twice in May."},
    {"reply": "Hi Dana, I'm sorry your laptop keeps crashing. I'll book a technician for tomorrow.",
     "customer": "It crashed again.", "customer_name": "Dana Whitfield"},
] * 3


@pytest.mark.skipif("fork" not in multiprocessing.get_all_start_methods(), reason="needs fork")
def test_workers_give_assess_many_answers_in_order_with_item_numbers(monkeypatch):
    monkeypatch.setattr(workers_module, "RUN_SIZE", 4)  # several runs, one in the parent
    monkeypatch.setattr(workers_module, "MIN_ITEMS", 8)
    expected = list(assess_many(ITEMS, max_chars=200))
    got = list(assess_in_workers(ITEMS, workers=2, max_chars=200))
    assert got == expected
    # an error message numbers the item in the whole file, not in its run
    assert got[18]["error"]["message"].startswith("item 19:")
    assert got[8]["error"]["message"].startswith("item 9:")


def test_one_worker_or_a_short_file_stays_in_this_process(monkeypatch):
    def no_pool(*args, **kwargs):
        raise AssertionError("no worker process expected")

    monkeypatch.setattr(workers_module.multiprocessing, "get_context", no_pool)
    assert list(assess_in_workers(ITEMS, workers=1, max_chars=200)) == list(assess_many(ITEMS, max_chars=200))
    assert list(assess_in_workers(ITEMS[:5], workers=2)) == list(assess_many(ITEMS[:5]))
