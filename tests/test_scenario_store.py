"""Scenarios in the database: shipped files as version 1, drafts, publishing, archiving, the
version a session played, the catalogue seeing new versions, export and import."""
from __future__ import annotations

import io

import pytest
import yaml

from bot import db, scenario_catalogue
from bot.db import scenario_store
from bot.errors import UnknownScenario
from bot.scenarios import SCENARIO_DIR, get_scenario, list_scenarios, resolve


def new_document(scenario_id: str = "gym_membership_cancel", title: str = "Gym membership charged after cancelling"):
    """A scenario a trainer could write: the laptop case's facts, no hand-written replies."""
    raw = yaml.safe_load((SCENARIO_DIR / "laptop_at_home_service.yml").read_text())
    for field in ("replies", "unanswerable", "reminders"):
        raw.pop(field)
    raw.update(id=scenario_id, title=title)
    return raw


@pytest.fixture(autouse=True)
def fresh_catalogue(monkeypatch):
    monkeypatch.setattr(scenario_catalogue, "REFRESH_SECONDS", 0.0)
    scenario_catalogue.forget()
    yield
    scenario_catalogue.forget()


def test_shipped_files_become_version_1_once(storage_engine):
    added = scenario_store.seed_shipped(storage_engine)
    shipped = sorted(p.stem for p in SCENARIO_DIR.glob("*.yml"))
    assert added == [f"{sid} v1" for sid in shipped]
    assert scenario_store.seed_shipped(storage_engine) == []
    with db.session_scope(storage_engine) as session:
        assert sorted(scenario_store.published_documents(session=session)) == shipped
        rows = scenario_store.overview(session=session)
    assert {(r.status, r.published_version, r.draft_version) for r in rows} == {("published", 1, None)}


def test_a_draft_is_played_only_when_pinned_and_published_versions_never_change(storage_engine):
    with db.session_scope(storage_engine, write=True) as session:
        scenario_store.create_scenario(session=session, document=new_document(), author_id=None)
    assert "gym_membership_cancel" not in {s.id for s in list_scenarios(storage_engine)}
    with pytest.raises(UnknownScenario):
        get_scenario("gym_membership_cancel", engine=storage_engine)
    draft, version = resolve("gym_membership_cancel@1", engine=storage_engine)
    assert version == 1 and draft.title == "Gym membership charged after cancelling"
    # Left-out lines were composed from the facts.
    assert any("laptop" in line for line in draft.unanswerable.angry)

    with db.session_scope(storage_engine, write=True) as session:
        scenario_store.publish(session=session, scenario_id="gym_membership_cancel")
        scenario_store.save_draft(session=session, scenario_id="gym_membership_cancel",
                                  document=new_document(title="Gym membership, second take"), author_id=None)
    scenario, version = resolve("gym_membership_cancel", engine=storage_engine)
    assert (scenario.title, version) == ("Gym membership charged after cancelling", 1)

    with db.session_scope(storage_engine, write=True) as session:
        published = scenario_store.publish(session=session, scenario_id="gym_membership_cancel")
    assert published.version == 2
    assert get_scenario("gym_membership_cancel", engine=storage_engine).title == "Gym membership, second take"
    assert get_scenario("gym_membership_cancel", 1, engine=storage_engine).title == "Gym membership charged after cancelling"


def test_archiving_hides_a_scenario_from_new_practice_and_keeps_its_versions(storage_engine):
    scenario_store.seed_shipped(storage_engine)
    with db.session_scope(storage_engine, write=True) as session:
        assert scenario_store.archive(session=session, scenario_id="restaurant_bad_visit") == 1
        assert "restaurant_bad_visit" in scenario_store.known_ids(session=session)
    assert "restaurant_bad_visit" not in {s.id for s in list_scenarios(storage_engine)}
    # The shipped file does not bring it back, and old sessions still find their version.
    with pytest.raises(UnknownScenario):
        get_scenario("restaurant_bad_visit", engine=storage_engine)
    assert get_scenario("restaurant_bad_visit", 1, engine=storage_engine).id == "restaurant_bad_visit"


