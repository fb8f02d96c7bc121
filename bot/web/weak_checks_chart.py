"""The weakest checks per team as the numbers of an inline SVG bar chart (drawn by the template,
as bot/web/mood_chart.py does), with `description` as its text alternative."""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Sequence

from bot.db.check_summary import TeamSummary

# viewBox units; the SVG scales to the page's width.
WIDTH = 640
LABEL_W = 300
RIGHT = 56
ROW_H = 24
TEAM_H = 28
BAR_H = 14


@dataclass(frozen=True)
class Bar:
    y: float
    width: float
    label: str
    percent: int
    met: int
    sessions: int


@dataclass(frozen=True)
class TeamBlock:
    y: float
    team: str
    sessions: int
    bars: List[Bar]


@dataclass(frozen=True)
class WeakChecksChart:
    width: int
    height: int
    label_w: int
    plot_w: int
    teams: List[TeamBlock]

    @property
    def description(self) -> str:
        if not self.teams:
            return "No scored session in this period."
        parts = []
        for block in self.teams:
            bars = "; ".join(f"{b.label} met in {b.met} of {b.sessions} ({b.percent}%)" for b in block.bars)
            bars = bars or "every criterion met in every session"
            parts.append(f"{block.team} ({block.sessions} session{'s' if block.sessions != 1 else ''}): {bars}.")
        return "Least often met criteria per team. " + " ".join(parts)


def weak_checks_chart(summaries: Sequence[TeamSummary]) -> WeakChecksChart:
    plot_w = WIDTH - LABEL_W - RIGHT
    y = 0.0
    blocks = []
    for summary in summaries:
        top = y
        y += TEAM_H
        bars = []
        for rate in summary.weakest:
            bars.append(Bar(y=y, width=max(1.0, plot_w * rate.share), label=rate.label, percent=rate.percent,
                            met=rate.met, sessions=rate.sessions))
            y += ROW_H
        blocks.append(TeamBlock(y=top, team=summary.team, sessions=summary.sessions, bars=bars))
    return WeakChecksChart(width=WIDTH, height=int(y) + 4, label_w=LABEL_W, plot_w=plot_w, teams=blocks)
