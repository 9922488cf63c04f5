"""The reports' charts as PNG or SVG bytes: aging bars, the DSO trend, deliveries per channel.

Drawn on a `matplotlib.figure.Figure` with the Agg renderer (PNG) or the SVG one, never through pyplot:
no display, no global figure registry and no global style is touched, so a chart drawn in a request thread
cannot disturb another one. Sizes are in pixels at 100 dpi; the PNG has exactly the size asked for.
Amounts are drawn as floats (a chart is a picture of the figures; the report's numbers stay exact).
"""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, Literal

from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter, MaxNLocator

from gateway.services.reports.aging import BUCKETS, AgingReport, CurrencyAging, CustomerAging
from gateway.services.reports.deliveries import DeliveryReport
from gateway.services.reports.dso import DsoReport

ImageFormat = Literal["png", "svg"]
MEDIA_TYPES: dict[str, str] = {"png": "image/png", "svg": "image/svg+xml"}
DPI = 100
WIDTH, HEIGHT = 1280, 640
MIN_SIDE, MAX_SIDE = 320, 4000
#: pixels above the charts for the title and subtitle; the title's left margin
HEADER, MARGIN = 70, 14

INK, MUTED, GRID = "#1f2933", "#616e7c", "#d9dee3"
BUCKET_COLOURS = ("#3a7ca5", "#f2c14e", "#f4a259", "#e0603f", "#a4243b")
SERIES_COLOURS = ("#3a7ca5", "#e0603f", "#4c956c", "#8e6c8a", "#f4a259")
DELIVERED, FAILED, OTHER, RATE = "#4c956c", "#c8553d", "#b8c4ce", "#6b4e9b"
TOP_CUSTOMERS = 10
MAX_CURRENCY_PANELS = 3
NAME_WIDTH = 30


def grouped(value: float, decimals: int = 0) -> str:
    """12 345 (grouped by a narrow no-break space, as the console shows amounts)."""
    return f"{value:,.{decimals}f}".replace(",", "\u202f").replace("-", "\u2212")


_THOUSANDS = FuncFormatter(lambda value, _position: grouped(value))


def _figure(width: int, height: int) -> Figure:
    """A white figure of exactly `width` × `height` pixels; the top `HEADER` pixels stay free for the title
    and subtitle (`_title`), the rest is laid out by the constrained layout engine."""
    for side, name in ((width, "width"), (height, "height")):
        if not MIN_SIDE <= side <= MAX_SIDE:
            raise ValueError(f"{name} {side} is not {MIN_SIDE} to {MAX_SIDE} pixels")
    figure = Figure(figsize=(width / DPI, height / DPI), dpi=DPI, facecolor="white", layout="constrained")
    engine: Any = figure.get_layout_engine()
    engine.set(h_pad=0.1, w_pad=0.15, hspace=0.06, rect=(0, 0, 1, 1 - HEADER / height))
    return figure


def _style(axes: Axes, *, value_axis: Literal["x", "y"]) -> None:
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    for side in ("left", "bottom"):
        axes.spines[side].set_color(MUTED)
    axes.tick_params(colors=INK, labelsize=11, length=0 if value_axis == "x" else 3)
    axes.grid(True, axis=value_axis, color=GRID, linewidth=0.8)
    axes.set_axisbelow(True)


def _title(figure: Figure, title: str, subtitle: str) -> None:
    height = figure.get_figheight() * DPI
    figure.text(
        MARGIN / (figure.get_figwidth() * DPI),
        1 - 12 / height,
        title,
        fontsize=16,
        fontweight="bold",
        color=INK,
        ha="left",
        va="top",
    )
    figure.text(
        MARGIN / (figure.get_figwidth() * DPI),
        1 - 42 / height,
        subtitle,
        fontsize=11,
        color=MUTED,
        ha="left",
        va="top",
    )


def _nothing(figure: Figure, message: str) -> None:
    axes = figure.add_subplot()
    axes.set_axis_off()
    axes.text(0.5, 0.5, message, ha="center", va="center", fontsize=14, color=MUTED, transform=axes.transAxes)


def render(figure: Figure, image_format: ImageFormat) -> bytes:
    """The figure's bytes; no timestamp in the SVG, so the same chart is the same file."""
    buffer = io.BytesIO()
    metadata: dict[str, Any] = {"Date": None} if image_format == "svg" else {"Software": None}
    figure.savefig(buffer, format=image_format, dpi=DPI, facecolor="white", metadata=metadata)
    return buffer.getvalue()


def _short(text: str, width: int = NAME_WIDTH) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


# --- aging --------------------------------------------------------------------------------------------------


def _aging_rows(currency: CurrencyAging, top: int) -> list[tuple[str, list[float]]]:
    """(label, amount per bucket) of the `top` customers, the rest as one "others" row, largest on top."""

    def amounts(customer: CustomerAging) -> list[float]:
        return [float(customer.buckets[key]) for key, _, _, _ in BUCKETS]

    shown = currency.customers[:top]
    rows = [(_short(c.name or c.customer_key), amounts(c)) for c in shown]
    rest = currency.customers[top:]
    if rest:
        summed = [sum(values) for values in zip(*(amounts(c) for c in rest), strict=True)]
        rows.append((f"{len(rest)} other customers", summed))
    return list(reversed(rows))