def test_the_catalogue_sees_a_published_version_without_a_restart(storage_engine, monkeypatch):
    monkeypatch.setattr(scenario_catalogue, "REFRESH_SECONDS", 3600.0)
    scenario_store.seed_shipped(storage_engine)
    before = {s.id for s in list_scenarios(storage_engine)}
    with db.session_scope(storage_engine, write=True) as session:
        scenario_store.create_scenario(session=session, document=new_document(), author_id=None)
        scenario_store.publish(session=session, scenario_id="gym_membership_cancel")
    # Within the refresh interval the cached list stands; after it, one query finds the new one.
    assert {s.id for s in list_scenarios(storage_engine)} == before
    monkeypatch.setattr(scenario_catalogue, "REFRESH_SECONDS", 0.0)
    assert {s.id for s in list_scenarios(storage_engine)} == before | {"gym_membership_cancel"}


def test_an_invalid_draft_is_never_published(storage_engine):
    broken = new_document()
    broken["turn_limit"] = 99
    with db.session_scope(storage_engine, write=True) as session:
        scenario_store.create_scenario(session=session, document=broken, author_id=None)
        with pytest.raises(scenario_store.ScenarioConflict, match="turn_limit"):
            scenario_store.publish(session=session, scenario_id="gym_membership_cancel")


def test_a_session_records_the_version_it_played(storage_engine):
    scenario_store.seed_shipped(storage_engine)
    with db.session_scope(storage_engine, write=True) as session:
        db.record_session_start(session=session, session_id="s1", sender_id="x", scenario="laptop_at_home_service",
                                persona="angry", mode="coach", start_mood=-3, opening="Hello.")
        scenario_store.record_played_version(session=session, session_id="s1", version=1)
    with db.session_scope(storage_engine) as session:
        state = db.scoring_state(db.get_transcript(session=session, session_id="s1"))
    assert state["scenario_version"] == 1


def test_export_and_import_round_trip(storage_engine, tmp_path):
    scenario_store.seed_shipped(storage_engine)
    with db.session_scope(storage_engine, write=True) as session:
        scenario_store.create_scenario(session=session, document=new_document(), author_id=None)
        scenario_store.publish(session=session, scenario_id="gym_membership_cancel")
    from bot import scenario_files

    out = io.StringIO()
    assert scenario_files.export(storage_engine, tmp_path, out) == 0
    exported = tmp_path / "gym_membership_cancel.yml"
    assert yaml.safe_load(exported.read_text()) == new_document()
    assert "version 1 (published)" in exported.read_text().splitlines()[0]

    # Unchanged files import as nothing new; an edited one becomes the next version.
    errors = io.StringIO()
    assert scenario_files.import_files(storage_engine, [tmp_path], out, errors) == 0, errors.getvalue()
    edited = new_document(title="Gym membership, reviewed in git")
    exported.write_text(yaml.safe_dump(edited))
    out = io.StringIO()
    assert scenario_files.import_files(storage_engine, [exported], out, errors) == 0
    assert "version 2" in out.getvalue()
    assert get_scenario("gym_membership_cancel", engine=storage_engine).title == "Gym membership, reviewed in git"

    # One bad file imports nothing, and says which field is wrong.
    edited["turn_limit"] = 1
    exported.write_text(yaml.safe_dump(edited))
    errors = io.StringIO()
    assert scenario_files.import_files(storage_engine, [exported], io.StringIO(), errors) == 1
    assert "field 'turn_limit'" in errors.getvalue() and "Nothing imported" in errors.getvalue()
    with db.session_scope(storage_engine) as session:
        assert len(scenario_store.versions_of(session=session, scenario_id="gym_membership_cancel")) == 2


def test_the_command_line_exports_and_imports(tmp_path, monkeypatch, capsys):
    from sqlalchemy.engine import URL

    from bot import __main__ as cli

    url = URL.create("sqlite", database=str(tmp_path / "coach.db")).render_as_string(hide_password=False)
    monkeypatch.setenv(db.DATABASE_URL_ENV, url)
    assert cli.main(["scenarios", "export", "--out", str(tmp_path / "out")]) == 1  # not migrated yet
    assert "bot.db upgrade" in capsys.readouterr().err
    db.upgrade(url)
    assert cli.main(["scenarios", "export", "--out", str(tmp_path / "out")]) == 0
    assert len(list((tmp_path / "out").glob("*.yml"))) == len(list(SCENARIO_DIR.glob("*.yml")))
    (tmp_path / "out" / "gym_membership_cancel.yml").write_text(yaml.safe_dump(new_document()))
    assert cli.main(["scenarios", "import", str(tmp_path / "out")]) == 0
    assert "gym_membership_cancel            version 1" in capsys.readouterr().out


