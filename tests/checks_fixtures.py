"""Fixtures for tests/test_checks.py (tests/conftest.py belongs to the Rasa tests).

Import them into a test module: `from tests.checks_fixtures import checks_nlp, run_check`.
"""
from __future__ import annotations

from typing import Any, Callable, Dict, Optional, Sequence

import pytest

# The laptop scenario (bot/resources/scenarios/laptop_at_home_service.yml), shortened: the
# context most example replies in the tests answer.
LAPTOP_CUSTOMER = (
    "I paid extra for at-home service on this laptop and it has crashed every single day since it "
    "arrived. I've called three times, I was promised callbacks, and nobody has ever called back."
)
LAPTOP_FACTS = (
    "Vela 15 laptop with Premium At-Home Service",
    "Since it arrived on 6 March it has crashed with a blue screen at least once every day.",
    "restarted the laptop many times",
    "A technician was supposed to visit but never came.",
)
LAPTOP_NAME = "Dana Whitfield"


@pytest.fixture(scope="session")
def checks_nlp():
    """The real English pipeline, loaded once for the whole run."""
    from bot.nlp import get_nlp

    return get_nlp()


@pytest.fixture
def run_check(checks_nlp) -> Callable[..., Dict[str, Any]]:
    """run_check(name, reply=..., customer=..., customer_name=..., facts=..., jargon=...) -> one check's result.

    Context defaults to the laptop scenario; pass customer="" and facts=() for none.
    """
    from bot.checks import assess_reply

    def run(
        name: str,
        *,
        reply: str,
        customer: str = LAPTOP_CUSTOMER,
        customer_name: Optional[str] = LAPTOP_NAME,
        facts: Sequence[str] = LAPTOP_FACTS,
        jargon: Sequence[str] = (),
        max_chars: Optional[int] = None,
    ) -> Dict[str, Any]:
        results = assess_reply(
            reply,
            customer_message=customer,
            customer_name=customer_name,
            facts=facts,
            jargon_terms=jargon,
            max_chars=max_chars,
        )
        return results[name]

    return run