def _aging_panel(axes: Axes, currency: CurrencyAging, top: int, legend: bool) -> None:
    rows = _aging_rows(currency, top)
    labels = [label for label, _ in rows]
    positive = [0.0] * len(rows)
    negative = [0.0] * len(rows)
    for index, (_, label, _, _) in enumerate(BUCKETS):
        values = [amounts[index] for _, amounts in rows]
        lefts = [positive[i] if v >= 0 else negative[i] for i, v in enumerate(values)]
        axes.barh(
            labels,
            values,
            left=lefts,
            color=BUCKET_COLOURS[index],
            label=label,
            height=0.66,
            edgecolor="white",
            linewidth=0.6,
        )
        for i, value in enumerate(values):
            if value >= 0:
                positive[i] += value
            else:
                negative[i] += value
    span = max([*positive, *(-n for n in negative), 1.0])
    for i, (_, amounts) in enumerate(rows):
        total = sum(amounts)
        axes.text(max(positive[i], 0) + span * 0.01, i, grouped(total), va="center", fontsize=10, color=INK)
    axes.set_xlim(min(min(negative) * 1.05, 0), span * 1.14)
    if min(negative) < 0:  # credit notes (or overpayments) pull a bar left of zero: mark zero
        axes.axvline(0, color=MUTED, linewidth=1)
    axes.xaxis.set_major_formatter(_THOUSANDS)
    axes.xaxis.set_major_locator(MaxNLocator(nbins=7))
    axes.set_xlabel(f"Open amount ({currency.currency})", fontsize=11, color=INK)
    open_total = currency.total
    overdue = open_total - currency.buckets["not_due"]
    axes.set_title(
        f"{currency.currency}: {grouped(float(open_total), 2)} open, {grouped(float(overdue), 2)} overdue, "
        f"{len(currency.customers)} customers",
        loc="left",
        fontsize=12,
        color=INK,
    )
    _style(axes, value_axis="x")
    if legend:
        axes.legend(
            ncols=len(BUCKETS), loc="lower left", bbox_to_anchor=(0, 1.07), frameon=False, fontsize=10.5
        )


