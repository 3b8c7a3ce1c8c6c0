"""The digest's chart, for the chat's «Riepilogo» and the daily digest alike: requests
received per day over the last days, stacked by category, as a PNG readable on a phone
(1000×600 px). matplotlib is imported here only; the figure
is drawn straight on the Agg canvas (the Agg backend, no display) without pyplot, so there
is no global figure state and the process's backend setting does not matter."""

import io
from datetime import date, timedelta

from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from handlers.messages import text
from handlers.reports import category_name

WIDTH_INCHES, HEIGHT_INCHES, DPI = 10, 6, 100
COLOURS = {"errand": "#2a9d8f", "childcare": "#e9c46a", "eldercare": "#e76f51"}
OTHER_COLOUR = "#8d99ae"


def requests_chart(series: dict[str, list[int]], last_day: date, language: str) -> bytes:
    """A PNG of `series` (category → requests per day, oldest first, ending on
    `last_day`); titles and category names in `language`, without emoji (the default
    font has none, and missing glyphs would only warn)."""
    days = max((len(counts) for counts in series.values()), default=0) or 1
    day_list = [last_day - timedelta(days=days - 1 - n) for n in range(days)]
    figure = Figure(figsize=(WIDTH_INCHES, HEIGHT_INCHES), dpi=DPI)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    _stacked_bars(axes, series, days, language)
    _decorate(axes, day_list, days, language, empty=not any(map(any, series.values())))
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=DPI)
    return buffer.getvalue()


def _stacked_bars(axes, series: dict[str, list[int]], days: int, language: str) -> None:
    positions = list(range(days))
    bottom = [0] * days
    for category, counts in series.items():
        counts = (list(counts) + [0] * days)[:days]
        axes.bar(positions, counts, bottom=bottom, width=0.8,
                 color=COLOURS.get(category, OTHER_COLOUR),
                 label=category_name(category, language, emoji=False))
        bottom = [b + c for b, c in zip(bottom, counts, strict=True)]
    for position, total in zip(positions, bottom, strict=True):
        if total:  # the day's total on top of its bar, readable without the grid
            axes.annotate(str(total), (position, total), xytext=(0, 2),
                          textcoords="offset points", ha="center", va="bottom", fontsize=9)


def _decorate(axes, day_list: list[date], days: int, language: str, *, empty: bool) -> None:
    axes.set_title(text(language, "report.chart_title", days=days), fontsize=16)
    axes.set_ylabel(text(language, "report.chart_ylabel"), fontsize=12)
    step = max(1, days // 10)
    ticks = list(range(days - 1, -1, -step))[::-1]
    axes.set_xticks(ticks, [day_list[i].strftime("%d/%m") for i in ticks], fontsize=11)
    axes.set_xlim(-0.6, days - 0.4)
    axes.yaxis.set_major_locator(MaxNLocator(integer=True))
    axes.tick_params(axis="y", labelsize=11)
    axes.grid(axis="y", alpha=0.3)
    axes.set_axisbelow(True)
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
    if empty:
        axes.set_ylim(0, 1)
        axes.set_yticks([0, 1])
        axes.text(0.5, 0.5, text(language, "report.chart_empty"), transform=axes.transAxes,
                  ha="center", va="center", fontsize=14, color="#666666")
    axes.legend(loc="upper center", bbox_to_anchor=(0.5, -0.07), ncol=3, fontsize=12,
                frameon=False)
