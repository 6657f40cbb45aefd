"""The loss curve of a training run as geometry for an inline SVG polyline: [[step, loss], ...] scaled into a
viewBox, with the axis ticks. (campaigns/charts.py spaces Decimal series evenly by label; a loss curve is floats
over steps, which may skip, so its x follows the step.)"""

from __future__ import annotations

import math
from typing import Any

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 52, 12, 12, 30
TICKS = 4
MAX_POINTS = 400  # the page polls every 2 s: a 20,000-step curve is thinned, its first and last points kept


def _nice_top(value: float) -> float:
    """The y axis top: 1, 2, 2.5 or 5 × a power of ten, at or above the largest loss."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        top = step * 10.0 ** exponent
        if top >= value * (1 - 1e-12):
            return top
    return 10.0 ** (exponent + 1)


def _tick(value: float) -> str:
    return f"{value:.3g}"


def loss_chart(losses: list, *, width: int = WIDTH, height: int = HEIGHT) -> dict[str, Any] | None:
    """The chart of a loss curve, or None when there is no finite loss yet. `points` is the polyline's attribute."""
    curve = [(float(step), float(loss)) for step, loss in losses or [] if math.isfinite(float(loss))]
    if not curve:
        return None
    if len(curve) > MAX_POINTS:
        every = math.ceil(len(curve) / MAX_POINTS)
        curve = curve[:-1:every] + [curve[-1]]
    first, last = curve[0][0], curve[-1][0]
    top = _nice_top(max(loss for _, loss in curve))
    plot = {"x": LEFT, "y": TOP, "right": width - RIGHT, "bottom": height - BOTTOM, "tick_x": LEFT - 6,
            "label_y": height - BOTTOM + 16}
    plot_width, plot_height = plot["right"] - plot["x"], plot["bottom"] - plot["y"]

    def x_of(step: float) -> float:
        if last == first:
            return round(plot["x"] + plot_width / 2, 1)
        return round(plot["x"] + plot_width * (step - first) / (last - first), 1)

    def y_of(loss: float) -> float:
        return round(plot["y"] + plot_height * (1 - max(loss, 0.0) / top), 1)

    ticks = [{"y": y_of(top * index / TICKS), "label": _tick(top * index / TICKS)} for index in range(TICKS + 1)]
    steps = sorted({round(first + (last - first) * index / TICKS) for index in range(TICKS + 1)})
    labels = [{"x": x_of(step), "label": str(step)} for step in steps]
    end_step, end_loss = curve[-1]
    return {"width": width, "height": height, "plot": plot, "ticks": ticks, "labels": labels,
            "points": " ".join(f"{x_of(step)},{y_of(loss)}" for step, loss in curve),
            "last": {"x": x_of(end_step), "y": y_of(end_loss), "step": int(end_step), "loss": f"{end_loss:.4f}"}}
