"""Each check's rate over a trainee's sessions as small inline SVG line charts (one per check),
drawn by the template from these numbers, with a text description for each.

Like bot/web/mood_chart.py: no script, nothing fetched; the SVG scales to the page.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Sequence

from bot.db.history import FIRST_REPLY_ONLY, SessionRates

# viewBox units of one small chart.
WIDTH = 320
HEIGHT = 120
LEFT, RIGHT, TOP, BOTTOM = 40, 10, 10, 22
GRID_STEPS = (0, 50, 100)


@dataclass(frozen=True)
class RatePoint:
    x: float
    y: float
    percent: int
    session: int  # 1 = the oldest session charted


@dataclass(frozen=True)
class CheckChart:
    check: str
    label: str
    points: List[RatePoint]
    grid: List[tuple]  # (y, percent)
    description: str
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right_edge: int = WIDTH - RIGHT
    bottom_edge: int = HEIGHT - BOTTOM

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)


def _describe(label: str, check: str, points: List[RatePoint], bad: bool) -> str:
    def what(percent: int) -> str:
        if bad:
            return f"{percent}% of your replies were free of it"
        if check in FIRST_REPLY_ONLY:
            return f"your first reply had it in {percent}% of sessions" if len(points) > 1 else (
                "your first reply had it" if percent else "your first reply did not have it")
        return f"{percent}% of your replies had it"

    if not points:
        return f"{label}: not judged in any session yet."
    if check in FIRST_REPLY_ONLY and len(points) > 1:
        share = round(sum(p.percent for p in points) / len(points))
        return f"{label}: your first reply had it in {share}% of your {len(points)} sessions."
    if len(points) == 1:
        return f"{label}: {what(points[0].percent)} in your only session."
    first, last = points[0].percent, points[-1].percent
    trend = "up" if last > first else "down" if last < first else "no change"
    return f"{label}: {what(first)} in your first session and {last}% in your latest ({trend} over {len(points)} sessions)."


def check_charts(sessions: Sequence[SessionRates], labels: Dict[str, str], bad: Sequence[str] = ()) -> List[CheckChart]:
    """One chart per check in `labels` (in its order), x = session (oldest left), y = rate."""
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def y_of(percent: float) -> float:
        return TOP + plot_h * (1 - percent / 100)

    charts = []
    for check, label in labels.items():
        values = [(i + 1, round(100 * s.rates[check])) for i, s in enumerate(sessions) if check in s.rates]
        n = len(sessions)
        step = plot_w / (n - 1) if n > 1 else 0
        points = [
            RatePoint(x=LEFT + (number - 1) * step if n > 1 else LEFT + plot_w / 2, y=y_of(percent), percent=percent,
                      session=number)
            for number, percent in values
        ]
        charts.append(CheckChart(check=check, label=label, points=points,
                                 grid=[(y_of(v), v) for v in GRID_STEPS],
                                 description=_describe(label, check, points, check in bad)))
    return charts
