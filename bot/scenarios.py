"""Scenario files: loading, validation and look-up.

One YAML file per scenario under `bot/resources/scenarios/`, named after its id. They are
validated when loaded so that a broken file fails with its name, the field and the reason,
never halfway through a trainee's conversation.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Any, Dict, List, Literal, Optional, Set, Tuple

import yaml
from pydantic import BaseModel, Extra, ValidationError, conlist, constr, validator

from bot.errors import ScenarioFileError, UnknownScenario
from bot.settings import RESOURCES

SCENARIO_DIR = RESOURCES / "scenarios"
PERSONAS = ("angry", "dispassionate")
SITUATIONS = (
    "after_apology",
    "after_restatement",
    "after_wrong_restatement",
    "after_next_step_without_time",
    "after_vague_promise",
    "after_plan_doubted",
    "after_blame",
    "after_repeat",
    "after_jargon",
    "neutral",
    "resolved",
    "leaving",
    "escalating",
)
# Enough variants that a customer never has to repeat a line within one conversation of
# normal length: each situation recurs only a few times before the conversation ends.
MIN_VARIANTS = 3

Text = constr(strip_whitespace=True, min_length=1)


class _Strict(BaseModel):
    class Config:
        extra = Extra.forbid
        allow_mutation = False


class PersonaLines(_Strict):
    angry: conlist(Text, min_items=MIN_VARIANTS)
    dispassionate: conlist(Text, min_items=MIN_VARIANTS)

    def for_persona(self, persona: str) -> List[str]:
        return list(getattr(self, persona))


class OpeningLines(_Strict):
    angry: conlist(Text, min_items=1)
    dispassionate: conlist(Text, min_items=1)

    def for_persona(self, persona: str) -> List[str]:
        return list(getattr(self, persona))


class PersonaAnswer(_Strict):
    angry: Text
    dispassionate: Text


class Customer(_Strict):
    name: Text

    @property
    def first_name(self) -> str:
        return self.name.split()[0]


class Facts(_Strict):
    what_happened: Text
    already_tried: conlist(Text, min_items=1)
    wants: Text
    keywords: conlist(Text, min_items=3)


class Detail(_Strict):
    topic: Text
    keywords: conlist(Text, min_items=1)
    answer: PersonaAnswer


class Replies(_Strict):
    after_apology: PersonaLines
    after_restatement: PersonaLines
    after_wrong_restatement: PersonaLines
    after_next_step_without_time: PersonaLines
    after_vague_promise: PersonaLines
    after_plan_doubted: PersonaLines
    after_blame: PersonaLines
    after_repeat: PersonaLines
    after_jargon: PersonaLines
    neutral: PersonaLines
    resolved: PersonaLines
    leaving: PersonaLines
    escalating: PersonaLines


class ModelReplies(_Strict):
    """One model reply per stage of the call (bot/coaching/ shows them when no example can be
    built from the conversation); scenarios --check runs the checks on each."""

    greeting: Text
    listening: Text
    apology: Text
    plan: Text
    closing: Text


class Scenario(_Strict):
    id: constr(regex=r"^[a-z][a-z0-9_]*$")
    title: Text
    channel: Literal["phone", "chat", "email"]
    customer: Customer
    product: Text
    turn_limit: int
    facts: Facts
    # What the agent can offer, as a verb phrase that follows "I'll": "remove the add-on today
    # and refund the 28 dollars by Friday". Examples of a next step are built from it.
    remedy: Text
    model_replies: ModelReplies
    details: List[Detail] = []
    jargon: List[Text] = []
    opening: OpeningLines
    replies: Replies
    # Answers to a question the facts cannot answer, in character and about this case.
    unanswerable: PersonaLines
    # Facts the customer brings back when pushing for a solution (bot/customer_voice.py).
    reminders: PersonaLines

    @validator("remedy")
    def _remedy_follows_ill(cls, value: str) -> str:
        if not value[0].islower() or value[-1] in ".!?":
            raise ValueError("must be a verb phrase that follows \"I'll\": lower case first, no full stop")
        return value

    @validator("turn_limit")
    def _turn_limit_in_range(cls, value: int) -> int:
        if not 3 <= value <= 40:
            raise ValueError("must be between 3 and 40 trainee replies")
        return value

    def lines(self, situation: str, persona: str) -> List[str]:
        return getattr(self.replies, situation).for_persona(persona)

    def fact_texts(self) -> List[str]:
        """Everything a restatement may draw its details from: the product, what went wrong and
        what the customer already tried. What they want is left out: promising the remedy
        ('a full refund of the 142 dollars today') restates nothing."""
        return [self.product, self.facts.what_happened, *self.facts.already_tried, *self.facts.keywords]


# One problem: the field's dotted path ("replies.after_blame.angry") and what is wrong with it.
Problem = Tuple[str, str]


def _pydantic_problems(error: ValidationError) -> List[Problem]:
    return [
        (".".join(str(p) for p in item["loc"] if p != "__root__") or "(top level)", item["msg"])
        for item in error.errors()
    ]


def _describe(problems: List[Problem]) -> str:
    return "; ".join(f"field '{field}': {message}" for field, message in problems)


def parse_document(raw: Any, *, expected_id: Optional[str] = None) -> Tuple[Optional[Scenario], List[Problem]]:
    """A scenario document (a file's mapping, or a version's stored document) as a Scenario,
    and every problem found; the Scenario is None when the problems leave nothing to use.

    Lines a document leaves out (replies of a situation, unanswerable, reminders) are composed
    from the customer model's phrasing and the facts (bot/scenario_composer.py) before it is
    judged, so a composed line passes the same rules as a written one.
    """
    if not isinstance(raw, dict):
        return None, [("(top level)", f"expected a mapping of fields, got {type(raw).__name__}")]
    from bot.scenario_composer import COMPOSED_FIELDS, fill_values, with_composed_lines

    try:
        scenario = Scenario.parse_obj(with_composed_lines(raw))
    except ValidationError as exc:
        problems = _pydantic_problems(exc)
        if fill_values(raw) is None:
            # Lines left out are composed once the facts are complete: only the facts' problems count.
            waiting = [p for p in problems if p[0].split(".")[0] in COMPOSED_FIELDS and p[1] == "field required"]
            problems = [p for p in problems if p not in waiting] or problems
        return None, problems
    problems: List[Problem] = []
    if expected_id is not None and scenario.id != expected_id:
        problems.append(("id", f"'{scenario.id}' must match the file name '{expected_id}'"))
    problems.extend(_repeated_lines(scenario))
    problems.extend(_generic_lines(scenario))
    return (None if problems else scenario), problems


def scenario_from_document(raw: Any, *, name: str, expected_id: Optional[str] = None) -> Scenario:
    """parse_document, raising ScenarioFileError ("<name>: field '...': ...") on any problem."""
    scenario, problems = parse_document(raw, expected_id=expected_id)
    if problems or scenario is None:
        raise ScenarioFileError(f"{name}: {_describe(problems)}")
    return scenario


# libyaml's loader when PyYAML was built with it: the same safe subset, parsed in C, which
# saves about 0.4 s of CPU when `python -m bot assess` starts up (2.5 s before).
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_scenario_file(path: Path) -> Scenario:
    """Parse and validate one scenario file; errors name the file, the field and the problem."""
    try:
        raw = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)
    except yaml.YAMLError as exc:
        raise ScenarioFileError(f"{path.name}: not valid YAML: {exc}") from None
    except OSError as exc:
        raise ScenarioFileError(f"{path.name}: cannot be read: {exc.strerror}") from None
    return scenario_from_document(raw, name=path.name, expected_id=path.stem)


def _case_words(scenario: Scenario) -> Set[str]:
    """Content words of the case (product, what happened, what was tried, keywords)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    text = " ".join(scenario.fact_texts())
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP_WORDS and len(w) > 2}


