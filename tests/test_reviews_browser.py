"""Reviews that change outcomes (issue 15) in headless Chromium (Debian's package), against the
web app serving a seeded SQLite database: an overrule changes the score and the export, the
review queue empties after sign-off, a misspelled team is refused, a late pass is flagged, the
403 page leads home. Screenshots of the landing page and a transcript go to
$COACH_SCREENSHOT_DIR (or the test's temporary folder)."""
from __future__ import annotations

import csv
import io
import os
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
from sqlalchemy.engine import URL
from werkzeug.serving import make_server

from bot import db
from bot.db import assignments, curriculum_edits
from bot.launcher import free_port
from tests.review_fixtures import GOOD_REPLY, PASSWORD, T0, add_person, add_scored_session, good_checks, verdicts

WAIT = 30_000
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Iterator[Dict[str, Any]]:
    """The web app on a free port with trainees, a trainer, HR, a curriculum and scored sessions."""
    path = tmp_path_factory.mktemp("reviews-browser") / "coach.db"
    url = URL.create("sqlite", database=str(path)).render_as_string(hide_password=False)
    db.upgrade(url)
    from bot.web import create_app

    app = create_app({"DATABASE_URL": url, "SECRET_KEY": "browser-test", "RASA_URL": "http://127.0.0.1:9",
                      "HR_TODAY": "2026-12-01"})
    engine = app.extensions["db_engine"]
    # A quick hash for these five people only (scrypt takes a quarter of a second each on
    # purpose); signing in checks any werkzeug method, and the setting is put back at once.
    method = db.users.PASSWORD_HASH_METHOD
    db.users.PASSWORD_HASH_METHOD = "pbkdf2:sha256:1000"
    try:
        people = {
            "tina": add_person(engine, key="tina", name="Tina Trainee", team="North"),
            "lars": add_person(engine, key="lars", name="Lars Late", team="North"),
            "sam": add_person(engine, key="sam", name="Sam South", team="South"),
            "terry": add_person(engine, key="terry", role="trainer", name="Terry Trainer"),
            "hana": add_person(engine, key="hana", role="hr", name="Hana HR"),
        }
    finally:
        db.users.PASSWORD_HASH_METHOD = method
    with db.session_scope(engine) as s:
        curriculum = curriculum_edits.create_curriculum(
            session=s, name="Onboarding", scenario_ids=["laptop_at_home_service"], personas=["angry"],
            items=[curriculum_edits.ItemSpec(scenario="laptop_at_home_service", persona="angry", pass_mark="70",
                                             due_date="2026-11-25")])
        for team in ("North", "South"):
            assignments.assign_curriculum(session=s, curriculum_id=curriculum.id, team=team).created_at = (
                T0 - timedelta(days=1))
    # Tina's failed assessment of three replies: no restating of the problem, 54 points.
    near_miss = good_checks()
    near_miss["active_listening"] = {"found": False, "evidence": ["crashes every day"],
                                     "tip": "Say the problem back with its details."}
    add_scored_session(engine, "tina-failed", user_id=people["tina"], turns=[{"text": GOOD_REPLY, "checks": near_miss}] * 3)
    # Lars passed 3 days after the due date (three replies: 72 under rubric 3).
    add_scored_session(engine, "lars-late", user_id=people["lars"], started_at=T0 + timedelta(days=8),
                       turns=[{"text": GOOD_REPLY, "checks": good_checks()}] * 3)
    # Sam's coach session of four replies, one of them defensive: the transcript to look at.
    add_scored_session(engine, "sam-coach", user_id=people["sam"], mode="coach", started_at=T0 + timedelta(days=2),
                       outcome="churned", turns=[
                           {"text": "Hello, what is the problem?", "checks": verdicts(greeting=["Hello"],
                                                                                       probing_question=["what is the problem"])},
                           {"text": "That is not my fault, the courier handles deliveries.",
                            "checks": verdicts(defensive=["not my fault"])},
                           {"text": "I'm sorry Dana, I will call you by 5 pm today with the technician's time.",
                            "checks": verdicts(apology=["I'm sorry"], name_use=["Dana"],
                                               next_step=["I will call you by 5 pm today"])},
                           {"text": "Please reboot into the BIOS and reflash the firmware.",
                            "checks": verdicts(jargon=["BIOS", "reflash the firmware"])},
                       ])
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    shots = Path(os.environ.get("COACH_SCREENSHOT_DIR") or tmp_path_factory.mktemp("screens"))
    shots.mkdir(parents=True, exist_ok=True)
    yield {"base": f"http://127.0.0.1:{port}", "engine": engine, "people": people, "shots": shots}
    server.shutdown()
    engine.dispose()


