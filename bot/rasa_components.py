"""Our own Rasa pipeline components (config.yml names them as `bot.rasa_components.<Class>`)."""
from __future__ import annotations

from typing import List

from rasa.engine.recipes.default_recipe import DefaultV1Recipe
from rasa.nlu.classifiers.logistic_regression_classifier import LogisticRegressionClassifier
from rasa.shared.nlu.constants import INTENT, INTENT_RANKING_KEY, TEXT
from rasa.shared.nlu.training_data.message import Message

BLANK_INTENT = "out_of_scope"


@DefaultV1Recipe.register(DefaultV1Recipe.ComponentType.INTENT_CLASSIFIER, is_trainable=True)
class BlankSafeLogisticRegressionClassifier(LogisticRegressionClassifier):
    """Rasa's LogisticRegressionClassifier, calling a message with no text out of scope.

    On an empty or all-blank message Rasa 3.6's classifier raises (the message has fewer
    sparse feature columns than the model, as the regex and lexical featurizers add none),
    and the REST channel then answers `[]`. With no intent at all, the fallback would loop
    until Rasa's circuit breaker trips; as out_of_scope, the message follows that intent's
    rule to the customer action, which answers with the `empty_message` error.
    """

    def process(self, messages: List[Message]) -> List[Message]:
        blank = [m for m in messages if not (m.get(TEXT) or "").strip()]
        for message in blank:
            verdict = {"name": BLANK_INTENT, "confidence": 1.0}
            message.set(INTENT, verdict, add_to_output=True)
            message.set(INTENT_RANKING_KEY, [verdict], add_to_output=True)
        rest = [m for m in messages if m not in blank]
        if rest:
            super().process(rest)
        return messages
