"""Charts of the statistics as SVG drawn on the server: nothing but the numbers goes to the
browser, no script, no style attribute (the Content-Security-Policy allows neither), and no
library. Each chart is a list of horizontal bars, one per row of a breakdown (the years of
first detention as one bar a year in two parts: known in the year, then somewhere in a range
covering it); the template (admin/figures/statistics.html) draws them beside the table of
the same numbers.
The place breakdowns have a map as well: a point for each place, sized by its count, over
the outlines of the region's countries (Natural Earth, shipped in figures/data: no tiles, no
request elsewhere).
"""

import json
import math
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from django.utils.translation import gettext_lazy as _

from figures.breakdowns import PLACE_BREAKDOWNS

# Geometry, in the SVG's own units (it is scaled to the width of its box).
WIDTH = 640
LABEL_END = 236  # labels end here, right-aligned
BAR_START = 244
BAR_SPACE = 330  # the longest bar
ROW = 22
BAR = 15
LABEL_CHARS = 34
# Bars a chart draws at most: the largest rows, then those saying what is uncertain or
# unknown; the table beside it lists every row.
MOST_BARS = 25


@dataclass
class Segment:
    """A part of a bar: one row of the breakdown."""

    title: str  # the row's label in full and its count: the tooltip, for screen readers
    x: int
    width: int
    css: str
    link: str = ""


@dataclass
class Bar:
    label: str  # as shown (shortened to LABEL_CHARS)
    y: int
    segments: list[Segment]
    count_text: str

    @property
    def count_x(self) -> int:
        end = self.segments[-1]
        return end.x + end.width + 4


def shortened(text: str) -> str:
    return text if len(text) <= LABEL_CHARS else text[: LABEL_CHARS - 1].rstrip() + "…"


def css_of(r: dict) -> str:
    certainty = r.get("certainty") or ""
    css = "bar" + (f" bar-{certainty}" if certainty else "")
    return css + (" bar-vague" if r["value"] in ("uncertain", "unknown") else "")


def lines_of(name: str, rows: list[dict]) -> tuple[list[tuple[str, list[dict]]], int]:
    """The chart's lines (a label and the rows drawn on it, end to end) and how many rows are
    left to the table. The years of first detention: a line a year, known then somewhere in
    a range, stacked. Series in time keep every row; other charts the MOST_BARS largest,
    then those saying what is uncertain or unknown."""
    if name == "detention_year":
        years: dict = {}
        for r in rows:
            label = str(r["year"]) if r.get("year") is not None else r["label"]
            years.setdefault(label, []).append(r)
        return list(years.items()), 0
    lines = [(r["label"], [r]) for r in rows]
    if name in TIME_SERIES:
        return lines, 0
    vague = [line for line in lines if line[1][0]["value"] in ("uncertain", "unknown")]
    lines = [line for line in lines if line not in vague]
    left_out = max(0, len(lines) - MOST_BARS)
    if left_out:  # the largest, in the rows' order
        kept = sorted(lines, key=lambda line: -line[1][0]["count"])[:MOST_BARS]
        lines = [line for line in lines if any(line is k for k in kept)]
    return lines + vague, left_out


# Breakdowns by time: every row drawn, in order.
TIME_SERIES = {"detention_year", "added_month", "verified_month"}


def chart(name: str, breakdown, link=None) -> dict:
    """The bars of a breakdown: ``link(name, row)`` gives the address a row's bar leads to
    ("" for none). Rows with no count (hidden) have no bar."""
    rows = [r for r in breakdown.rows if r["count"] is not None]
    lines, left_out = lines_of(name, rows)
    longest = max((sum(r["count"] for r in parts) for _label, parts in lines), default=0) or 1
    bars = []
    for index, (label, parts) in enumerate(lines):
        segments, x = [], BAR_START
        for r in parts:
            width = round(BAR_SPACE * r["count"] / longest)
            segments.append(
                Segment(
                    title=f"{r['label']}: {r['count']}",
                    x=x,
                    width=width,
                    css=css_of(r),
                    link=link(name, r) if link else "",
                )
            )
            x += width
        bars.append(
            Bar(
                label=shortened(label),
                y=index * ROW,
                segments=segments,
                count_text=" + ".join(str(r["count"]) for r in parts),
            )
        )
    return {
        "width": WIDTH,
        "height": max(len(bars), 1) * ROW,
        "label_end": LABEL_END,
        "bar_height": BAR,
        "text_dy": BAR - 3,
        "bars": bars,
        "left_out": left_out,
        "stacked": name == "detention_year",
    }


