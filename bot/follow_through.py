"""What the trainee promised, and whether a later reply goes back on it.

A promise is what the next_step check found: an action ("call", "send", "book") and when.
A later reply breaks it when it
- retracts the action: the same verb negated or made impossible ("I can't call you today after
  all", "we won't be sending a technician"),
- moves it: the same action promised again for another time ("I'll call you next week"
  after "I'll call you by 5 pm today"),
- or stonewalls after all: a phrase from customer_model.yml's `retraction_phrases`
  ("there's nothing I can do").
A real customer remembers all three, and so does the scorecard. Both functions take the
reply's parse, made once per turn by the caller.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence

from spacy.tokens import Doc

# Verbs that say nothing about the action itself: "I'll make sure", "I'll be able to".
LIGHT_VERBS = frozenset({"be", "have", "do", "make", "get", "let", "go", "try", "want", "need", "ensure"})
NEGATIONS = frozenset({"not", "n't", "never", "no"})
# Words that, before the promised verb in one sentence, take it back ("unable to call").
IMPOSSIBLE = re.compile(r"\b(unable|impossible|no longer|not able|won't be able|can't|cannot|couldn't)\b", re.I)


@dataclass(frozen=True)
class Promise:
    turn: int
    action: str  # the verb's lemma, e.g. "call"
    when: str  # the time words as said, e.g. "by 5 pm today"
    text: str  # the promise as the trainee said it, for quoting

    def as_dict(self) -> Dict[str, Any]:
        return {"turn": self.turn, "action": self.action, "when": self.when, "text": self.text}


def _action_lemma(tokens: Sequence[Any]) -> Optional[str]:
    for token in tokens:
        if token.pos_ in {"VERB", "AUX"} and token.dep_ not in {"aux", "auxpass"} and token.lemma_.lower() not in LIGHT_VERBS:
            return token.lemma_.lower()
    return None


def promises_in(turn: int, doc: Doc, next_step: Dict[str, Any]) -> List[Promise]:
    """The promises of one reply: the next_step check's evidence, actions each followed by their times.

    Each evidence span is found in the parsed reply, so its words carry their part of speech
    in context ("book" in "I'll book a technician" is a verb).
    """
    if not next_step["found"]:
        return []
    reply = doc.text
    found: List[Promise] = []
    action_text: Optional[str] = None
    action: Optional[str] = None
    times: List[str] = []

    def close() -> None:
        if action and times:
            found.append(Promise(turn=turn, action=action, when=" ".join(times), text=f"{action_text} {' '.join(times)}"))

    position = 0
    for span in next_step["evidence"]:
        start = reply.find(span, position)
        if start < 0:
            start = reply.find(span)
        if start < 0:
            continue
        position = start + len(span)
        tokens = [t for t in doc if start <= t.idx < start + len(span)]
        lemma = _action_lemma(tokens)
        if lemma:
            close()
            action_text, action, times = span, lemma, []
        else:
            times.append(span)
    close()
    return found


def normal_time(when: str) -> str:
    """A promise's time as compared: its lower-case words and numbers ('By 5 pm, today' -> 'by 5 pm today')."""
    return " ".join(re.findall(r"[a-z0-9]+", when.lower()))


def broken_promises(
    turn: int,
    doc: Doc,
    new_promises: Sequence[Promise],
    earlier: Sequence[Dict[str, Any]],
    retraction: re.Pattern,
) -> List[Dict[str, Any]]:
    """Which earlier promises (state["commitments"]) this reply goes back on, and how."""
    if not earlier:
        return []
    reply = doc.text
    broken: List[Dict[str, Any]] = []
    for promise in earlier:
        kind, evidence = None, None
        for sentence in doc.sents:
            for token in sentence:
                if token.lemma_.lower() != promise["action"] or token.pos_ not in {"VERB", "AUX"}:
                    continue
                negated = any(c.lower_ in NEGATIONS or c.dep_ == "neg" for c in token.children)
                before = sentence.doc[sentence.start : token.i].text
                if negated or IMPOSSIBLE.search(before):
                    kind, evidence = "retracted", sentence.text.strip()
        if kind is None:
            for new in new_promises:
                if new.action == promise["action"] and normal_time(new.when) != normal_time(promise["when"]):
                    kind, evidence = "moved", new.text
        if kind is None:
            match = retraction.search(reply)
            if match:
                kind, evidence = "stonewalled", match.group(0)
        if kind:
            broken.append(
                {"turn": turn, "promise_turn": promise["turn"], "action": promise["action"],
                 "promise": promise["text"], "kind": kind, "evidence": evidence}
            )
    return broken


def verdict(broken: Sequence[Dict[str, Any]]) -> Dict[str, Any]:
    """The `broken_promise` check of one reply, in the shape of the reply checks (found is bad)."""
    if not broken:
        return {"found": False, "evidence": [], "tip": None}
    first = broken[0]
    evidence: List[str] = []
    for item in broken:
        if item["evidence"] and item["evidence"] not in evidence:
            evidence.append(item["evidence"])
    return {
        "found": True,
        "evidence": evidence,
        "tip": (
            f"At turn {first['promise_turn']} you promised \u201c{first['promise']}\u201d. Keep it, or own the "
            "change: apologise, say why, and give a new time you can keep, e.g. 'I'm sorry, I said I'd call "
            "by 5 pm and I can't; I'll call you at 9 am tomorrow instead.'"
        ),
    }
