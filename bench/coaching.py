"""Does the role-play coach? Scripted trainees through every scenario and persona, over REST.

Starts the action server and Rasa on free ports with a database of their own (as the tests'
`assistant` fixture does), creates one trainee per scenario and persona in it, and claims each
conversation for that trainee the way the web app does (`bot.db.claim_conversation` before Rasa
hears of it), so the customer knows who it is talking to. Each trainee plays three sessions of
their scenario in coach mode: a skilled one, a mixed one with a single defensive slip, and a
defensive one; a second trainee plays the skilled script three times. Reports, in
bench/results/coaching.md:

- focus examples that fail their own check (the feedback's `focus.example`, judged by the real
  checks with the scenario's facts; "n/a" while the payload has no `focus`),
- tips on met checks (a met check, or an absent defensive/jargon/broken promise, with a tip),
- the share of customer lines in a trainee's 2nd and 3rd session heard in an earlier one,
- conversations ended by a single slip, and scorecards arriving with the plan.

    python -m bench.coaching
"""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
import tempfile
import time
import uuid
from collections import Counter
from contextlib import ExitStack
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import yaml

from bot import db
from bot.checks import assess_reply
from bot.launcher import DEFAULT_MODEL, free_port, prepare_database, start_all
from bot.rasa_client import END_COMMAND, RasaRestClient, start_command
from bot.scenarios import PERSONAS, Scenario, list_scenarios
from bot.settings import PROJECT_ROOT, load_settings

RESULTS = PROJECT_ROOT / "bench" / "results" / "coaching.md"
# The skilled trainee's restatement and plan per scenario, shared with tests/test_role_play.py.
SCRIPTS = yaml.safe_load((PROJECT_ROOT / "tests" / "data" / "role_play_scripts.yml").read_text(encoding="utf-8"))
# Checks where found is bad: met when not found.
INVERTED = frozenset({"defensive", "jargon", "broken_promise"})
SLIP = "That wasn't my fault."
# A sentence this long is a line of its own, not an "Okay." said by everyone.
SENTENCE_MIN_WORDS = 4
TARGET_REPEAT_SHARE = 0.10


def trainee_lines(kind: str, scenario: Scenario) -> List[str]:
    first = scenario.customer.first_name
    script = SCRIPTS["skilled"][scenario.id]
    if kind == "skilled":
        return [
            f"Hi {first}, thank you for getting in touch, and I'm so sorry about all of this.",
            script["restate"],
            script["plan"],
            f"Thank you for your patience, {first}. Is there anything else I can help you with?",
        ]
    if kind == "mixed":
        return [
            f"Hello {first}, thanks for getting in touch.",
            script["restate"],
            SLIP,
            f"I'm sorry, {first}, that was unfair of me, and I'm sorry for all the trouble this has caused you.",
            script["plan"],
            f"Thank you for bearing with me, {first}.",
        ]
    return list(SCRIPTS["defensive"])


@dataclasses.dataclass
class Session:
    trainee: str
    scenario: str
    persona: str
    kind: str
    customer_lines: List[str] = dataclasses.field(default_factory=list)
    outcome: Optional[str] = None
    slip_ended: bool = False
    card_with_plan: bool = False
    card_with_close: bool = False
    feedback: List[Tuple[str, Dict[str, Any]]] = dataclasses.field(default_factory=list)  # (customer text before, payload)


def play(client: RasaRestClient, scenario: Scenario, persona: str, kind: str, trainee: str) -> Session:
    session = Session(trainee=trainee, scenario=scenario.id, persona=persona, kind=kind)
    opening = client.send(start_command(scenario.id, persona, "coach"))
    if not client.payloads(opening, "session_started"):
        raise RuntimeError(f"{scenario.id}/{persona}: the session did not start: {opening}")
    session.customer_lines.extend(client.texts(opening))
    defensive_replies = 0
    for line in trainee_lines(kind, scenario):
        before = session.customer_lines[-1]
        answer = client.send(line)
        session.customer_lines.extend(client.texts(answer))
        feedback = client.payloads(answer, "feedback")
        if feedback:
            session.feedback.append((before, feedback[0]))
            defensive_replies += bool(feedback[0]["checks"]["defensive"]["found"])
        cards = client.payloads(answer, "scorecard")
        if cards:
            session.outcome = cards[0]["outcome"]
            checks = feedback[0]["checks"] if feedback else {}
            plan = bool(checks.get("next_step", {}).get("found"))
            session.card_with_plan = session.outcome == "resolved" and plan
            session.card_with_close = session.outcome == "resolved" and not plan
            session.slip_ended = (
                session.outcome in ("churned", "escalated") and defensive_replies == 1
                and bool(checks.get("defensive", {}).get("found"))
            )
            return session
    (card,) = client.payloads(client.send(END_COMMAND), "scorecard")
    session.outcome = card["outcome"]
    return session


def met(check: str, verdict: Dict[str, Any]) -> bool:
    return not verdict["found"] if check in INVERTED else bool(verdict["found"])


