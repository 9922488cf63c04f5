"""Charts drawn on the server as SVG: the geometry is computed here, one macro (`chart.html`) draws it.

No script and no chart library: a chart is a list of shapes, each bar with a `<title>` (its figure, shown
as a tooltip and read by screen readers), and every chart sits next to a table with the same numbers. The
axes get round ticks (1, 2 or 5 times a power of ten) so that a gridline says a number a person can read.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

#: Series colours (CSS classes `series-0` … in console.css), told apart with common colour blindness.
PALETTE_SIZE = 8


@dataclass(frozen=True)
class Shape:
    """A rectangle (a bar or a legend swatch) with its tooltip."""

    x: float
    y: float
    width: float
    height: float
    css: str
    title: str


@dataclass(frozen=True)
class Label:
    x: float
    y: float
    text: str
    css: str = "label"
    anchor: str = "middle"


@dataclass(frozen=True)
class Rule:
    """A gridline or an axis."""

    x1: float
    y1: float
    x2: float
    y2: float
    css: str = "grid"


@dataclass
class Chart:
    """An SVG's content: `label` is its accessible name, `legend` the series (css class, name)."""

    label: str
    width: int
    height: int
    shapes: list[Shape] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    legend: list[tuple[str, str]] = field(default_factory=list)
    empty: bool = False


def nice_ticks(top: float, count: int = 4) -> list[float]:
    """0 and a few round steps up to at least `top` (1, 2, 2.5 or 5 × 10^n)."""
    if top <= 0:
        return [0.0, 1.0]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    if step < 1 and top >= 1:
        step = 1
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _classes(series: Sequence[object], classes: Sequence[str] | None) -> list[str]:
    """Each series' CSS class: those given, else the palette in order."""
    return list(classes) if classes else [f"series-{i % PALETTE_SIZE}" for i in range(len(series))]


def _figure(value: float) -> str:
    return f"{value:,.0f}".replace(",", "\u202f") if value == int(value) else f"{value:g}"


def stacked_columns(
    label: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    tooltip_prefix: Sequence[str] | None = None,
    width: int = 640,
    height: int = 230,
    classes: Sequence[str] | None = None,
) -> Chart:
    """Columns per category, each stacked by series (name, one value per category); a y axis with ticks."""
    left, right, top_pad, bottom = 44, 8, 14, 34
    css = _classes(series, classes)
    chart = Chart(label, width, height, legend=list(zip(css, [n for n, _v in series], strict=True)))
    totals = [sum(values[i] for _name, values in series) for i in range(len(categories))]
    chart.empty = not any(totals)
    ticks = nice_ticks(max(totals, default=0))
    plot_h = height - top_pad - bottom
    scale = plot_h / ticks[-1]
    slot = (width - left - right) / max(len(categories), 1)
    bar = min(slot * 0.7, 40)
    base_y = top_pad + plot_h
    for tick in ticks:
        y = base_y - tick * scale
        chart.rules.append(Rule(left, y, width - right, y, "grid" if tick else "axis"))
        chart.labels.append(Label(left - 6, y + 4, _figure(tick), "tick", "end"))
    names = tooltip_prefix or categories
    for index, category in enumerate(categories):
        x = left + index * slot + (slot - bar) / 2
        y = base_y
        for position, (name, values) in enumerate(series):
            value = values[index]
            if not value:
                continue
            h = value * scale
            y -= h
            chart.shapes.append(
                Shape(x, y, bar, h, css[position], f"{names[index]} · {name}: {_figure(value)}")
            )
        chart.labels.append(Label(x + bar / 2, base_y + 14, category, "tick"))
        if totals[index]:
            chart.labels.append(Label(x + bar / 2, y - 3, _figure(totals[index]), "value"))
    return chart


def stacked_bars(
    label: str,
    rows: Sequence[str],
    series: Sequence[tuple[str, Sequence[int]]],
    *,
    width: int = 560,
    row_height: int = 26,
    label_width: int = 130,
    classes: Sequence[str] | None = None,
) -> Chart:
    """Horizontal bars per row, each stacked by series (name, one value per row), the total at the end."""
    top_pad, right = 4, 48
    totals = [sum(values[i] for _name, values in series) for i in range(len(rows))]
    height = top_pad + max(len(rows), 1) * row_height + 4
    css = _classes(series, classes)
    chart = Chart(label, width, height, legend=list(zip(css, [n for n, _v in series], strict=True)))
    chart.empty = not any(totals)
    top = max(totals, default=0) or 1
    scale = (width - label_width - right) / top
    for index, row in enumerate(rows):
        y = top_pad + index * row_height
        x = float(label_width)
        chart.labels.append(Label(0, y + row_height / 2 + 4, row, "label", "start"))
        for position, (name, values) in enumerate(series):
            value = values[index]
            if not value:
                continue
            w = value * scale
            chart.shapes.append(
                Shape(x, y + 4, w, row_height - 8, css[position], f"{row} · {name}: {_figure(value)}")
            )
            x += w
        chart.labels.append(Label(x + 6, y + row_height / 2 + 4, _figure(totals[index]), "value", "start"))
    return chart


def percent_columns(
    label: str,
    categories: Sequence[str],
    series: Sequence[tuple[str, Sequence[float | None]]],
    *,
    width: int = 560,
    height: int = 230,
    classes: Sequence[str] | None = None,
) -> Chart:
    """Grouped columns on a 0–100 % axis; a None value (nothing to measure) draws no column and says so."""
    left, right, top_pad, bottom = 44, 8, 14, 34
    css = _classes(series, classes)
    chart = Chart(label, width, height, legend=list(zip(css, [n for n, _v in series], strict=True)))
    chart.empty = all(v is None for _n, values in series for v in values)
    plot_h = height - top_pad - bottom
    base_y = top_pad + plot_h
    for tick in (0, 25, 50, 75, 100):
        y = base_y - tick * plot_h / 100
        chart.rules.append(Rule(left, y, width - right, y, "grid" if tick else "axis"))
        chart.labels.append(Label(left - 6, y + 4, f"{tick} %", "tick", "end"))
    slot = (width - left - right) / max(len(categories), 1)
    group = min(slot * 0.75, 56)
    bar = group / max(len(series), 1)
    for index, category in enumerate(categories):
        x0 = left + index * slot + (slot - group) / 2
        measured = False
        for position, (name, values) in enumerate(series):
            value = values[index]
            if value is None:
                continue
            measured = True
            h = max(value, 0) * plot_h / 100
            x = x0 + position * bar
            chart.shapes.append(
                Shape(x, base_y - h, bar - 2, h, css[position], f"{category} · {name}: {value:g} %")
            )
            chart.labels.append(Label(x + (bar - 2) / 2, base_y - h - 3, f"{value:.0f}", "value"))
        if not measured:
            chart.labels.append(Label(x0 + group / 2, base_y - 6, "none", "value"))
        chart.labels.append(Label(x0 + group / 2, base_y + 14, category, "tick"))
    return chart
