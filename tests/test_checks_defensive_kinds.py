"""The kind a learned defensive verdict names, and the hand-labelled kind set it is trained on.

The dev sentences are ones whose tip named a kind that did not fit before the kind model learned
from hand labels (dev-2633's router read as 'a deflection to someone else', dev-2648's cables as
'a policy wall'); they are in its training data, so these tests hold the fix in place rather than
measure it (the held-out figure is in docs/checks.md). The last ones are written for the tests.
"""
from __future__ import annotations

import json

import pytest

from bench.checks_quality import labelled_set
from bot.checks import assess_reply, defensive, defensive_stance
from bot.checks._lexicon import load_lexicon
from bot.checks._text import clean
from bot.checks.train_defensive_kinds import KIND_SET
from bot.nlp import get_nlp
from bot.settings import PROJECT_ROOT

DEV_SET = PROJECT_ROOT / "tests" / "data" / "checks_dev.jsonl"


def _dev_rows() -> dict:
    rows = [json.loads(line) for line in DEV_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    return {r["id"]: r for r in rows}


def test_the_kind_set_says_where_it_came_from_and_names_only_known_kinds():
    lines = [json.loads(line) for line in KIND_SET.read_text(encoding="utf-8").splitlines() if line.strip()]
    assert "_source" in lines[0] and "by hand" in lines[0]["_source"]
    rows = lines[1:]
    known = set(load_lexicon("defensive")["kinds"])
    assert len(rows) >= 250
    assert {r["kind"] for r in rows} <= known
    assert {r["from"] for r in rows} <= {"learned", "lexicon"}
    dev = _dev_rows()
    for r in rows:
        # the clause is a sentence of that reply, as the checks read it
        assert r["clause"] in clean(dev[r["id"]]["reply"]).text, r
        assert dev[r["id"]]["labels"]["defensive"] == 1, r
    assert len({(r["id"], r["clause"]) for r in rows}) == len(rows)


@pytest.mark.parametrize(
    "dev_id, kind",
    [
        ("dev-2633", "BLAME"),  # 'sounds like ur router is on its way out tbh'
        ("dev-2648", "BLAME"),  # 'Older cables can cause exactly this kind of thing'
        ("dev-2606", "COMPARISON"),  # 'most of our assisted passengers get through Newark without a hitch'
        ("dev-2666", "COMPARISON"),  # "That's more than most people would do" (a false alarm by the labels; not in the kind set)
        ("dev-2658", "MINIMISING"),  # 'most connections drop now and again, it's not unusual'
        ("dev-2639", "EXCUSE"),  # 'The technicians have a lot of jobs on Fridays ...'
        ("dev-2623", "RECORDS"),  # 'im just reading what the system says'
        ("dev-2572", "DENIAL"),  # 'most vela crashes r software stuff tbh, not the laptop itself'
    ],
)
def test_a_learned_verdict_on_the_dev_set_names_the_kind_that_fits(dev_id, kind):
    items, _ = labelled_set()
    index = list(_dev_rows()).index(dev_id)
    item = items[index]
    out = assess_reply(item["reply"], customer_message=item["customer"], customer_name=item["customer_name"],
                       facts=item.get("facts", ()), jargon_terms=item.get("jargon", ()))["defensive"]
    lex = load_lexicon("defensive")
    assert out["found"] is True and out["kind"] == lex["kinds"][kind], out
    assert f" reads as {lex['kind_phrases'][kind]}; take ownership instead: '{lex['kind_rewrites'][kind]}'" in out["tip"]


@pytest.mark.parametrize(
    "reply, kind",
    [
        ("Most of our customers never have an issue with this model.", "COMPARISON"),
        ("Plenty of guests wait that long on a Saturday without complaining.", "COMPARISON"),
        ("The delivery partner handles that side, I can't see their notes.", "DEFLECT"),
        ("Fridays are always hectic for the engineers, one job overruns and the rest slip.", "EXCUSE"),
    ],
)
def test_a_learned_verdict_on_new_phrasing_names_the_kind_that_fits(reply, kind):
    doc = get_nlp()(reply)
    assert not defensive.flagged(doc, None)  # a learned verdict's kind, not a pattern's label
    # The kind, whatever the stance score: whether a sentence near the threshold is flagged moves
    # with each retraining ('Plenty of guests ...' scored 1.05, then 0.89 against 1.0 once round
    # 11 was folded in); detection is measured on the held-out sets (bench.checks_quality).
    assert defensive_stance.load_model().kind(doc[:]) == kind
    out = assess_reply(reply)["defensive"]
    if out["found"]:
        assert out["kind"] == load_lexicon("defensive")["kinds"][kind], out
