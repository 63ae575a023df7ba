"""Server-rendered SVG charts for the dashboard: geometry computed here, drawn by a template (no JS library)."""

from dataclasses import dataclass

BAR_ROW_H = 26
BAR_AREA_W = 260
LABEL_W = 150


@dataclass
class Bar:
    """One horizontal bar: label, value, link into the filtered list, and its geometry."""

    label: str
    value: int
    href: str
    y: int
    width: int
    text_x: int


@dataclass
class Column:
    """One day's column in the per-day chart."""

    label: str
    value: int
    href: str
    x: int
    y: int
    height: int
    tick: bool


def bar_chart(items: list[tuple[str, int, str]]) -> dict:
    """Geometry of a horizontal bar chart: rows of (label, value, href)."""
    peak = max((value for _, value, _ in items), default=0) or 1
    bars = []
    for index, (label, value, href) in enumerate(items):
        width = max(2, round(BAR_AREA_W * value / peak)) if value else 0
        bars.append(Bar(label, value, href, index * BAR_ROW_H, width, LABEL_W + width + 6))
    return {
        "bars": bars,
        "height": max(1, len(bars)) * BAR_ROW_H,
        "width": LABEL_W + BAR_AREA_W + 70,
        "label_w": LABEL_W,
    }


def day_chart(days: list[tuple[str, int, str]], *, height: int = 150, column_w: int = 10, gap: int = 3) -> dict:
    """Geometry of a column chart of one value per day (ISO date, count, href); every 5th day labelled."""
    peak = max((value for _, value, _ in days), default=0) or 1
    plot_h = height - 22
    columns = []
    for index, (day, value, href) in enumerate(days):
        h = round(plot_h * value / peak) if value else 0
        h = max(h, 2) if value else 0
        x = index * (column_w + gap)
        columns.append(Column(day[5:], value, href, x, plot_h - h, h, index % 5 == 0 or index == len(days) - 1))
    return {
        "columns": columns,
        "width": max(1, len(days)) * (column_w + gap),
        "height": height,
        "plot_h": plot_h,
        "column_w": column_w,
        "peak": peak if any(value for _, value, _ in days) else 0,
    }