def aging_chart(
    report: AgingReport,
    image_format: ImageFormat = "png",
    *,
    width: int = WIDTH,
    height: int = HEIGHT,
    top: int = TOP_CUSTOMERS,
) -> bytes:
    """Stacked bars of open amounts per bucket for the largest customers, one panel per currency (the
    three largest currencies; the others are named under the title)."""
    figure = _figure(width, height)
    panels = report.currencies[:MAX_CURRENCY_PANELS]
    left_out = [c.currency for c in report.currencies[MAX_CURRENCY_PANELS:]]
    subtitle = f"Open invoices less credit notes, by days past due · tenant {report.tenant_id}"
    if left_out:
        subtitle += f" · not drawn: {', '.join(left_out)}"
    _title(figure, f"Receivables aging as of {report.as_of.isoformat()}", subtitle)
    if not panels:
        _nothing(figure, f"Nothing was open on {report.as_of.isoformat()}.")
        return render(figure, image_format)
    each = max(3, top // len(panels))
    heights = [min(len(c.customers), each) + 1 for c in panels]
    grid = figure.add_gridspec(len(panels), 1, height_ratios=heights)
    for index, currency in enumerate(panels):
        _aging_panel(figure.add_subplot(grid[index]), currency, each, legend=index == 0)
    return render(figure, image_format)


# --- DSO ----------------------------------------------------------------------------------------------------


def _points(values: Sequence[Decimal | None]) -> list[float]:
    return [float(v) if v is not None else float("nan") for v in values]


def dso_chart(
    report: DsoReport, image_format: ImageFormat = "png", *, width: int = WIDTH, height: int = HEIGHT
) -> bytes:
    """Count-back DSO (solid) and best-possible DSO (dashed) per month, one colour per currency."""
    figure = _figure(width, height)
    months = [str(report.period.shifted(-k)) for k in reversed(range(report.months))]
    _title(
        figure,
        f"Days sales outstanding, {months[0]} to {months[-1]}",
        f"Count-back DSO and best-possible DSO per month · tenant {report.tenant_id}",
    )
    if not report.currencies:
        _nothing(figure, "No sales and no receivables in these months.")
        return render(figure, image_format)
    axes = figure.add_subplot()
    positions = list(range(len(months)))
    for index, (currency, rows) in enumerate(report.currencies.items()):
        colour = SERIES_COLOURS[index % len(SERIES_COLOURS)]
        count_back = _points([row.count_back_dso for row in rows])
        best = _points([row.best_possible_dso for row in rows])
        axes.plot(
            positions,
            count_back,
            color=colour,
            linewidth=2.4,
            marker="o",
            markersize=5,
            label=f"Count-back DSO ({currency})",
        )
        axes.plot(
            positions,
            best,
            color=colour,
            linewidth=1.6,
            linestyle="--",
            marker="s",
            markersize=4,
            alpha=0.85,
            label=f"Best-possible DSO ({currency})",
        )
        last = next((i for i in reversed(positions) if count_back[i] == count_back[i]), None)
        if last is not None:
            axes.annotate(
                f"{count_back[last]:.1f} d",
                (last, count_back[last]),
                textcoords="offset points",
                xytext=(8, 4),
                fontsize=10.5,
                color=colour,
                fontweight="bold",
            )
    axes.set_xticks(
        positions,
        months,
        rotation=45 if len(months) > 12 else 0,
        ha="right" if len(months) > 12 else "center",
    )
    axes.set_xlim(-0.4, len(months) - 0.2)
    axes.set_ylim(bottom=0)
    axes.yaxis.set_major_formatter(_THOUSANDS)
    axes.set_ylabel("Days", fontsize=11, color=INK)
    axes.set_xlabel("Month (the current month up to today)", fontsize=11, color=INK)
    _style(axes, value_axis="y")
    axes.legend(loc="upper left", frameon=False, fontsize=10.5, ncols=2)
    axes.margins(y=0.15)
    return render(figure, image_format)


# --- deliveries ---------------------------------------------------------------------------------------------


def deliveries_chart(
    report: DeliveryReport, image_format: ImageFormat = "png", *, width: int = WIDTH, height: int = HEIGHT
) -> bytes:
    """Deliveries per channel as bars (delivered, failed, the rest), the deviation rate as points on the
    right-hand axis."""
    figure = _figure(width, height)
    total = sum(c.deliveries for c in report.channels)
    _title(
        figure,
        f"Deliveries per channel, {report.period}",
        f"{grouped(total)} deliveries created {report.first_day.isoformat()} to {report.last_day.isoformat()}"
        f" · tenant {report.tenant_id}",
    )
    if not report.channels:
        _nothing(figure, f"No deliveries were created in {report.period}.")
        return render(figure, image_format)
    axes = figure.add_subplot()
    names = [c.channel for c in report.channels]
    delivered = [c.delivered for c in report.channels]
    failed = [c.failed for c in report.channels]
    other = [max(0, c.deliveries - d - f) for c, d, f in zip(report.channels, delivered, failed, strict=True)]
    stacks: list[tuple[str, list[int], str]] = [
        ("Delivered", delivered, DELIVERED),
        ("Failed", failed, FAILED),
        ("Other (in flight, cancelled)", other, OTHER),
    ]
    bottom = [0] * len(names)
    for label, values, colour in stacks:
        axes.bar(
            names,
            values,
            bottom=bottom,
            color=colour,
            label=label,
            width=min(0.6, 0.25 * len(names)),
            edgecolor="white",
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    for index, channel in enumerate(report.channels):
        axes.text(
            index,
            channel.deliveries,
            grouped(channel.deliveries),
            ha="center",
            va="bottom",
            fontsize=10.5,
            color=INK,
            fontweight="bold",
        )
    axes.yaxis.set_major_formatter(_THOUSANDS)
    axes.yaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))
    axes.set_ylabel("Deliveries", fontsize=11, color=INK)
    axes.set_xlabel("Channel", fontsize=11, color=INK)
    axes.set_ylim(0, max(c.deliveries for c in report.channels) * 1.12)
    _style(axes, value_axis="y")
    rates = axes.twinx()
    deviation_rates = [c.deviation_rate_pct for c in report.channels]
    rates.plot(
        names,
        deviation_rates,
        linestyle="none",
        marker="D",
        markersize=8,
        color=RATE,
        label="Deviation rate",
        clip_on=False,
    )
    for index, value in enumerate(deviation_rates):
        rates.annotate(
            f"{value:.1f} %",
            (index, value),
            textcoords="offset points",
            xytext=(0, 10),
            ha="center",
            fontsize=10.5,
            color=RATE,
            fontweight="bold",
            bbox={"boxstyle": "round,pad=0.2", "facecolor": "white", "edgecolor": "none", "alpha": 0.85},
        )
    rates.set_ylim(0, max(10.0, max(deviation_rates) * 1.25))
    rates.set_ylabel("Deviation rate (deviations per 100 deliveries)", fontsize=11, color=RATE)
    rates.yaxis.set_major_formatter(FuncFormatter(lambda value, _position: f"{value:.0f} %"))
    rates.tick_params(colors=RATE, labelsize=11, length=0)
    for side in ("top", "left", "bottom"):
        rates.spines[side].set_visible(False)
    rates.spines["right"].set_color(RATE)
    handles, labels = axes.get_legend_handles_labels()
    more, more_labels = rates.get_legend_handles_labels()
    axes.legend(
        handles + more,
        labels + more_labels,
        loc="lower left",
        bbox_to_anchor=(0, 1.0),
        ncols=4,
        frameon=False,
        fontsize=10.5,
    )
    return render(figure, image_format)


CHARTS: dict[str, Callable[..., bytes]] = {
    "aging": aging_chart,
    "dso": dso_chart,
    "deliveries": deliveries_chart,
}
