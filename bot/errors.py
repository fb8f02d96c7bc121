"""Errors that carry a message fit to show a trainee or a client as it is."""


class CoachError(ValueError):
    """Bad input that the caller can fix; `code` is stable for clients, `str()` is for people."""

    code = "bad_input"


class EmptyMessage(CoachError):
    code = "empty_message"


class MessageTooLong(CoachError):
    code = "message_too_long"


class UnknownScenario(CoachError):
    code = "unknown_scenario"


class ScenarioFileError(CoachError):
    code = "scenario_file_error"
