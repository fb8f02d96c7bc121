"""First scores of fresh held-out sets and the per-check summary table in docs/checks.md.

A fresh held-out set is scored once, before any rule is changed for it; that figure is what the
checks do on phrasing nobody tuned them on, so it is kept (bench/data/first_scores.json) and
never recomputed. The summary puts it beside the development set and the current held-out set.
"""
from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Dict, List, Mapping, Optional, Tuple

FIRST_SCORES_NOTE = "first score, before any rule was changed for it"
# A fresh held-out set is dropped in as tests/data/checks_heldout_<round>.jsonl; when its errors
# are studied it is folded into the development set and its file removed.
HELD_OUT_NAME = re.compile(r"^checks_heldout_(\d+)\.jsonl$")


def current_held_out(folder: Path) -> Optional[Tuple[str, Path]]:
    """(round, path) of the newest held-out file in `folder`, or None when every round has been
    folded into the development set and the next one has not arrived yet."""
    found = [(int(m.group(1)), p) for p in folder.glob("checks_heldout_*.jsonl") if (m := HELD_OUT_NAME.match(p.name))]
    if not found:
        return None
    number, path = max(found)
    return str(number), path


def load_first_scores(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def record_first_score(path: Path, round_id: str, file_name: str, counts: Mapping[str, object], *, when: str) -> None:
    """Store a round's first score; a round already recorded is never overwritten."""
    data = load_first_scores(path)
    if round_id in data["rounds"]:
        raise SystemExit(
            f"round {round_id} already has a first score ({data['rounds'][round_id]['file']}); "
            "a held-out set is scored once before any change. Use a new round number for a new set."
        )
    data["rounds"][round_id] = {
        "file": file_name,
        "scored": when,
        "scores": {
            name: {"f1": round(c.f1, 3), "precision": round(c.precision, 3), "recall": round(c.recall, 3)}
            for name, c in counts.items()
        },
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def _cell(score: Mapping[str, float] | None) -> str:
    if not score:
        return "–"
    text = f"{score['f1']:.3f}"
    if "precision" in score:
        text += f" (P {score['precision']:.2f}, R {score['recall']:.2f})"
    return text


def summary_table(dev: Mapping[str, object], held_out: Mapping[str, object] | None, held_out_name: str,
                  first_scores: dict, checks: List[str]) -> List[str]:
    rounds = sorted(first_scores["rounds"].items(), key=lambda kv: int(kv[0]))
    head = ["check", "dev set F1 (now)"]
    if held_out is not None:
        head.append(f"held-out `{held_out_name}` F1 (now)")
    head += [f"round {r}, first score" for r, _ in rounds]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name in checks:
        row = [name, _cell(_as_score(dev[name]))]
        if held_out is not None:
            row.append(_cell(_as_score(held_out[name])))
        row += [_cell(data["scores"].get(name)) for _, data in rounds]
        lines.append("| " + " | ".join(row) + " |")
    return lines


def _as_score(c) -> Dict[str, float]:
    return {"f1": c.f1, "precision": c.precision, "recall": c.recall}


def write_into_docs(docs: Path, start: str, end: str, lines: List[str]) -> bool:
    """Replace the text between the markers; False (and nothing written) if they are missing."""
    text = docs.read_text(encoding="utf-8")
    if start not in text or end not in text:
        return False
    before, rest = text.split(start, 1)
    _, after = rest.split(end, 1)
    docs.write_text(before + start + "\n" + "\n".join(lines) + "\n" + end + after, encoding="utf-8")
    return True
