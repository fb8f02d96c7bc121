"""The customer's mood over a conversation as the numbers of an inline SVG line chart.

The template draws the SVG from these numbers (no script, nothing fetched), and
`description` is its text alternative.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence

# viewBox units; the SVG scales to the width of the page, phone or desktop.
WIDTH = 640
HEIGHT = 220
LEFT, RIGHT, TOP, BOTTOM = 44, 16, 14, 34
MOOD_MAX = 100
GRID_STEPS = (0, 25, 50, 75, 100)


@dataclass(frozen=True)
class Point:
    x: float
    y: float
    mood: int
    label: str  # "start" or the reply's number


@dataclass(frozen=True)
class GridLine:
    y: float
    value: int


@dataclass(frozen=True)
class MoodChart:
    width: int
    height: int
    left: int
    right_edge: int
    bottom_edge: int
    points: List[Point]
    grid: List[GridLine]

    @property
    def polyline(self) -> str:
        return " ".join(f"{p.x:.1f},{p.y:.1f}" for p in self.points)

    @property
    def description(self) -> str:
        if not self.points:
            return "No mood was recorded."
        steps = ", ".join(f"{_step_name(p.label)} {p.mood}" for p in self.points)
        first, last = self.points[0].mood, self.points[-1].mood
        trend = "rose" if last > first else "fell" if last < first else "ended where it began"
        summary = f"The customer's mood (0 furious, 100 satisfied) {trend}"
        if trend != "ended where it began":
            summary += f" from {first} to {last}"
        return f"{summary}. {steps[0].upper()}{steps[1:]}."


def _step_name(label: str) -> str:
    return "at the start" if label == "start" else f"after reply {label}"


def _clamp(mood: int) -> int:
    return max(0, min(MOOD_MAX, int(mood)))


def mood_chart(curve: Optional[Sequence[int]]) -> MoodChart:
    """Chart geometry for `curve`: the mood at the start, then after each reply."""
    moods = [_clamp(m) for m in (curve or []) if isinstance(m, (int, float))]
    plot_w = WIDTH - LEFT - RIGHT
    plot_h = HEIGHT - TOP - BOTTOM

    def y_of(mood: int) -> float:
        return TOP + plot_h * (1 - mood / MOOD_MAX)

    step = plot_w / (len(moods) - 1) if len(moods) > 1 else 0
    points = [
        Point(x=LEFT + i * step if len(moods) > 1 else LEFT + plot_w / 2, y=y_of(m), mood=m,
              label="start" if i == 0 else str(i))
        for i, m in enumerate(moods)
    ]
    return MoodChart(
        width=WIDTH,
        height=HEIGHT,
        left=LEFT,
        right_edge=WIDTH - RIGHT,
        bottom_edge=HEIGHT - BOTTOM,
        points=points,
        grid=[GridLine(y=y_of(v), value=v) for v in GRID_STEPS],
    )