def test_a_scenario_author_is_deactivated_not_erased(storage_engine):
    from bot.db.data_requests import CannotErase, erase_user

    with db.session_scope(storage_engine, write=True) as session:
        author = db.create_user(session=session, email="writer@coach.test", name="Wendy Writer",
                                password="a long enough pass phrase", role="trainer")
        scenario_store.create_scenario(session=session, document=new_document(), author_id=author.id)
    with db.session_scope(storage_engine, write=True) as session:
        with pytest.raises(CannotErase, match="scenarios"):
            erase_user(session=session, email="writer@coach.test")


def test_a_discarded_draft_goes_unless_a_session_played_it(storage_engine):
    scenario_store.seed_shipped(storage_engine)
    laptop = get_scenario("laptop_at_home_service", 1, engine=storage_engine).dict()
    with db.session_scope(storage_engine, write=True) as session:
        scenario_store.save_draft(session=session, scenario_id="laptop_at_home_service",
                                  document={**laptop, "title": "Second take"}, author_id=None)
        assert scenario_store.discard_draft(session=session, scenario_id="laptop_at_home_service") == (2, 0)
        assert [v.version for v in scenario_store.versions_of(session=session, scenario_id="laptop_at_home_service")] == [1]
        # A draft tried in the practice chat stays for that session's transcript, as discarded.
        scenario_store.save_draft(session=session, scenario_id="laptop_at_home_service",
                                  document={**laptop, "title": "Third take"}, author_id=None)
        db.record_session_start(session=session, session_id="tried", sender_id="x", scenario="laptop_at_home_service",
                                persona="angry", mode="coach", start_mood=-3, opening="Hello.")
        scenario_store.record_played_version(session=session, session_id="tried", version=2)
        assert scenario_store.discard_draft(session=session, scenario_id="laptop_at_home_service") == (2, 1)
        statuses = {v.version: v.status for v in scenario_store.versions_of(session=session, scenario_id="laptop_at_home_service")}
        assert statuses == {2: "discarded", 1: "published"}
        assert scenario_store.draft_of(session=session, scenario_id="laptop_at_home_service") is None
        with pytest.raises(scenario_store.ScenarioConflict, match="no draft"):
            scenario_store.discard_draft(session=session, scenario_id="laptop_at_home_service")
        # The next draft is numbered above the discarded one; version 1 is still what trainees play.
        assert scenario_store.save_draft(session=session, scenario_id="laptop_at_home_service",
                                         document=laptop, author_id=None).version == 3
    assert get_scenario("laptop_at_home_service", engine=storage_engine).title == laptop["title"]
    assert get_scenario("laptop_at_home_service", 2, engine=storage_engine).title == "Third take"


def test_discarding_the_only_draft_of_a_new_scenario_frees_its_id(storage_engine):
    with db.session_scope(storage_engine, write=True) as session:
        scenario_store.create_scenario(session=session, document=new_document(), author_id=None)
        assert scenario_store.discard_draft(session=session, scenario_id="gym_membership_cancel") == (1, 0)
        assert "gym_membership_cancel" not in scenario_store.known_ids(session=session)
        scenario_store.create_scenario(session=session, document=new_document(), author_id=None)


def test_an_archived_scenario_can_be_restored(storage_engine):
    scenario_store.seed_shipped(storage_engine)
    with db.session_scope(storage_engine, write=True) as session:
        with pytest.raises(scenario_store.ScenarioConflict, match="not archived"):
            scenario_store.restore(session=session, scenario_id="restaurant_bad_visit")
        scenario_store.archive(session=session, scenario_id="restaurant_bad_visit")
    assert "restaurant_bad_visit" not in {s.id for s in list_scenarios(storage_engine)}
    with db.session_scope(storage_engine, write=True) as session:
        assert scenario_store.restore(session=session, scenario_id="restaurant_bad_visit").version == 1
    assert get_scenario("restaurant_bad_visit", engine=storage_engine).id == "restaurant_bad_visit"
