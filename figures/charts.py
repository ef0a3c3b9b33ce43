"""Charts of the statistics as SVG drawn on the server: nothing but the numbers goes to the
browser, no script, no style attribute (the Content-Security-Policy allows neither), and no
library. Each chart is a list of horizontal bars, one per row of a breakdown (the years of
detention as two bars a year: known in the year, and somewhere in a range covering it); the
template (admin/figures/statistics.html) draws them beside the table of the same numbers.
"""

from dataclasses import dataclass

# Geometry, in the SVG's own units (it is scaled to the width of its box).
WIDTH = 640
LABEL_END = 236  # labels end here, right-aligned
BAR_START = 244
BAR_SPACE = 330  # the longest bar
ROW = 22
BAR = 15
LABEL_CHARS = 34


@dataclass
class Bar:
    label: str  # as shown (shortened to LABEL_CHARS)
    title: str  # in full, and the count, for the tooltip and screen readers
    count: int
    x: int
    y: int
    width: int
    css: str
    link: str = ""

    @property
    def count_x(self) -> int:
        return self.x + self.width + 4


def shortened(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def chart(name: str, breakdown, link=None) -> dict:
    """The bars of a breakdown: ``link(name, row)`` gives the address a bar leads to ("" for
    none). Rows with no count (hidden) have no bar."""
    rows = [r for r in breakdown.rows if r["count"] is not None]
    longest = max((r["count"] for r in rows), default=0) or 1
    bars = []
    for index, r in enumerate(rows):
        certainty = r.get("certainty") or ""
        css = "bar" + (f" bar-{certainty}" if certainty else "")
        if r["value"] in ("uncertain", "unknown"):
            css += " bar-vague"
        bars.append(
            Bar(
                label=shortened(r["label"]),
                title=f"{r['label']}: {r['count']}",
                count=r["count"],
                x=BAR_START,
                y=index * ROW,
                width=round(BAR_SPACE * r["count"] / longest),
                css=css,
                link=link(name, r) if link else "",
            )
        )
    return {
        "width": WIDTH,
        "height": max(len(bars), 1) * ROW,
        "label_end": LABEL_END,
        "bar_height": BAR,
        "text_dy": BAR - 3,
        "bars": bars,
    }