def judge_example(scenario: Scenario, customer_text: str, check: str, example: str) -> bool:
    """Does the example pass the check it illustrates, without being defensive?"""
    verdicts = assess_reply(
        example, customer_message=customer_text, customer_name=scenario.customer.name,
        facts=scenario.fact_texts(), jargon_terms=scenario.jargon,
    )
    if verdicts["defensive"]["found"]:
        return False
    if check not in verdicts:
        return True  # a conversation-level check (broken_promise): not judged on one sentence
    return met(check, verdicts[check])


def sentences(text: str) -> List[str]:
    parts = re.split(r"(?<=[.!?])\s+", text.strip())
    return [p.lower() for p in parts if len(p.split()) >= SENTENCE_MIN_WORDS]


def repeats(sessions: List[Session]) -> Tuple[int, int, int]:
    """Over one trainee's sessions in order: lines of the 2nd and later sessions, those heard word
    for word in an earlier one, and those heard word for word or with a sentence of
    SENTENCE_MIN_WORDS or more heard in an earlier one (the same line with another opener)."""
    heard_lines, heard_sentences = set(), set()
    total = exact = sentence = 0
    for index, session in enumerate(sessions):
        if index:
            for line in session.customer_lines:
                total += 1
                exact += line in heard_lines
                sentence += line in heard_lines or any(s in heard_sentences for s in sentences(line))
        heard_lines.update(session.customer_lines)
        for line in session.customer_lines:
            heard_sentences.update(sentences(line))
    return total, exact, sentence


def make_trainee(engine, label: str) -> int:
    with db.session_scope(engine) as dbs:
        user = db.create_user(
            session=dbs, email=f"{label}-{uuid.uuid4().hex[:8]}@bench.local", name=label,
            password=uuid.uuid4().hex, role="trainee",
        )
        return user.id


def claimed_client(engine, rasa_url: str, user_id: int, var_dir: Path) -> RasaRestClient:
    sender = f"u{user_id}-{uuid.uuid4().hex}"  # as bot.web.api.new_conversation_id
    with db.session_scope(engine) as dbs:
        db.claim_conversation(session=dbs, sender_id=sender, user_id=user_id)
    return RasaRestClient(rasa_url, sender=sender, var_dir=var_dir)


# Rows of sessions: the scripts each trainee plays in order, and whether the conversations are
# claimed for the trainee. The unclaimed row is the control: raw REST senders, whom the customer
# cannot recognise, so only variety within a session applies.
ROWS = (
    ("three scripts", ("skilled", "mixed", "defensive"), True),
    ("skilled three times", ("skilled",) * 3, True),
    ("skilled three times, not claimed (control)", ("skilled",) * 3, False),
)


def run(rasa_url: str, database_url: str, scenarios: List[Scenario], var_dir: Path) -> Dict[str, List[List[Session]]]:
    """Per row (ROWS), each trainee's sessions in order."""
    engine = db.make_engine(database_url)
    rows: Dict[str, List[List[Session]]] = {row: [] for row, _, _ in ROWS}
    for scenario in scenarios:
        for persona in PERSONAS:
            for row, kinds, claimed in ROWS:
                label = f"{scenario.id}-{persona}-{re.sub(r'[^a-z]+', '-', row).strip('-')}"
                user_id = make_trainee(engine, label)

                def client() -> RasaRestClient:
                    if claimed:
                        return claimed_client(engine, rasa_url, user_id, var_dir)
                    return RasaRestClient(rasa_url, sender=f"bench-{uuid.uuid4().hex}", var_dir=var_dir)

                sessions = [play(client(), scenario, persona, kind, label) for kind in kinds]
                rows[row].append(sessions)
                print(f"{label}: " + ", ".join(f"{s.kind} {s.outcome}" for s in sessions), flush=True)
    return rows


