"""Storage for scored transcripts: users, practice sessions, turns, scorecards and reviews.

SQLAlchemy 1.4 in 2.0 style (declarative_base, select(), future=True), SQLite by default and
PostgreSQL through psycopg2; the schema is managed by Alembic (bot/db/migrations).

    from bot.db import make_engine, session_scope, record_turn

    engine = make_engine()          # COACH_DATABASE_URL, else <COACH_VAR_DIR>/coach.db
    with session_scope(engine) as session:
        record_turn(session=session, session_id=..., number=1, ...)

Every data-access function takes keyword-only arguments, starting with the `session`; use one
`session_scope(engine)` per request or action call. One module per idea: `models` (the tables),
`users` (accounts), `recording` (sessions, turns, scorecards as they happen), `transcripts`
(the session list, one transcript), `reviews` (trainers' overrides and comments), `agreement`
(machine against trainers), `rescoring`, and the training records (`roster`, `curricula`,
`progress`, `sign_offs`). This package re-exports the names most callers need.

`python -m bot.db upgrade` migrates the configured database to the newest schema. Importing
this package opens no connection.
"""
from bot.db.agreement import CheckAgreement, agreement_per_check, cohens_kappa
from bot.db.engine import DATABASE_URL_ENV, database_url, make_engine, session_scope, write_connection
from bot.db.errors import NotAllowed, NotFound
from bot.db.migrate import alembic_config, current_revision, head_revision, upgrade
from bot.db.models import (
    OUTCOMES,
    ROLES,
    Base,
    CheckOverride,
    Conversation,
    OutcomeOverride,
    PracticeSession,
    Scorecard,
    Turn,
    TurnComment,
    User,
)
from bot.db.recording import (
    add_scorecard,
    claim_conversation,
    conversation_owner,
    get_current_scorecard,
    get_session,
    latest_session,
    record_session_end,
    record_session_start,
    record_turn,
)
from bot.db.rescoring import rescore_sessions, scoring_state
from bot.db.reviews import add_comment, override_check, override_outcome
from bot.db.transcripts import (
    SessionPage,
    SessionRow,
    Transcript,
    get_transcript,
    list_session_owners,
    list_sessions,
)
from bot.db.users import (
    DuplicateEmail,
    authenticate,
    create_user,
    get_user,
    get_user_by_email,
    normalise_email,
    set_password,
    set_role,
)

__all__ = [
    "DATABASE_URL_ENV",
    "OUTCOMES",
    "ROLES",
    "Base",
    "CheckAgreement",
    "CheckOverride",
    "Conversation",
    "DuplicateEmail",
    "NotAllowed",
    "NotFound",
    "OutcomeOverride",
    "PracticeSession",
    "Scorecard",
    "SessionPage",
    "SessionRow",
    "Transcript",
    "Turn",
    "TurnComment",
    "User",
    "add_comment",
    "add_scorecard",
    "agreement_per_check",
    "alembic_config",
    "authenticate",
    "claim_conversation",
    "cohens_kappa",
    "conversation_owner",
    "create_user",
    "current_revision",
    "database_url",
    "get_current_scorecard",
    "get_session",
    "get_transcript",
    "get_user",
    "get_user_by_email",
    "head_revision",
    "latest_session",
    "list_session_owners",
    "list_sessions",
    "make_engine",
    "normalise_email",
    "override_check",
    "override_outcome",
    "record_session_end",
    "record_session_start",
    "record_turn",
    "rescore_sessions",
    "scoring_state",
    "session_scope",
    "write_connection",
    "set_password",
    "set_role",
    "upgrade",
]
