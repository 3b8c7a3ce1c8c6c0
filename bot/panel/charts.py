"""Small SVG charts drawn on the server (no script, nothing fetched): requests per day by
category (stacked bars), the fund over time (a line against its total), and a share per
organisation (horizontal bars). Each chart has a title and a description for screen
readers; the figures themselves are also in the page's tables."""

from itertools import count

from markupsafe import Markup, escape

_ids = count(1)  # unique ids for the title and description of each chart in a page

WIDTH, HEIGHT = 640, 220
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 10, 28


def _frame(title: str, description: str, body: list[str], height: int = HEIGHT) -> Markup:
    n = next(_ids)
    return Markup(
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="chart-t{n} chart-d{n}" xmlns="http://www.w3.org/2000/svg">'
        f'<title id="chart-t{n}">{escape(title)}</title>'
        f'<desc id="chart-d{n}">{escape(description)}</desc>{"".join(body)}</svg>')


def _nice_top(value: float) -> float:
    """A round number at least `value` for the top of the axis."""
    if value <= 0:
        return 1
    step = 10 ** (len(str(int(value))) - 1)
    for multiple in (1, 2, 2.5, 5, 10):
        if value <= multiple * step:
            return multiple * step
    return 10 * step


def _axis(top: float, label) -> list[str]:
    plot_h = HEIGHT - TOP - BOTTOM
    lines = []
    for fraction in (0, 0.5, 1):
        y = TOP + plot_h * (1 - fraction)
        lines.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                     f'stroke="#c8c8c8" stroke-width="1"/>')
        lines.append(f'<text x="{LEFT - 4}" y="{y + 4:.1f}" text-anchor="end">'
                     f'{escape(label(top * fraction))}</text>')
    return lines


def _x_labels(labels: list[str], slot: float) -> list[str]:
    every = max(1, len(labels) // 8)
    return [f'<text x="{LEFT + slot * (i + 0.5):.1f}" y="{HEIGHT - 10}" '
            f'text-anchor="middle">{escape(text)}</text>'
            for i, text in enumerate(labels) if i % every == 0]


def stacked_bars(series: dict[str, list[int]], labels: list[str], names: dict[str, str],
                 title: str, description: str, number=str) -> Markup:
    """One bar per label, stacked by series (in the order of `series`)."""
    count = len(labels)
    totals = [sum(values[i] for values in series.values()) for i in range(count)]
    top = _nice_top(max(totals, default=0))
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    body = _axis(top, lambda v: number(round(v)))
    for i in range(count):
        y = TOP + plot_h
        for index, (key, values) in enumerate(series.items()):
            if not values[i]:
                continue
            h = plot_h * values[i] / top
            y -= h
            body.append(f'<rect class="c{index % 5}" x="{LEFT + slot * i + slot * 0.1:.1f}" '
                        f'y="{y:.1f}" width="{slot * 0.8:.1f}" height="{h:.1f}">'
                        f'<title>{escape(labels[i])}: {escape(names.get(key, key))} '
                        f'{escape(number(values[i]))}</title></rect>')
    body += _x_labels(labels, slot)
    return _frame(title, description, body)


def line(values: list[int], labels: list[str], ceiling: int | None, title: str,
         description: str, money) -> Markup:
    """A line of `values` (cents) over the labels, with `ceiling` (the total) dashed."""
    count = len(values)
    top = _nice_top(max([*values, ceiling or 0, 1]) / 100) * 100
    plot_h = HEIGHT - TOP - BOTTOM
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    body = _axis(top, lambda v: money(int(v)))
    points = " ".join(f"{LEFT + slot * (i + 0.5):.1f},{TOP + plot_h * (1 - v / top):.1f}"
                      for i, v in enumerate(values))
    if ceiling:
        y = TOP + plot_h * (1 - ceiling / top)
        body.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" '
                    f'stroke="#8a1c1c" stroke-dasharray="6 4" stroke-width="1.5"/>')
    body.append(f'<polyline points="{points}" fill="none" stroke="#0b5394" stroke-width="2.5"/>')
    body += _x_labels(labels, slot)
    return _frame(title, description, body)


def share_bars(rows: list[tuple[str, int, int]], title: str, description: str,
               percent) -> Markup:
    """One horizontal bar per (name, part, whole): the share part/whole, e.g. workers who
    used the service of those enrolled."""
    height = TOP + 26 * max(len(rows), 1) + 8
    label_w, bar_w = 230, WIDTH - 230 - 70
    body = []
    for i, (name, part, whole) in enumerate(rows):
        y = TOP + 26 * i
        share = part / whole if whole else 0
        body.append(f'<text x="{label_w - 6}" y="{y + 15}" text-anchor="end">'
                    f'{escape(name[:34])}</text>')
        body.append(f'<rect x="{label_w}" y="{y + 3}" width="{bar_w}" height="16" '
                    f'fill="#f3f5f7" stroke="#c8c8c8"/>')
        body.append(f'<rect class="c0" x="{label_w}" y="{y + 3}" width="{bar_w * share:.1f}" '
                    f'height="16"><title>{escape(name)}: {part}/{whole}</title></rect>')
        body.append(f'<text x="{label_w + bar_w + 6}" y="{y + 15}">'
                    f'{escape(percent(share) if whole else "—")}</text>')
    return _frame(title, description, body, height)
