"""Scenario files: loading, validation and look-up.

One YAML file per scenario under `bot/resources/scenarios/`, named after its id. They are
validated when loaded so that a broken file fails with its name, the field and the reason,
never halfway through a trainee's conversation.
"""
from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path
from typing import Dict, List, Literal, Optional, Set

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


def _describe(error: ValidationError) -> str:
    parts = []
    for item in error.errors():
        field = ".".join(str(p) for p in item["loc"] if p != "__root__") or "(top level)"
        parts.append(f"field '{field}': {item['msg']}")
    return "; ".join(parts)


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
    if not isinstance(raw, dict):
        raise ScenarioFileError(f"{path.name}: expected a mapping of fields, got {type(raw).__name__}")
    try:
        scenario = Scenario.parse_obj(raw)
    except ValidationError as exc:
        raise ScenarioFileError(f"{path.name}: {_describe(exc)}") from None
    if scenario.id != path.stem:
        raise ScenarioFileError(
            f"{path.name}: field 'id': '{scenario.id}' must match the file name '{path.stem}'"
        )
    _check_no_repeated_lines(path, scenario)
    _check_unanswerable_is_about_the_case(path, scenario)
    return scenario


def _case_words(scenario: Scenario) -> Set[str]:
    """Content words of the case (product, what happened, what was tried, keywords)."""
    from spacy.lang.en.stop_words import STOP_WORDS

    text = " ".join(scenario.fact_texts())
    return {w for w in re.findall(r"[a-z0-9]+", text.lower()) if w not in STOP_WORDS and len(w) > 2}


def _check_unanswerable_is_about_the_case(path: Path, scenario: Scenario) -> None:
    # "No idea." could be said in any scenario; a line that names nothing of the case is generic.
    case = _case_words(scenario)
    for field in ("unanswerable", "reminders"):
        for persona in PERSONAS:
            for line in getattr(scenario, field).for_persona(persona):
                if not case & set(re.findall(r"[a-z0-9]+", line.lower())):
                    raise ScenarioFileError(
                        f"{path.name}: field '{field}.{persona}': line names nothing of the case "
                        f"(no word of the product, facts or keywords): {line!r}"
                    )


def _check_no_repeated_lines(path: Path, scenario: Scenario) -> None:
    # A repeated line in the file would let the customer say the same thing twice.
    seen: Dict[str, str] = {}
    for situation in SITUATIONS:
        for persona in PERSONAS:
            for line in scenario.lines(situation, persona):
                _remember(path, seen, line, f"replies.{situation}.{persona}")
    for field in ("unanswerable", "reminders"):
        for persona in PERSONAS:
            for line in getattr(scenario, field).for_persona(persona):
                _remember(path, seen, line, f"{field}.{persona}")


def _remember(path: Path, seen: Dict[str, str], line: str, where: str) -> None:
    if line in seen and seen[line] != where:
        raise ScenarioFileError(f"{path.name}: field '{where}': line also used in '{seen[line]}': {line!r}")
    seen[line] = where


def load_all(directory: Path = SCENARIO_DIR) -> Dict[str, Scenario]:
    """Every scenario in `directory`, keyed by id; the first broken file raises."""
    scenarios = {}
    for path in sorted(directory.glob("*.yml")):
        scenario = load_scenario_file(path)
        scenarios[scenario.id] = scenario
    return scenarios


def check_all(directory: Path = SCENARIO_DIR) -> List[str]:
    """Validate every file and return one message per broken file (empty when all are fine)."""
    # Imported here: the examples judge needs the checks and spaCy, which loading a file does not.
    from bot.coaching.examples import scenario_problems

    problems = []
    for path in sorted(directory.glob("*.yml")):
        try:
            scenario = load_scenario_file(path)
        except ScenarioFileError as exc:
            problems.append(str(exc))
            continue
        problems.extend(f"{path.name}: {problem}" for problem in scenario_problems(scenario))
    return problems


@lru_cache(maxsize=None)
def _catalogue() -> Dict[str, Scenario]:
    return load_all()


def list_scenarios() -> List[Scenario]:
    return sorted(_catalogue().values(), key=lambda s: s.title)


def get_scenario(scenario_id: Optional[str]) -> Scenario:
    catalogue = _catalogue()
    if not scenario_id or scenario_id not in catalogue:
        known = ", ".join(sorted(catalogue)) or "none"
        raise UnknownScenario(f"Unknown scenario {scenario_id!r}. Known scenarios: {known}.")
    return catalogue[scenario_id]