def report(rows: Dict[str, List[List[Session]]], scenarios: Dict[str, Scenario], seconds: float) -> str:
    claimed_rows = {row for row, _, claimed in ROWS if claimed}
    every = [s for row, trainees in rows.items() if row in claimed_rows for sessions in trainees for s in sessions]
    payloads = [(s, before, fb) for s in every for before, fb in s.feedback]
    with_focus = [(s, before, fb) for s, before, fb in payloads if "focus" in fb]
    examples = [
        (s, before, fb["focus"]) for s, before, fb in with_focus
        if fb["focus"] and fb["focus"].get("example")
    ]
    failing = [
        (s.scenario, f["check"], f["example"]) for s, before, f in examples
        if not judge_example(scenarios[s.scenario], before, f["check"], f["example"])
    ]
    met_checks = tips_on_met = 0
    tip_cases: Counter = Counter()
    for _, _, fb in payloads:
        for check, verdict in fb["checks"].items():
            if met(check, verdict):
                met_checks += 1
                if verdict.get("tip"):
                    tips_on_met += 1
                    tip_cases[check] += 1
    repeat_rows = []
    for row, trainees in rows.items():
        total = exact = sentence = 0
        for sessions in trainees:
            t, e, s = repeats(sessions)
            total, exact, sentence = total + t, exact + e, sentence + s
        repeat_rows.append((row, total, exact, sentence))
    mixed = [s for s in every if s.kind == "mixed"]
    slip_ended = [s for s in every if s.slip_ended]
    resolved = [s for s in every if s.outcome == "resolved"]
    with_plan = [s for s in resolved if s.card_with_plan]
    with_close = [s for s in resolved if s.card_with_close]

    def share(part: int, whole: int) -> str:
        return f"{part / whole:.1%} ({part} of {whole})" if whole else "n/a (none)"

    if not payloads:
        focus_value = "n/a (no feedback)"
    elif not with_focus:
        focus_value = "n/a (no focus in payload)"
    else:
        focus_value = f"{len(failing)} of {len(examples)} examples"
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        "# Coaching benchmark: scripted trainees through every scenario and persona",
        "",
        f"Run {stamp} in {seconds:.0f} s: {len(scenarios)} scenarios x {len(PERSONAS)} personas, coach mode, over "
        "Rasa's REST channel with the real action server. Per scenario and persona one trainee plays a skilled, a "
        "mixed (one slip: \"That wasn't my fault.\" after a greeting and a restatement) and a defensive session, and "
        "a second trainee plays the skilled script three times; every conversation is claimed for its trainee as "
        f"the web app does. {len(every)} conversations, {len(payloads)} feedback payloads. As a control, the "
        "skilled script is also played three times under raw REST senders nobody claimed (only the repeat "
        "measure reads them: the customer cannot know it is the same person).",
        "",
        "| measure | target | result |",
        "|---|---|---|",
        f"| focus examples that fail their own check | 0 | {focus_value} |",
        f"| tips on met checks | 0 | {tips_on_met} of {met_checks} met checks"
        + (f" ({', '.join(f'{c} {n}' for c, n in tip_cases.most_common())})" if tip_cases else "") + " |",
        *(
            f"| customer lines of a trainee's 2nd/3rd session heard before, {row}: the line or one of its "
            f"sentences of {SENTENCE_MIN_WORDS}+ words (the line word for word) | {'<= ' + format(TARGET_REPEAT_SHARE, '.0%') if row in claimed_rows else '(none)'} "
            f"| {share(sentence, total)} ({share(exact, total)}) |"
            for row, total, exact, sentence in repeat_rows
        ),
        f"| conversations ended by a single slip | 0 | {len(slip_ended)} of {len(mixed)} mixed conversations"
        + (f" ({', '.join(f'{s.scenario}/{s.persona}' for s in slip_ended)})" if slip_ended else "") + " |",
        f"| scorecards arriving with the plan | 0 | {len(with_plan)} of {len(resolved)} resolved conversations "
        f"({len(with_close)} came with the trainee's closing reply, "
        f"{len(resolved) - len(with_plan) - len(with_close)} with /end_session) |",
        "",
        "Outcomes per script:",
        "",
        "| script | conversations | resolved | churned | escalated | abandoned |",
        "|---|---|---|---|---|---|",
    ]
    for kind in ("skilled", "mixed", "defensive"):
        outcomes = Counter(s.outcome for s in every if s.kind == kind)
        lines.append(
            f"| {kind} | {sum(outcomes.values())} | {outcomes['resolved']} | {outcomes['churned']} | "
            f"{outcomes['escalated']} | {outcomes['abandoned']} |"
        )
    if failing:
        lines += ["", "Focus examples that failed their check:", ""]
        lines += [f"- {scenario}, {check}: {example!r}" for scenario, check, example in failing[:20]]
    lines.append("")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--scenario", action="append", help="only these scenario ids (default: all)")
    args = parser.parse_args(argv)
    if not DEFAULT_MODEL.exists():
        print(f"No trained model at {DEFAULT_MODEL}: run `make train` first.", file=sys.stderr)
        return 2
    scenarios = [s for s in list_scenarios() if not args.scenario or s.id in args.scenario]
    if not scenarios:
        print(f"No such scenario: {', '.join(args.scenario)}", file=sys.stderr)
        return 2
    began = time.monotonic()
    with tempfile.TemporaryDirectory() as var_dir, ExitStack() as stack:
        settings = dataclasses.replace(
            load_settings(), host="127.0.0.1", rasa_port=free_port(), actions_port=free_port(),
            web_port=free_port(), var_dir=Path(var_dir),
        )
        start_all(stack, settings=settings, model=DEFAULT_MODEL, with_web=False)
        database_url = prepare_database(settings)
        rows = run(settings.rasa_url, database_url, scenarios, settings.var_dir)
    text = report(rows, {s.id: s for s in scenarios}, time.monotonic() - began)
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(text, encoding="utf-8")
    print(text)
    print(f"Written to {RESULTS.relative_to(PROJECT_ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
