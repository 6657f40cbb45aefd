"""Chart geometry for server-rendered SVG: bar, line and response-curve charts as coordinates the templates draw,
no JS library.

Values are Decimals (or None for a gap); everything returned is plain numbers and strings.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from decimal import Decimal

WIDTH = 720
HEIGHT = 260
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 14, 58
TICKS = 4
MAX_BAR = 48
CURVE_WIDTH, CURVE_HEIGHT = 360, 200
CURVE_LEFT, CURVE_BOTTOM = 52, 34
CURVE_SAMPLES = 40
CURVE_X_TICKS = 4


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


def curve_value(curve: dict, spend: float) -> float:
    """Incremental sales at `spend` on a {form, vmax, h, k} curve: Hill vmax·sᵏ/(sᵏ+hᵏ), or exp vmax·(1−e^(−s/h))."""
    vmax, h = float(curve["vmax"]), float(curve["h"])
    if spend <= 0 or h <= 0:
        return 0.0
    if curve["form"] == "exp":
        return vmax * -math.expm1(-spend / h)
    return vmax / (1.0 + (h / spend) ** float(curve.get("k", 1.0)))  # the Hill form, without overflowing sᵏ


def curve_chart(*, curve: dict, current: Decimal, proposed: Decimal, width: int = CURVE_WIDTH,
                height: int = CURVE_HEIGHT, samples: int = CURVE_SAMPLES) -> Chart:
    """One cell's response curve from 0 to twice the larger of its current and proposed spend, both marked.

    `points` holds the two markers (kind "current" and "proposed"); `labels` are the spend axis ticks.
    """
    reach = 2 * float(max(current, proposed, Decimal(0)))
    if reach <= 0:  # a cell with no spend either way: show the curve up to twice its half-saturation spend
        reach = 2 * float(curve["h"])
    spends = [reach * index / (samples - 1) for index in range(samples)]
    values = [curve_value(curve, spend) for spend in spends]
    top = _nice_max(Decimal(str(round(max(values), 2))))
    plot = {"x": CURVE_LEFT, "y": TOP, "width": width - CURVE_LEFT - RIGHT, "height": height - TOP - CURVE_BOTTOM,
            "right": width - RIGHT, "bottom": height - CURVE_BOTTOM, "tick_x": CURVE_LEFT - 6,
            "label_y": height - CURVE_BOTTOM + 14}

    def x_of(spend: float) -> float:
        return round(plot["x"] + plot["width"] * spend / reach, 1)

    def y_of(value: float) -> float:
        return round(plot["y"] + plot["height"] * (1 - value / float(top)), 1)

    ticks = [{"y": round(plot["y"] + plot["height"] * (1 - index / TICKS), 1), "label": _short(top * index / TICKS)}
             for index in range(TICKS + 1)]
    labels = [{"x": x_of(reach * index / CURVE_X_TICKS),
               "text": _short(Decimal(str(round(reach * index / CURVE_X_TICKS, 2))))}
              for index in range(CURVE_X_TICKS + 1)]
    line = {"d": " ".join(f"{'L' if index else 'M'}{x_of(spend)},{y_of(value)}"
                          for index, (spend, value) in enumerate(zip(spends, values, strict=True))),
            "series": 0, "name": "incremental sales"}
    points = []
    for series, (kind, spend) in enumerate((("current", current), ("proposed", proposed))):
        value = curve_value(curve, float(spend))
        points.append({"x": x_of(float(spend)), "y": y_of(value), "series": series, "kind": kind, "spend": spend,
                       "value": round(value, 2),
                       "title": f"{kind.capitalize()}: spend {spend:,.2f} → incremental sales {value:,.2f}"})
    legend = [{"name": "Current", "index": 0}, {"name": "Proposed", "index": 1}]
    return Chart(width=width, height=height, plot=plot, ticks=ticks, labels=labels, legend=legend, lines=[line],
                 points=points)


INTERVAL_WIDTH, INTERVAL_ROW = 480, 30
INTERVAL_LEFT, INTERVAL_RIGHT, INTERVAL_TOP, INTERVAL_BOTTOM = 120, 16, 10, 30


def interval_chart(*, rows: list[tuple[str, float, float, float]], width: int = INTERVAL_WIDTH) -> dict:
    """Estimates with their intervals on one horizontal axis that includes zero: per row (label, estimate, low,
    high) a whisker from low to high and a dot at the estimate; `zero_x` is where the zero line goes."""
    values = [v for _, lift, low, high in rows for v in (lift, low, high)] + [0.0]
    span = max(abs(v) for v in values) or 0.01
    top = float(_nice_max(Decimal(str(span))))
    height = INTERVAL_TOP + INTERVAL_ROW * max(1, len(rows)) + INTERVAL_BOTTOM
    plot = {"x": INTERVAL_LEFT, "right": width - INTERVAL_RIGHT, "y": INTERVAL_TOP,
            "bottom": height - INTERVAL_BOTTOM, "label_x": INTERVAL_LEFT - 8, "tick_y": height - INTERVAL_BOTTOM + 16}

    def x_of(value: float) -> float:
        return round(plot["x"] + (plot["right"] - plot["x"]) * (value + top) / (2 * top), 1)

    ticks = [{"x": x_of(top * step / 2), "label": f"{top * step / 2:+.0%}" if step else "0%"}
             for step in (-2, -1, 0, 1, 2)]
    marks = []
    for index, (label, lift, low, high) in enumerate(rows):
        y = round(INTERVAL_TOP + INTERVAL_ROW * (index + 0.5), 1)
        marks.append({"label": label, "y": y, "x_low": x_of(low), "x_high": x_of(high), "x_lift": x_of(lift),
                      "cap_top": round(y - 6, 1), "cap_bottom": round(y + 6, 1),
                      "significant": not (low <= 0 <= high),
                      "title": f"{label}: {lift:+.1%} ({low:+.1%} to {high:+.1%})"})
    return {"width": width, "height": height, "plot": plot, "zero_x": x_of(0.0), "ticks": ticks, "rows": marks}