def _generic_lines(scenario: Scenario) -> List[Problem]:
    # "No idea." could be said in any scenario; a line that names nothing of the case is generic.
    case = _case_words(scenario)
    problems = []
    for field in ("unanswerable", "reminders"):
        for persona in PERSONAS:
            for line in getattr(scenario, field).for_persona(persona):
                if not case & set(re.findall(r"[a-z0-9]+", line.lower())):
                    problems.append((
                        f"{field}.{persona}",
                        f"line names nothing of the case (no word of the product, facts or keywords): {line!r}",
                    ))
    return problems


def _repeated_lines(scenario: Scenario) -> List[Problem]:
    # A repeated line in the file would let the customer say the same thing twice.
    seen: Dict[str, str] = {}
    problems: List[Problem] = []
    for situation in SITUATIONS:
        for persona in PERSONAS:
            for line in scenario.lines(situation, persona):
                _remember(seen, problems, line, f"replies.{situation}.{persona}")
    for field in ("unanswerable", "reminders"):
        for persona in PERSONAS:
            for line in getattr(scenario, field).for_persona(persona):
                _remember(seen, problems, line, f"{field}.{persona}")
    return problems


def _remember(seen: Dict[str, str], problems: List[Problem], line: str, where: str) -> None:
    if line in seen and seen[line] != where:
        problems.append((where, f"line also used in '{seen[line]}': {line!r}"))
    seen[line] = where


