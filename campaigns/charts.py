"""Chart geometry for server-rendered SVG: bar and line charts as coordinates the templates draw, no JS library.

Values are Decimals (or None for a gap); everything returned is plain numbers and strings.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

WIDTH = 720
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 14, 58
TICKS = 4
MAX_BAR = 48


@dataclass
class Chart:
    width: int
    height: int
    plot: dict
    ticks: list[dict]
    labels: list[dict]
    legend: list[dict]
    bars: list[dict] = field(default_factory=list)
    lines: list[dict] = field(default_factory=list)
    points: list[dict] = field(default_factory=list)


def _nice_max(value: Decimal) -> Decimal:
    """The axis top: 1, 2, 2.5 or 5 × a power of ten, at or above the largest value."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal("2.5"), Decimal(5), Decimal(10)):
        top = step.scaleb(exponent)
        if top >= value:
            return top
    return Decimal(10).scaleb(exponent)


def _short(value: Decimal) -> str:
    """Axis text: 1.2M, 350k, 12.5."""
    for limit, suffix in ((Decimal(10) ** 9, "B"), (Decimal(10) ** 6, "M"), (Decimal(10) ** 3, "k")):
        if abs(value) >= limit:
            return f"{value / limit:.1f}".rstrip("0").rstrip(".") + suffix
    return f"{value:.2f}".rstrip("0").rstrip(".") or "0"


def _frame(labels: list[str], series: list[tuple[str, list[Decimal | None]]], width: int, height: int):
    values = [value for _, data in series for value in data if value is not None]
    top = _nice_max(max(values, default=Decimal(0)))
    plot = {"x": LEFT, "y": TOP, "width": width - LEFT - RIGHT, "height": height - TOP - BOTTOM,
            "right": width - RIGHT, "bottom": height - BOTTOM, "tick_x": LEFT - 6, "label_y": height - BOTTOM + 14}
    ticks = []
    for index in range(TICKS + 1):
        value = top * index / TICKS
        ticks.append({"y": round(plot["y"] + plot["height"] * (1 - index / TICKS), 1), "label": _short(value)})
    legend = [{"name": name, "index": index} for index, (name, _) in enumerate(series)]
    return top, plot, ticks, legend


def _y(value: Decimal, top: Decimal, plot: dict) -> float:
    return round(plot["y"] + plot["height"] * (1 - float(value / top)), 1)


def bar_chart(*, labels: list[str], series: list[tuple[str, list[Decimal | None]]], width: int = WIDTH,
              height: int = HEIGHT) -> Chart:
    """Grouped bars: one group per label, one bar per series in it."""
    top, plot, ticks, legend = _frame(labels, series, width, height)
    slot = plot["width"] / max(1, len(labels))
    bar = min(slot * 0.8 / max(1, len(series)), MAX_BAR)
    group = bar * len(series)
    bars, label_marks = [], []
    for position, label in enumerate(labels):
        start = plot["x"] + slot * position + (slot - group) / 2
        for index, (name, data) in enumerate(series):
            value = data[position]
            if value is None:
                continue
            y = _y(max(value, Decimal(0)), top, plot)
            bars.append({"x": round(start + bar * index, 1), "y": y, "width": round(max(bar - 1, 1), 1),
                         "height": round(plot["y"] + plot["height"] - y, 1), "series": index,
                         "title": f"{label} · {name}: {value}"})
        label_marks.append({"x": round(plot["x"] + slot * (position + 0.5), 1), "text": label[:18]})
    return Chart(width=width, height=height, plot=plot, ticks=ticks, labels=label_marks, legend=legend, bars=bars)


def line_chart(*, labels: list[str], series: list[tuple[str, list[Decimal | None]]], width: int = WIDTH,
               height: int = HEIGHT) -> Chart:
    """One polyline per series over evenly spaced labels (weeks, days); a None breaks the line."""
    top, plot, ticks, legend = _frame(labels, series, width, height)
    step = plot["width"] / max(1, len(labels) - 1)
    lines, points = [], []
    for index, (name, data) in enumerate(series):
        commands, pen_down = [], False
        for position, value in enumerate(data):
            if value is None:
                pen_down = False
                continue
            x = round(plot["x"] + step * position if len(labels) > 1 else plot["x"] + plot["width"] / 2, 1)
            y = _y(max(value, Decimal(0)), top, plot)
            commands.append(f"{'L' if pen_down else 'M'}{x},{y}")
            pen_down = True
            points.append({"x": x, "y": y, "series": index, "title": f"{labels[position]} · {name}: {value}"})
        lines.append({"d": " ".join(commands), "series": index, "name": name})
    every = max(1, len(labels) // 8)  # at most about eight axis labels
    label_marks = [{"x": round(plot["x"] + step * position if len(labels) > 1 else plot["x"] + plot["width"] / 2, 1),
                    "text": label} for position, label in enumerate(labels) if position % every == 0]
    return Chart(width=width, height=height, plot=plot, ticks=ticks, labels=label_marks, legend=legend, lines=lines,
                 points=points)