def page_for(browser, site, who: str, *, viewport=DESKTOP):
    context = browser.new_context(viewport=viewport, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(WAIT)
    page.goto(site["base"] + "/signin")
    page.fill("#email", f"{who}@coach.test")
    page.fill("#password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_load_state()
    assert "/signin" not in page.url, page.content()[:500]
    return context, page


def download_text(page, selector) -> str:
    with page.expect_download() as info:
        page.click(selector)
    return Path(info.value.path()).read_text(encoding="utf-8")


def queue_sessions(page):
    return page.locator("#queue-table tbody tr").evaluate_all("rows => rows.map(r => r.dataset.session)")


def test_an_overrule_changes_the_score_and_export_and_the_queue_empties_after_sign_off(browser, site):
    context, page = page_for(browser, site, "terry")
    page.goto(site["base"] + "/trainer/")
    assert "tina-failed" in queue_sessions(page)
    row = page.locator('#queue-table tr[data-session="tina-failed"]')
    assert "Failed assessment" in row.inner_text()
    # The whole row is a link: clicking the score cell opens the transcript.
    row.locator("td").nth(3).click()
    page.wait_for_url("**/trainer/sessions/tina-failed")
    assert "54 / 100" in page.locator("#summary-score").inner_text()

    page.click("#ov-1 summary")
    page.select_option("#ov-1-check", "active_listening")
    page.check("#ov-1 input[name=found][value=yes]")
    page.fill("#ov-1-reason", "“crashes every day although you paid for at-home service” restates it.")
    page.click("#ov-1 button[type=submit]")
    page.wait_for_load_state()
    assert "The trainer-adjusted score is 72 / 100 (passed)" in page.locator(".review-saved").inner_text()
    assert "72 / 100" in page.locator("#adjusted-score").inner_text()
    assert "54 / 100" in page.locator("#machine-score").inner_text()
    overruled = page.locator('#criteria-table tr[data-criterion="active_listening"]')
    assert "Overruled by Terry Trainer" in overruled.inner_text() and "restates it" in overruled.inner_text()
    page.locator("#scorecard").screenshot(path=str(site["shots"] / "scorecard-adjusted-desktop.png"))
    exported = download_text(page, "a[href$='/export.json']")
    assert '"score": 72' in exported and '"machine_score": 54' in exported

    page.goto(site["base"] + "/trainer/")
    rows = list(csv.DictReader(io.StringIO(download_text(page, "a[href^='/trainer/sessions.csv']"))))
    mine = next(r for r in rows if r["session_id"] == "tina-failed")
    assert (mine["score"], mine["passed"], mine["machine_score"]) == ("72", "yes", "54")
    row = page.locator('#queue-table tr[data-session="tina-failed"]')
    assert "Pass awaiting sign-off" in row.inner_text() and "Failed assessment" not in row.inner_text()

    page.goto(site["base"] + "/hr/sign-offs")
    page.click("form:has(input[value='tina-failed']) button[type=submit]")
    page.wait_for_load_state()
    assert "score 72. The pass is certified" in page.content()
    page.goto(site["base"] + "/trainer/")
    assert "tina-failed" not in queue_sessions(page)
    context.close()


def test_a_misspelled_team_is_refused_with_the_field_marked_and_focused(browser, site):
    context, page = page_for(browser, site, "hana")
    page.goto(site["base"] + "/hr/curricula")
    field = page.locator("input[name=team]").first
    field.fill("Nrth")
    page.locator("form.assign-form button[type=submit]").first.click()
    page.wait_for_load_state()
    field = page.locator("input[name=team]").first
    assert field.get_attribute("aria-invalid") == "true"
    assert page.evaluate("document.activeElement.name") == "team"
    error_id = field.get_attribute("aria-describedby").split()[0]
    assert "Did you mean “North”?" in page.locator(f"#{error_id}").inner_text()
    assert "assigned to" not in (page.locator(".hr-flash").all_inner_texts() or [""])[0]
    context.close()


def test_a_late_pass_is_flagged_with_its_date(browser, site):
    context, page = page_for(browser, site, "hana")
    page.goto(site["base"] + "/hr/")
    late = page.locator("#late-table").inner_text()
    assert "Lars Late" in late and "2026-11-28" in late and "3" in late
    page.click("#late-table a:has-text('Lars Late')")
    page.wait_for_load_state()
    assert "Late: passed 2026-11-28, 3 days after the due date" in page.locator(".requirement").inner_text()
    context.close()


def test_a_trainee_opening_a_trainer_page_gets_a_403_page_with_a_way_home(browser, site):
    context, page = page_for(browser, site, "tina")
    response = page.goto(site["base"] + "/trainer/")
    assert response.status == 403
    assert page.locator("h1").inner_text() == "Not for your account"
    assert page.locator(".site-header").is_visible()
    page.click("#error-home")
    page.wait_for_load_state()
    assert page.url == site["base"] + "/"
    missing = page.goto(site["base"] + "/no/such/page")
    assert missing.status == 404 and page.locator("h1").inner_text() == "Page not found"
    context.close()


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["desktop", "phone"])
def test_screenshots_of_the_landing_page_and_a_transcript(browser, site, viewport):
    context, page = page_for(browser, site, "terry", viewport=viewport)
    name = "desktop" if viewport is DESKTOP else "phone"
    page.goto(site["base"] + "/trainer/?period_from=2026-11-01&period_to=2026-11-30")
    assert page.locator("#review-queue").is_visible() and page.locator(".weak-svg").is_visible()
    page.screenshot(path=str(site["shots"] / f"trainer-landing-{name}.png"), full_page=True)
    page.goto(site["base"] + "/trainer/sessions/sam-coach")
    flagged = page.locator(".flagged-list a").all_inner_texts()
    assert flagged == ["Reply 2", "Reply 4"]
    assert page.locator("mark.bad").first.evaluate("e => getComputedStyle(e).textDecorationLine") == "none"
    assert page.locator("#checks-details-1").get_attribute("open") is None, "the full table is folded away"
    page.screenshot(path=str(site["shots"] / f"transcript-{name}.png"), full_page=False)
    page.keyboard.press("n")
    page.wait_for_function("location.hash === '#turn-2'")
    page.keyboard.press("n")
    page.wait_for_function("location.hash === '#turn-4'")
    assert page.locator("#flag-status").inner_text() == "Flagged reply 2 of 2."
    page.screenshot(path=str(site["shots"] / f"transcript-{name}-flagged.png"), full_page=False)
    page.goto(site["base"] + "/trainer/sessions/sam-coach")
    page.screenshot(path=str(site["shots"] / f"transcript-{name}-full.png"), full_page=True)
    context.close()
