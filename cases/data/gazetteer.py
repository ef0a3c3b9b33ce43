"""The places that ship with casetracker (``gazetteer.csv`` beside this module) and their loader.

The loader runs in data migrations, on the migration's historical models (``apps``), so it
keeps working when Location changes later. It matches before it creates: a place already stored
under the same parent is reused when its English name is the row's, or the row's name before or
inside the parentheses ("Yining" or "Ghulja" for "Yining (Ghulja)", any letter case), or its
Chinese name is the row's; the last two only for a place of the row's kind. A reused place keeps
what staff wrote: only its empty names and coordinates are filled in. Running it again changes
nothing.

Historical models write no history of their own, so the loader writes the history rows itself:
"+" for each place it creates, "~" for each it fills in, with no user and the reason below. The
migration then chains them (casetracker.integrity.chain_unlinked_operation), as every history
row must be.
"""

import csv
import re
import uuid
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.utils import timezone

CSV_PATH = Path(__file__).with_name("gazetteer.csv")
REASON = "Gazetteer that ships with casetracker (cases/data/gazetteer.csv)."
FILLED = ("name_kk", "name_zh", "name_ru")


@dataclass(frozen=True)
class Row:
    kind: str
    adcode: str
    parent: str
    name_en: str
    name_kk: str
    name_zh: str
    name_ru: str
    latitude: Decimal | None
    longitude: Decimal | None


def read_rows(path: Path = CSV_PATH) -> list[Row]:
    """The file's rows, parents before their children. Lines starting with "#" are comments."""
    with path.open(encoding="utf-8", newline="") as file:
        lines = [line for line in file if not line.startswith("#")]
    rows = []
    for values in csv.DictReader(lines):
        lat, lng = values.pop("latitude"), values.pop("longitude")
        rows.append(
            Row(
                **{key: value.strip() for key, value in values.items()},
                latitude=Decimal(lat) if lat else None,
                longitude=Decimal(lng) if lng else None,
            )
        )
    return rows


def name_variants(name_en: str) -> set[str]:
    """The English name, and the names before and inside its parentheses, case-folded:
    "Yining (Ghulja)" gives "yining (ghulja)", "yining" and "ghulja"."""
    names = {name_en}
    if match := re.fullmatch(r"(.+?) \((.+)\)", name_en):
        names |= {match[1], match[2]}
    return {name.casefold() for name in names}


def _match(siblings: list, row: Row):
    exact = [place for place in siblings if place.name_en == row.name_en]
    if exact:
        return exact[0]
    variants = name_variants(row.name_en)
    same_kind = [place for place in siblings if place.kind == row.kind]
    for found in (
        [place for place in same_kind if place.name_en.casefold() in variants],
        [place for place in same_kind if row.name_zh and place.name_zh == row.name_zh],
    ):
        if found:
            return min(found, key=lambda place: place.pk)
    return None


def _fill_blanks(place, row: Row) -> list[str]:
    """Set the place's empty names and coordinates from the row; the fields changed."""
    changed = []
    for field in FILLED:
        if not getattr(place, field) and getattr(row, field):
            setattr(place, field, getattr(row, field))
            changed.append(field)
    if place.latitude is None and place.longitude is None and row.latitude is not None:
        place.latitude, place.longitude = row.latitude, row.longitude
        changed += ["latitude", "longitude"]
    return changed


def _write_history(history_model, places: list, history_type: str, using: str) -> None:
    copied = [f for f in history_model._meta.concrete_fields if not f.name.startswith("history_")]
    now = timezone.now()
    rows = []
    for place in places:
        row = history_model(
            history_date=now,
            history_type=history_type,
            history_change_reason=REASON,
            history_user=None,
        )
        for field in copied:
            setattr(row, field.attname, getattr(place, field.attname))
        rows.append(row)
    history_model._base_manager.using(using).bulk_create(rows)


def load(apps, using: str = "default", path: Path = CSV_PATH) -> dict[str, int]:
    """Create the gazetteer's places that are missing, fill in the empty fields of those that
    are there, and write their history rows. Returns {"created": n, "filled": n}."""
    location_model = apps.get_model("cases", "Location")
    history_model = apps.get_model("cases", "HistoricalLocation")
    places = location_model._base_manager.using(using)
    by_name, created, filled = {}, [], []
    for row in read_rows(path):
        parent = by_name[row.parent] if row.parent else None
        # A place stands for one row only: "Yining" is Yining (Ghulja), not Yining County too.
        claimed = {place.pk for place in by_name.values()}
        siblings = [p for p in places.filter(parent=parent) if p.pk not in claimed]
        place = _match(siblings, row)
        if place is None:
            place = places.create(
                uid=uuid.uuid4(),
                kind=row.kind,
                parent=parent,
                name_en=row.name_en,
                name_kk=row.name_kk,
                name_zh=row.name_zh,
                name_ru=row.name_ru,
                latitude=row.latitude,
                longitude=row.longitude,
            )
            # Historical models have no custom save(): keep the materialised path here.
            place.path = f"{parent.path if parent else '/'}{place.pk}/"
            places.filter(pk=place.pk).update(path=place.path)
            created.append(place)
        elif changed := _fill_blanks(place, row):
            place.save(update_fields=[*changed, "updated_at"])
            filled.append(place)
        by_name[row.name_en] = place
    _write_history(history_model, created, "+", using)
    _write_history(history_model, filled, "~", using)
    return {"created": len(created), "filled": len(filled)}
