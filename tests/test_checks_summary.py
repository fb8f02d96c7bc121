"""bench/checks_summary.py: a fresh held-out set's first score is kept once and shown beside the now."""
from __future__ import annotations

import json

import pytest

from bench.checks_quality import Counts
from bench.checks_summary import load_first_scores, record_first_score, summary_table, write_into_docs


def _counts(tp, fp, fn):
    return Counts(tp=tp, fp=fp, fn=fn, tn=10)


def test_a_round_is_recorded_once_and_never_overwritten(tmp_path):
    path = tmp_path / "first.json"
    path.write_text(json.dumps({"_source": "test", "rounds": {}}))
    record_first_score(path, "7", "set7.jsonl", {"defensive": _counts(5, 1, 5)}, when="now")
    first = load_first_scores(path)["rounds"]["7"]["scores"]["defensive"]
    assert first == {"f1": round(2 * (5 / 6) * 0.5 / (5 / 6 + 0.5), 3), "precision": 0.833, "recall": 0.5}
    with pytest.raises(SystemExit, match="already has a first score"):
        record_first_score(path, "7", "set7.jsonl", {"defensive": _counts(9, 0, 1)}, when="later")
    assert load_first_scores(path)["rounds"]["7"]["scores"]["defensive"] == first


def test_summary_rows_and_the_docs_block(tmp_path):
    first = {"rounds": {"2": {"file": "x", "scores": {"defensive": {"f1": 0.68}}}}}
    now = {"defensive": _counts(9, 1, 1), "thanks": _counts(1, 0, 0)}
    lines = summary_table(now, now, "held.jsonl", first, ["defensive", "thanks"])
    assert lines[0].startswith("| check | dev set F1 (now) | held-out `held.jsonl` F1 (now) | round 2, first score")
    assert lines[2].startswith("| defensive | 0.900 (P 0.90, R 0.90) | 0.900") and lines[2].endswith("| 0.680 |")
    assert lines[3].endswith("| – |")  # no first score kept for thanks in that round
    docs = tmp_path / "checks.md"
    docs.write_text("intro\n<!-- s -->\nold\n<!-- e -->\nrest\n")
    assert write_into_docs(docs, "<!-- s -->", "<!-- e -->", lines)
    text = docs.read_text()
    assert "old" not in text and text.startswith("intro\n<!-- s -->\n| check") and text.endswith("<!-- e -->\nrest\n")
    assert not write_into_docs(tmp_path / "checks.md", "<!-- x -->", "<!-- y -->", lines)


def test_the_current_held_out_set_is_the_newest_round_file(tmp_path):
    from bench.checks_summary import current_held_out

    assert current_held_out(tmp_path) is None  # between a fold and the next fresh set
    (tmp_path / "checks_heldout_7.jsonl").write_text("")
    (tmp_path / "checks_heldout_10.jsonl").write_text("")
    (tmp_path / "checks_heldout_8_draft.jsonl").write_text("")  # not a round file
    (tmp_path / "checks_heldout.jsonl").write_text("")
    assert current_held_out(tmp_path) == ("10", tmp_path / "checks_heldout_10.jsonl")


def test_the_bench_will_not_be_a_fresh_sets_first_look(tmp_path, monkeypatch):
    """A round file without a recorded first score stops `make bench-checks` with the command to record it."""
    from bench import checks_quality

    (tmp_path / "checks_heldout_8.jsonl").write_text("")
    first = tmp_path / "first.json"
    first.write_text(json.dumps({"_source": "test", "rounds": {"7": {"file": "x", "scores": {}}}}))
    monkeypatch.setattr(checks_quality, "DATA", tmp_path)
    monkeypatch.setattr(checks_quality, "FIRST_SCORES", first)
    monkeypatch.setattr(checks_quality, "score", lambda *a, **k: pytest.fail("scored before its first score"))
    monkeypatch.setattr(checks_quality, "labelled_set", lambda *a, **k: ([], []))
    with pytest.raises(SystemExit, match=r"(?s)no first score yet.*--first-score .*checks_heldout_8.jsonl --round 8"):
        checks_quality.main([])
