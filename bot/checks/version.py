"""The version of the checks' behaviour, stored with every judged turn.

Bump it whenever a check's verdicts can change (a rule, a lexicon, a threshold), so stored
transcripts can be re-scored and the old verdicts kept beside the new.
"""

CHECKS_VERSION = 4
