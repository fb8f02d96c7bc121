"""Conversation ownership: the web app claims a sender id, the recorded session gets its trainee."""
from __future__ import annotations

import pytest

from bot import db


def test_a_claimed_conversation_files_its_session_under_the_trainee(storage_engine):
    with db.session_scope(storage_engine) as session:
        ana = db.create_user(session=session, email="ana@example.com", name="Ana", password="pw")
        ben = db.create_user(session=session, email="ben@example.com", name="Ben", password="pw")
    with db.session_scope(storage_engine) as session:
        db.claim_conversation(session=session, sender_id=f"u{ana.id}-abc", user_id=ana.id)
        # Claiming again for the same trainee is a no-op (a retried request).
        db.claim_conversation(session=session, sender_id=f"u{ana.id}-abc", user_id=ana.id)
        with pytest.raises(db.NotAllowed):
            db.claim_conversation(session=session, sender_id=f"u{ana.id}-abc", user_id=ben.id)
    with db.session_scope(storage_engine) as session:
        assert db.conversation_owner(session=session, sender_id=f"u{ana.id}-abc") == ana.id
        assert db.conversation_owner(session=session, sender_id="api-client") is None
        db.record_session_start(
            session=session, session_id="s1", sender_id=f"u{ana.id}-abc", scenario="laptop_at_home_service",
            persona="angry", mode="coach",
        )
        db.record_session_start(
            session=session, session_id="s2", sender_id="api-client", scenario="laptop_at_home_service",
            persona="angry", mode="coach",
        )
    with db.session_scope(storage_engine) as session:
        assert db.get_session(session=session, session_id="s1").user_id == ana.id
        assert db.get_session(session=session, session_id="s2").user_id is None


def test_claiming_for_an_unknown_user_fails(storage_engine):
    with db.session_scope(storage_engine) as session:
        with pytest.raises(db.NotFound):
            db.claim_conversation(session=session, sender_id="u999-x", user_id=999)


def test_a_turn_whose_answer_never_reached_rasa_is_replaced_by_the_real_one(storage_engine):
    checks = {"apology": {"found": True, "evidence": ["sorry"], "tip": None}}
    with db.session_scope(storage_engine) as session:
        db.record_session_start(
            session=session, session_id="s3", sender_id="x", scenario="laptop_at_home_service",
            persona="angry", mode="coach", start_mood=20,
        )
        db.record_turn(session=session, session_id="s3", number=1, trainee_text="Sorry.", customer_text="Hm.",
                       checks=checks, checks_version="1", mood=30)
        # The action server died before Rasa got this answer: Rasa numbers the next reply 2 again.
        db.record_turn(session=session, session_id="s3", number=2, trainee_text="Lost reply", customer_text="Lost answer",
                       checks=checks, checks_version="1", mood=10)
        db.record_turn(session=session, session_id="s3", number=2, trainee_text="Real reply", customer_text="Real answer",
                       checks=checks, checks_version="1", mood=40)
        # A retried call with the same words changes nothing.
        db.record_turn(session=session, session_id="s3", number=2, trainee_text="Real reply", customer_text="Real answer",
                       checks=checks, checks_version="1", mood=40)
    with db.session_scope(storage_engine) as session:
        transcript = db.get_transcript(session=session, session_id="s3")
        assert [(t.number, t.trainee_text) for t in transcript.turns] == [(1, "Sorry."), (2, "Real reply")]
        assert transcript.session.mood_curve == [20, 30, 40]
