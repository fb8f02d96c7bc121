"""Issue 14: the learned layer of active_listening (bot/checks/listening_layer.py).

The stored model must match the feature extractor; a verdict of the layer quotes the sentence it
judged; a missing, corrupt or outdated model file leaves the rules to judge alone and says so in
the log. Replies here are written for the tests, not taken from the development set.
"""
from __future__ import annotations

import json
import logging

import pytest

from bot.checks import assess_reply, listening_layer
from bot.checks.listening_layer import MODEL_PATH, ModelFileError, feature_hash, load_model, read_model

LAPTOP = ("I paid extra for at-home service and my laptop has crashed every day since it arrived. "
          "I've called three times and nobody ever called back.")
INTERNET = ("My broadband has been dropping out for a week and I work from home. I lost two client calls, "
            "and the engineer booked for Tuesday never came.")
PARCEL = "The tracking says my parcel was delivered on Monday. I checked the porch, the neighbours and the mailroom. Nothing."


def _listening(reply: str, customer: str) -> dict:
    return assess_reply(reply, customer_message=customer)["active_listening"]


@pytest.fixture
def rules_alone(monkeypatch, tmp_path):
    """The check with no model file: the rules judge alone."""
    monkeypatch.setattr(listening_layer, "MODEL_PATH", tmp_path / "missing.json")
    load_model.cache_clear()
    yield
    load_model.cache_clear()


def test_the_stored_model_loads_and_matches_the_features():
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    assert data["feature_hash"] == feature_hash(), "features changed: python -m bot.checks.train_listening"
    assert "train_listening" in data["_source"]
    model = load_model()
    assert model is not None and model.threshold == data["threshold"]
    assert model.weights and all(isinstance(v, float) for v in model.weights.values())


def test_a_sentence_the_layer_finds_is_quoted_as_the_evidence(monkeypatch):
    # a model that only knows one word (details shared with the customer are read as a placeholder)
    model = listening_layer.ListeningModel({"bias": -1.0, "w:should": 3.0}, 1.0, (0.0, 0.0), "test")
    monkeypatch.setattr(listening_layer, "load_model", lambda: model)
    reply = "Thanks for waiting.  That “visit” should have happened. I've booked Friday."
    result = _listening(reply, INTERNET)
    assert result["found"] and result["tip"] is None
    assert result["evidence"] == ["That “visit” should have happened."]  # the rules find no detail here
    assert all(e in reply for e in result["evidence"])
    # an information question is never the restatement, whatever its words (listening_layer.VETOES)
    assert not _listening("When should the engineer have come?", INTERNET)["found"]


def test_the_layer_overrules_the_rules_on_what_the_agents_records_show():
    result = _listening("I can see three calls logged on your account.", LAPTOP)
    assert not result["found"]
    assert result["evidence"] == ["I can see three calls logged on your account"]
    assert result["tip"].startswith("'I can see three calls logged on your account' on its own doesn't show you listened")


def test_the_rules_evidence_is_kept_where_the_layer_agrees():
    reply = "You checked the porch, the neighbours and the mailroom and the parcel still isn't there. I'm sending a replacement today."
    result = _listening(reply, PARCEL)
    assert result["found"]
    assert "the mailroom" in result["evidence"] and all(e in reply for e in result["evidence"])


@pytest.mark.parametrize(
    "reply, customer",
    [
        ("Sorry about the delivery.", PARCEL),  # an apology that only names the topic
        ("Could you send me the tracking number?", PARCEL),  # a request
        ("I can see three calls logged on your account.", LAPTOP),  # what the agent's records show
    ],
)
def test_topic_only_replies_are_no_restatement_and_the_tip_is_a_sentence(reply, customer):
    result = _listening(reply, customer)
    assert not result["found"]
    assert result["tip"] and result["tip"].endswith((".", "?'"))


def test_chat_register_restatement_is_found():
    result = _listening("ur laptop crashin every day n 3 calls with no callback, thats rubbish. ill sort it 2day", LAPTOP)
    assert result["found"]


def test_a_missing_model_file_falls_back_to_the_rules_with_a_log_line(rules_alone, caplog):
    with caplog.at_level(logging.WARNING, logger="bot.checks.listening_layer"):
        assert load_model() is None
    assert "rules alone" in caplog.text and "missing.json" in caplog.text
    # the rules still judge: an explicit restatement is found, a bare 'I understand.' is not
    assert _listening("So the engineer booked for Tuesday never came and you lost two client calls?", INTERNET)["found"]
    assert not _listening("I understand.", INTERNET)["found"]


def test_a_corrupt_model_file_is_named_in_the_error(tmp_path):
    path = tmp_path / "model.json"
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(ModelFileError, match="not a readable active_listening model"):
        read_model(path)
    path.write_text(json.dumps({"weights": {}, "threshold": 1.0}), encoding="utf-8")
    with pytest.raises(ModelFileError, match="KeyError"):
        read_model(path)


def test_a_model_trained_on_other_features_is_refused(tmp_path, monkeypatch, caplog):
    data = json.loads(MODEL_PATH.read_text(encoding="utf-8"))
    data["feature_hash"] = "0" * 16
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data), encoding="utf-8")
    with pytest.raises(ModelFileError, match="retrain"):
        read_model(path)
    monkeypatch.setattr(listening_layer, "MODEL_PATH", path)
    load_model.cache_clear()
    try:
        with caplog.at_level(logging.WARNING, logger="bot.checks.listening_layer"):
            assert load_model() is None
        assert "trained on other features" in caplog.text
    finally:
        load_model.cache_clear()


def test_the_layer_changes_no_other_check(rules_alone, monkeypatch):
    reply = "Three calls and still nobody rang you back, after you paid extra for home service. I'm booking the visit now."
    with_rules = assess_reply(reply, customer_message=LAPTOP)
    monkeypatch.setattr(listening_layer, "MODEL_PATH", MODEL_PATH)
    load_model.cache_clear()
    with_layer = assess_reply(reply, customer_message=LAPTOP)
    assert {k: v for k, v in with_rules.items() if k != "active_listening"} == {
        k: v for k, v in with_layer.items() if k != "active_listening"}
