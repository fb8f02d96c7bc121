"""Examples that are right: built from the scenario and the conversation, judged before shown.

Every candidate is run through the real reply checks against what the customer just said: it
must pass the check it illustrates, never be defensive or use jargon, and be a well-made
sentence (bot/coaching/sentences.py). Candidates come from the scenario (customer name,
channel, remedy, then the scenario's written model reply for the stage); one shown earlier in
the conversation is tried last, so the trainee is not handed the same words twice. When no
candidate passes, there is no example rather than a wrong one.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Iterable, List, Optional, Tuple

from bot.checks import CHECK_NAMES, assess_parsed, parse_reply
from bot.coaching.rules import BAD_WHEN_FOUND, rules
from bot.coaching.sentences import problem
from bot.scenarios import Scenario

# Never shown as an example, whatever the check illustrated: found=True here is bad.
MUST_NOT_FIND = ("defensive", "jargon")


def candidates(check: str, scenario: Scenario) -> List[str]:
    """What may illustrate `check` in this scenario, best first."""
    r = rules()
    first = scenario.customer.first_name
    hello = r.hello[scenario.channel].format(first=first)
    built = [t.format(first=first, remedy=scenario.remedy, hello=hello) for t in r.built_examples.get(check, ())]
    stage = r.model_reply_for.get(check)
    model = [getattr(scenario.model_replies, stage)] if stage else []
    return list(dict.fromkeys([*built, *model]))


# Verdicts on candidates kept by (scenario, check, customer line, text): customers' lines recur
# across sessions, and each judgement runs every check once.
JUDGED_CACHE_SIZE = 4096
# Parsed candidates kept: a few per scenario and check.
PARSED_CACHE_SIZE = 512


def judge(text: str, check: str, *, scenario: Scenario, customer_message: str) -> Optional[str]:
    """Why `text` may not illustrate `check` here, or None when it may."""
    return _judged(text, check, customer_message, scenario.customer.name, tuple(scenario.fact_texts()),
                   tuple(scenario.jargon))


# Whether a candidate is a well-made sentence depends on its words alone, not on what the
# customer said: judged once per text rather than once per customer line (it parses the text).
_well_made_problem = lru_cache(maxsize=JUDGED_CACHE_SIZE)(problem)


# Candidates parsed once per text: the parse depends on the words alone, and a scenario's few
# candidates are judged again against every new customer line (most of the cost was parsing).
_parsed = lru_cache(maxsize=PARSED_CACHE_SIZE)(parse_reply)


@lru_cache(maxsize=JUDGED_CACHE_SIZE)
def _judged(
    text: str, check: str, customer_message: str, customer_name: str, facts: tuple, jargon: tuple
) -> Optional[str]:
    why = _well_made_problem(text)
    if why:
        return why
    # Only the checks the judgement reads: a verdict does not depend on which others run.
    verdicts = assess_parsed(
        _parsed(text),
        customer_message=customer_message,
        customer_name=customer_name,
        facts=facts,
        jargon_terms=jargon,
        only=(*MUST_NOT_FIND, *((check,) if check in CHECK_NAMES else ())),
    )
    for bad in MUST_NOT_FIND:
        if verdicts[bad]["found"]:
            return f"the checks find it {bad.replace('_', ' ')}"
    if check not in BAD_WHEN_FOUND and not verdicts[check]["found"]:
        return f"it does not pass the {check.replace('_', ' ')} check itself"
    return None


def build_example(
    check: str,
    *,
    scenario: Scenario,
    customer_message: str,
    shown_before: Iterable[str] = (),
) -> Optional[str]:
    """The best example of `check` that passes judgement, or None."""
    seen = set(shown_before)
    ordered = sorted(candidates(check, scenario), key=lambda t: t in seen)
    for text in ordered:
        if judge(text, check, scenario=scenario, customer_message=customer_message) is None:
            return text
    return None


# The check each stage's model reply must pass (scenario files, `model_replies`).
MODEL_REPLY_CHECKS = {
    "greeting": "greeting",
    "listening": "active_listening",
    "apology": "apology",
    "plan": "next_step",
    "closing": "thanks",
}


def scenario_problem_fields(scenario: Scenario) -> List[Tuple[str, str]]:
    """What is wrong with a scenario's remedy and model replies, judged like any example:
    against each opening line the customer may start with; (field, what is wrong) pairs."""
    problems = []
    to_judge = [(f"model_replies.{stage}", getattr(scenario.model_replies, stage), check)
                for stage, check in MODEL_REPLY_CHECKS.items()]
    to_judge.append(("remedy", f"I'll {scenario.remedy}.", "next_step"))
    openings = [line for persona in ("angry", "dispassionate") for line in scenario.opening.for_persona(persona)]
    for field, text, check in to_judge:
        for opening in openings:
            why = judge(text, check, scenario=scenario, customer_message=opening)
            if why:
                problems.append((field, f"{why}: {text!r}"))
                break
    return problems


def scenario_problems(scenario: Scenario) -> List[str]:
    """scenario_problem_fields as "field '...': ..." messages."""
    return [f"field '{field}': {why}" for field, why in scenario_problem_fields(scenario)]