def sections(statistics, link=None) -> list[dict]:
    """What a statistics page draws of each breakdown (templates/figures/breakdown.html):
    its chart, its map for places, and its rows, each with the address ``link(name, row)``
    gives."""
    return [
        {
            "name": name,
            "breakdown": breakdown,
            "chart": chart(name, breakdown, link),
            "map": place_map(name, breakdown, link) if name in PLACE_BREAKDOWNS else None,
            "rows": [{**row, "link": link(name, row) if link else ""} for row in breakdown.rows],
        }
        for name, breakdown in statistics.breakdowns.items()
    ]


# --- the map ------------------------------------------------------------------------------

REGION = Path(__file__).resolve().parent / "data" / "region.json"
# The countries region.json outlines, by ISO 3166 code, in the reader's language.
COUNTRIES = {
    "afg": _("Afghanistan"),
    "chn": _("China"),
    "ind": _("India"),
    "kaz": _("Kazakhstan"),
    "kgz": _("Kyrgyzstan"),
    "mng": _("Mongolia"),
    "pak": _("Pakistan"),
    "rus": _("Russia"),
    "tjk": _("Tajikistan"),
    "tkm": _("Turkmenistan"),
    "uzb": _("Uzbekistan"),
}
MAP_WIDTH = 640
SMALLEST, LARGEST = 3, 18  # a point's radius for the fewest and the most cases


@dataclass
class Point:
    title: str
    count: int
    x: float
    y: float
    r: float
    link: str = ""


@lru_cache(maxsize=1)
def region() -> dict:
    """The country outlines (Natural Earth, public domain: figures/data/region.json) drawn as
    SVG paths in an equirectangular projection of the region's bounds, scaled to MAP_WIDTH,
    and the projection."""
    data = json.loads(REGION.read_text(encoding="utf-8"))
    bounds = data["bounds"]
    middle = math.radians((bounds["south"] + bounds["north"]) / 2)
    scale = MAP_WIDTH / ((bounds["east"] - bounds["west"]) * math.cos(middle))

    def project(lon: float, lat: float) -> tuple[float, float]:
        x = (lon - bounds["west"]) * math.cos(middle) * scale
        return round(x, 1), round((bounds["north"] - lat) * scale, 1)

    land = []
    for country in data["countries"]:
        d = " ".join(
            "M" + " L".join("{},{}".format(*project(lon, lat)) for lon, lat in ring) + " Z"
            for ring in country["rings"]
        )
        land.append({"name": country["name"], "code": country["iso_a3"].lower(), "d": d})
    height = round((bounds["north"] - bounds["south"]) * scale)
    return {"width": MAP_WIDTH, "height": height, "land": land, "project": project}


def place_map(name: str, breakdown, link=None) -> dict | None:
    """Points sized by count (by area) at the coordinates of a place breakdown's places, over
    the outlines of the region's countries; None when no counted place has coordinates.
    ``outside``: the places counted that the map cannot show (no coordinates, or beyond its
    bounds), which the table beside it still lists."""
    drawn = region()
    placed, outside = [], 0
    for r in breakdown.rows:
        place = r.get("place")
        if not place or not r["count"]:
            continue
        if place.get("latitude") is None or place.get("longitude") is None:
            outside += 1
            continue
        x, y = drawn["project"](float(place["longitude"]), float(place["latitude"]))
        if not (0 <= x <= drawn["width"] and 0 <= y <= drawn["height"]):
            outside += 1
            continue
        placed.append((r, x, y))
    if not placed:
        return None
    most = max(r["count"] for r, _x, _y in placed)
    points = [
        Point(
            title=f"{r['label']}: {r['count']}",
            count=r["count"],
            x=x,
            y=y,
            r=round(SMALLEST + (LARGEST - SMALLEST) * math.sqrt(r["count"] / most), 1),
            link=link(name, r) if link else "",
        )
        for r, x, y in placed
    ]
    points.sort(key=lambda point: -point.r)  # the small ones drawn last, on top
    return {
        "width": drawn["width"],
        "height": drawn["height"],
        "land": [
            {**country, "name": str(COUNTRIES.get(country["code"], country["name"]))}
            for country in drawn["land"]
        ],
        "points": points,
        "outside": outside,
    }