def all_problems(raw: Any, *, expected_id: Optional[str] = None) -> List[Problem]:
    """What `python -m bot scenarios --check` finds in one document: the rules above, then the
    model replies and remedy run through the reply checks (bot/coaching/examples.py)."""
    # Imported here: the examples judge needs the checks and spaCy, which loading a file does not.
    from bot.coaching.examples import scenario_problem_fields

    scenario, problems = parse_document(raw, expected_id=expected_id)
    if scenario is None:
        return problems
    return scenario_problem_fields(scenario)


def load_all(directory: Path = SCENARIO_DIR) -> Dict[str, Scenario]:
    """Every scenario in `directory`, keyed by id; the first broken file raises."""
    scenarios = {}
    for path in sorted(directory.glob("*.yml")):
        scenario = load_scenario_file(path)
        scenarios[scenario.id] = scenario
    return scenarios


def check_all(directory: Path = SCENARIO_DIR) -> List[str]:
    """Validate every file and return one message per problem (empty when all are fine)."""
    problems = []
    for path in sorted(directory.glob("*.yml")):
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            problems.append(f"{path.name}: not valid YAML: {exc}")
            continue
        except OSError as exc:
            problems.append(f"{path.name}: cannot be read: {exc.strerror}")
            continue
        problems.extend(f"{path.name}: field '{field}': {message}" for field, message in all_problems(raw, expected_id=path.stem))
    return problems


@lru_cache(maxsize=None)
def _files() -> Dict[str, Scenario]:
    return load_all()


def _catalogue(engine: Any = None) -> Dict[str, Tuple[Optional[int], Scenario]]:
    """Id -> (version, Scenario) for new practice: the database's published versions, and the
    shipped files for ids the database does not know (version None)."""
    from bot.scenario_catalogue import published

    from_db, known = published(engine)
    merged: Dict[str, Tuple[Optional[int], Scenario]] = {
        sid: (None, s) for sid, s in _files().items() if sid not in known
    }
    merged.update(from_db)
    return merged


def list_scenarios(engine: Any = None) -> List[Scenario]:
    """The scenarios open for new practice (archived ones and drafts left out), by title.

    `engine`: the database to read (the web app passes its own); default the configured one.
    """
    return sorted((s for _, s in _catalogue(engine).values()), key=lambda s: s.title)


def all_titles(engine: Any = None) -> Dict[str, str]:
    """Id -> title of every scenario, archived ones marked, for lists of past sessions."""
    from bot.db import scenario_store
    from bot.db.engine import session_scope
    from bot.scenario_catalogue import database_engine

    titles = {s.id: s.title for s in list_scenarios(engine)}
    engine = engine or database_engine()
    if engine is not None:
        with session_scope(engine) as session:
            for scenario_id, title in scenario_store.known_ids(session=session).items():
                titles.setdefault(scenario_id, f"{title} (archived)")
    return titles


def resolve(ref: Optional[str], version: Optional[int] = None, *, engine: Any = None) -> Tuple[Scenario, Optional[int]]:
    """The scenario `ref` names and its version: "id" (the published one), "id@3" or `version`
    (that version, a draft too: bot.web decides who may play what). UnknownScenario otherwise."""
    from bot.scenario_catalogue import pinned, split_ref

    scenario_id, chosen = split_ref(ref or "")
    chosen = version or chosen
    if chosen is not None:
        found = pinned(scenario_id, chosen, engine)
        if found is not None:
            return found[0], chosen
        if ref and "@" in ref:
            raise UnknownScenario(f"Scenario {scenario_id!r} has no version {chosen}.")
        # The session's version cannot be read (database down): the current one stands in.
    catalogue = _catalogue(engine)
    if not scenario_id or scenario_id not in catalogue:
        known = ", ".join(sorted(catalogue)) or "none"
        raise UnknownScenario(f"Unknown scenario {scenario_id!r}. Known scenarios: {known}.")
    version_now, scenario = catalogue[scenario_id]
    return scenario, version_now


def get_scenario(ref: Optional[str], version: Optional[int] = None, *, engine: Any = None) -> Scenario:
    return resolve(ref, version, engine=engine)[0]


def scenario_of(state: Dict[str, Any]) -> Scenario:
    """The scenario a session plays: the version it started with."""
    return get_scenario(state["scenario"], state.get("scenario_version"))
