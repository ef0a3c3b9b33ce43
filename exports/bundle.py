"""Writing an export bundle, and checking one.

A bundle is a directory (or a zip of it) holding cases.csv, events.csv, names.csv,
sources.csv, un_opinions.csv, cases.json (or cases.jsonl), cases.xlsx, DATA-DICTIONARY.md and
manifest.json.
Cases are read once, in the order given (exports.services orders them by reference), and
every file is written as they come: nothing holds more than one case in memory.

The data files are deterministic: the same cases give the same bytes (fixed zip timestamps
and entry order, fixed XLSX document dates). Only manifest.json's ``generated_at`` changes.
"""

import csv
import hashlib
import io
import json
import shutil
import tempfile
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from django.utils.translation import gettext
from openpyxl import Workbook, load_workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.packaging.core import DocumentProperties
from openpyxl.styles import Font
from openpyxl.xml.functions import tostring
from rest_framework.utils.encoders import JSONEncoder

from exports import dictionary
from exports.tables import Table, cell, tables
from figures import breakdowns

FORMATS = ("csv", "json", "xlsx")
CSV_FILES = ["cases.csv", "events.csv", "names.csv", "sources.csv", "un_opinions.csv"]
JSON_FILE, JSONL_FILE, XLSX_FILE = "cases.json", "cases.jsonl", "cases.xlsx"
DICTIONARY_FILE, MANIFEST_FILE = "DATA-DICTIONARY.md", "manifest.json"
STATISTICS_FILE, STATISTICS_SHEET = "statistics.csv", "Statistics"
# The order of the files in a zip, and in the manifest.
FILE_ORDER = [
    *CSV_FILES,
    JSON_FILE,
    JSONL_FILE,
    XLSX_FILE,
    STATISTICS_FILE,
    DICTIONARY_FILE,
    MANIFEST_FILE,
]
MANIFEST_FORMAT = "casetracker case export"
# Zip entries and XLSX document properties carry this date, not the time of the export: the
# same data must give the same bytes. The export's own time is in manifest.json.
FIXED_TIME = (1980, 1, 1, 0, 0, 0)
XLSX_MAX_ROWS = 1_048_576  # rows on one Excel sheet, its header row included
XLSX_MAX_CELL = 32_767  # characters in one Excel cell
CHUNK = 1 << 20


class BundleError(Exception):
    """The bundle cannot be written as asked; the message says why and what to do."""


def software_version() -> str:
    try:
        return version("casetracker")
    except PackageNotFoundError:  # running from a checkout that was never installed
        return "unknown"


# --- Writers, one per format; each takes the cases one by one ---------------------------


class CsvFiles:
    """cases.csv, events.csv, names.csv, sources.csv: UTF-8 with a byte-order mark (Excel needs
    it to read UTF-8), CRLF line ends and quoting as RFC 4180 says."""

    def __init__(self, directory: Path, tables: list[Table]):
        self.tables = tables
        self.files = [
            (directory / t.filename).open("w", encoding="utf-8-sig", newline="") for t in tables
        ]
        self.writers = [csv.writer(f) for f in self.files]
        self.counts = dict.fromkeys((t.filename for t in tables), 0)
        for table, writer in zip(tables, self.writers, strict=True):
            writer.writerow(table.header())

    def add(self, case: dict, rows: list[list[list[str]]]) -> None:
        for table, writer, table_rows in zip(self.tables, self.writers, rows, strict=True):
            writer.writerows(table_rows)
            self.counts[table.filename] += len(table_rows)

    def close(self) -> dict:
        for f in self.files:
            f.close()
        return self.counts

    def abort(self) -> None:
        for f in self.files:
            f.close()


class Stored:
    """A case's representation as stored JSON text (a published snapshot, snapshots.writer):
    cases.json writes the text as it is, and the tables parse it only if they are written."""

    __slots__ = ("_data", "text")

    def __init__(self, text: str):
        self.text, self._data = text, None

    @property
    def data(self) -> dict:
        if self._data is None:
            self._data = json.loads(self.text)
        return self._data


class JsonFile:
    """cases.json: a JSON array of the cases exactly as the partner API's case detail gives
    them, one case a line; or cases.jsonl, JSON Lines: one case a line, nothing else."""

    def __init__(self, directory: Path, lines: bool):
        self.filename = JSONL_FILE if lines else JSON_FILE
        self.lines = lines
        self.file = (directory / self.filename).open("w", encoding="utf-8", newline="\n")
        self.count = 0
        if not lines:
            self.file.write("[")

    def add(self, case, rows) -> None:
        if isinstance(case, Stored):
            text = case.text
        else:
            text = json.dumps(case, cls=JSONEncoder, ensure_ascii=False, separators=(",", ":"))
        if self.lines:
            self.file.write(text + "\n")
        else:
            self.file.write(("\n" if self.count == 0 else ",\n") + text)
        self.count += 1

    def abort(self) -> None:
        self.file.close()

    def close(self) -> dict:
        if not self.lines:
            self.file.write("\n]\n" if self.count else "]\n")
        self.file.close()
        return {self.filename: self.count}


class XlsxFile:
    """cases.xlsx: the four tables as sheets, then the data dictionary, written with
    openpyxl's write-only workbook (rows go to temporary files as they come). Every cell is
    text, so that Excel does not turn 2024-04 into a date or drop a leading zero. A table
    with more rows than a sheet holds goes on in "Events (2)" and so on."""

    def __init__(self, directory: Path, tables: list[Table]):
        self.path = directory / XLSX_FILE
        self.tables = tables
        self.workbook = Workbook(write_only=True)
        # Each table's sheets, as [worksheet, data rows written, title].
        self.sheets: dict[str, list] = {t.name: [] for t in tables}
        self.counts: dict[str, int] = {}
        for table in tables:
            self._new_sheet(table)

    def _new_sheet(self, table: Table):
        part = len(self.sheets[table.name]) + 1
        title = table.sheet if part == 1 else f"{table.sheet} ({part})"
        sheet = self.workbook.create_sheet(title)
        sheet.freeze_panes = "A2"
        # Headings for people in the bundle's language; the Data dictionary sheet gives each
        # one's column code, the stable name in the CSV files and cases.json.
        self._header(sheet, table.headings())
        self.sheets[table.name].append([sheet, 0, title])
        self.counts[title] = 0
        return self.sheets[table.name][-1]

    def _header(self, sheet, names):
        cells = []
        for name in names:
            header = WriteOnlyCell(sheet, value=name)
            header.font = Font(bold=True)
            cells.append(header)
        sheet.append(cells)

    def add(self, case: dict, rows: list[list[list[str]]]) -> None:
        for table, table_rows in zip(self.tables, rows, strict=True):
            current = self.sheets[table.name][-1]
            for row in table_rows:
                if current[1] + 1 >= XLSX_MAX_ROWS:
                    current = self._new_sheet(table)
                for value in row:
                    if len(value) > XLSX_MAX_CELL:
                        raise BundleError(
                            gettext(
                                "%(reference)s: a %(table)s cell holds %(length)s characters; "
                                "an Excel cell holds at most %(limit)s. Export without XLSX "
                                "(--format csv,json)."
                            )
                            % {
                                "reference": case["reference"],
                                "table": table.name,
                                "length": f"{len(value):,}",
                                "limit": f"{XLSX_MAX_CELL:,}",
                            }
                        )
                # An empty cell is left out of the sheet (it reads back empty): less to write.
                current[0].append([value or None for value in row])
                current[1] += 1
                self.counts[current[2]] += 1

    def abort(self) -> None:
        """Remove the sheets' temporary files now: openpyxl would keep them (in the system's
        temporary directory) until the process ends."""
        for parts in self.sheets.values():
            for sheet, _, _ in parts:
                try:
                    sheet.close()
                finally:
                    sheet._writer.cleanup()

    def close(self, staff: bool, statistics: list[list] | None = None) -> dict:
        if statistics is not None:
            sheet = self.workbook.create_sheet(STATISTICS_SHEET)
            self._header(sheet, breakdowns.TABLE_HEADER)
            for row in statistics:
                sheet.append([cell(value) if isinstance(value, str) else value for value in row])
            self.counts[STATISTICS_SHEET] = len(statistics)
        sheet = self.workbook.create_sheet("Data dictionary")
        self._header(sheet, dictionary.sheet_header())
        rows = 0
        for row in dictionary.sheet_rows(staff):
            sheet.append([cell(value) for value in row])
            rows += 1
        self.counts["Data dictionary"] = rows
        self.workbook.properties = DocumentProperties(
            creator="casetracker", title="casetracker case export"
        )
        raw = self.path.with_suffix(".unnormalised")
        self.workbook.save(raw)
        # openpyxl stamps the document and every zip entry with the time of saving.
        core = DocumentProperties(
            creator="casetracker",
            title="casetracker case export",
            created=datetime(*FIXED_TIME),
            modified=datetime(*FIXED_TIME),
        )
        with zipfile.ZipFile(raw) as source, deterministic_zip(self.path) as target:
            for info in source.infolist():
                if info.filename == "docProps/core.xml":
                    add_bytes(target, info.filename, tostring(core.to_tree()))
                else:
                    with source.open(info) as data:
                        add_stream(target, info.filename, data, info.file_size)
        raw.unlink()
        return {XLSX_FILE: self.counts}


# --- Zips with fixed timestamps ------------------------------------------------------------


def deterministic_zip(path: Path) -> zipfile.ZipFile:
    return zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=6)


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=FIXED_TIME)
    info.compress_type = zipfile.ZIP_DEFLATED
    info.create_system = 3  # Unix, wherever the export runs
    info.external_attr = 0o644 << 16
    return info


def add_stream(archive: zipfile.ZipFile, name: str, data, size: int) -> None:
    with archive.open(_entry(name), "w", force_zip64=size >= zipfile.ZIP64_LIMIT) as target:
        shutil.copyfileobj(data, target, CHUNK)


def add_bytes(archive: zipfile.ZipFile, name: str, data: bytes) -> None:
    add_stream(archive, name, io.BytesIO(data), len(data))


def zip_directory(directory: Path, names: list[str], path: Path) -> None:
    with deterministic_zip(path) as archive:
        for name in names:
            file = directory / name
            with file.open("rb") as data:
                add_stream(archive, name, data, file.stat().st_size)


# --- The bundle ------------------------------------------------------------------------------


@dataclass
class Written:
    """What write_files() wrote: records per file, and the files in bundle order."""

    counts: dict
    names: list[str]


def write_files(
    cases: Iterable[dict | Stored],
    directory: Path,
    *,
    formats: Iterable[str] = FORMATS,
    jsonl: bool = False,
    staff: bool = False,
    progress: Callable[[], None] | None = None,
    statistics: list[list] | None = None,
) -> Written:
    """Write the data files and the data dictionary of ``cases`` (their API representations,
    in order, or their stored text) into ``directory``; and ``statistics`` (the rows of
    figures.breakdowns.table()) as statistics.csv and an XLSX sheet, when given."""
    formats = set(formats)
    table_list = tables(staff)
    writers = []
    if "csv" in formats:
        writers.append(CsvFiles(directory, table_list))
    if "json" in formats:
        writers.append(JsonFile(directory, jsonl))
    xlsx = XlsxFile(directory, table_list) if "xlsx" in formats else None
    if xlsx:
        writers.append(xlsx)
    try:
        tabled = "csv" in formats or xlsx is not None
        for case in cases:
            data = case.data if isinstance(case, Stored) and tabled else case
            rows = [list(table.rows(data)) for table in table_list] if tabled else []
            for writer in writers:
                # cases.json takes the stored text as it is; the tables, the parsed case.
                writer.add(case if isinstance(writer, JsonFile) else data, rows)
            if progress:
                progress()
    except BaseException:
        for writer in writers:
            writer.abort()
        raise
    counts = {}
    for writer in writers:
        counts.update(writer.close(staff, statistics) if writer is xlsx else writer.close())
    if statistics is not None:
        with (directory / STATISTICS_FILE).open("w", encoding="utf-8-sig", newline="") as file:
            out = csv.writer(file)
            out.writerow(breakdowns.TABLE_HEADER)
            out.writerows([cell(value) for value in row] for row in statistics)
        counts[STATISTICS_FILE] = len(statistics)
    (directory / DICTIONARY_FILE).write_text(dictionary.markdown(staff), encoding="utf-8")
    counts[DICTIONARY_FILE] = None
    names = [name for name in FILE_ORDER if name in counts]
    return Written(counts, names)


def sha256_of(file) -> str:
    digest = hashlib.sha256()
    for block in iter(lambda: file.read(CHUNK), b""):
        digest.update(block)
    return digest.hexdigest()


def build_manifest(
    *,
    generated_at: datetime,
    scope: str,
    filters: dict,
    selection: dict | None,
    base_url: str,
    directory: Path,
    written: Written,
    audit_chain_head: tuple[int, str],
    language: str = "en",
) -> dict:
    """manifest.json: what the bundle is and how to check it.

    ``audit_chain_head`` is the audit chain's (position, hash) when the cases were read: a
    recipient who keeps the manifest holds a copy of the head outside the server, which
    ``verify_audit --head POSITION:HASH`` checks the live chain against later."""
    files = {}
    for name in written.names:
        with (directory / name).open("rb") as file:
            digest = sha256_of(file)
        files[name] = {
            "sha256": digest,
            "bytes": (directory / name).stat().st_size,
            "records": written.counts[name],
        }
    return {
        "format": MANIFEST_FORMAT,
        "format_version": 1,
        "generated_at": generated_at.astimezone(UTC).isoformat().replace("+00:00", "Z"),
        "software": {"name": "casetracker", "version": software_version()},
        "scope": scope,
        "filters": filters,
        "selection": selection,
        "base_url": base_url,
        "order": "case reference",
        # The language of DATA-DICTIONARY.md and of cases.xlsx's headings and dictionary sheet.
        "language": language,
        "audit_chain": {"position": audit_chain_head[0], "hash": audit_chain_head[1]},
        "files": files,
    }


def manifest_bytes(manifest: dict) -> bytes:
    return (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()


# --- Checking a bundle -------------------------------------------------------------------


class Bundle:
    """A bundle to check: a directory or a zip, read file by file."""

    def __init__(self, path: Path):
        self.path = path
        self.zip = zipfile.ZipFile(path) if path.is_file() else None

    def names(self) -> set[str]:
        if self.zip:
            return {n for n in self.zip.namelist() if not n.endswith("/")}
        return {str(p.relative_to(self.path)) for p in self.path.rglob("*") if p.is_file()}

    def open(self, name: str):
        return self.zip.open(name) if self.zip else (self.path / name).open("rb")

    def close(self):
        if self.zip:
            self.zip.close()


def count_records(bundle: Bundle, name: str):
    """Records in a file, counted the way the export counted them."""
    if name.endswith(".csv"):
        with bundle.open(name) as raw:
            text = io.TextIOWrapper(raw, encoding="utf-8-sig", newline="")
            return max(sum(1 for _ in csv.reader(text)) - 1, 0)
    if name == JSONL_FILE:
        with bundle.open(name) as raw:
            return sum(1 for line in io.TextIOWrapper(raw, encoding="utf-8") if json.loads(line))
    if name == JSON_FILE:
        # One case a line between "[" and "]" (as written): counted without loading the
        # whole array, and every line must be JSON.
        count = 0
        with bundle.open(name) as raw:
            for line in io.TextIOWrapper(raw, encoding="utf-8"):
                line = line.strip().removesuffix(",")
                if line not in ("[", "]", "[]"):
                    json.loads(line)
                    count += 1
        return count
    if name == XLSX_FILE:
        with tempfile.NamedTemporaryFile(suffix=".xlsx") as copy:
            with bundle.open(name) as raw:
                shutil.copyfileobj(raw, copy, CHUNK)
            copy.flush()
            workbook = load_workbook(copy.name, read_only=True)
            try:
                return {
                    sheet.title: max(sum(1 for _ in sheet.iter_rows(values_only=True)) - 1, 0)
                    for sheet in workbook.worksheets
                }
            finally:
                workbook.close()
    return None


def verify(path: Path, manifest_sha256: str | None = None) -> tuple[dict | None, list[str]]:
    """Recompute every hash, size and record count of a bundle against its manifest.
    Returns (manifest, differences); no differences means the bundle is as exported. A
    damaged bundle or manifest is a difference too, never an exception."""
    path = Path(path)
    if not path.exists():
        return None, [f"{path} does not exist."]
    try:
        bundle = Bundle(path)
    except zipfile.BadZipFile:
        return None, [f"{path} is neither a directory nor a zip file."]
    except OSError as error:
        return None, [f"{path} cannot be read ({error.strerror or error})."]
    try:
        return _verify(bundle, manifest_sha256)
    except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as error:
        # A zip whose directory opened but whose contents do not read back, or a file that
        # cannot be read at all.
        return None, [f"{path} cannot be read as a bundle ({type(error).__name__}: {error})."]
    finally:
        bundle.close()


def _is_count(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _manifest_problems(manifest) -> list[str]:
    """What keeps ``manifest`` (parsed manifest.json) from being checked, each naming its key:
    the shape verify_export relies on, as build_manifest writes it."""
    if not isinstance(manifest, dict):
        return [f"{MANIFEST_FILE} is not a JSON object: not a casetracker export manifest."]
    problems = []
    if manifest.get("format") != MANIFEST_FORMAT:
        problems.append(
            f'{MANIFEST_FILE}: "format" is {manifest.get("format")!r}, '
            f"not {MANIFEST_FORMAT!r}: not a casetracker export manifest."
        )
    if not isinstance(manifest.get("generated_at"), str):
        problems.append(f'{MANIFEST_FILE}: "generated_at" is missing or not a text.')
    software = manifest.get("software")
    if not isinstance(software, dict) or not isinstance(software.get("version"), str):
        problems.append(f'{MANIFEST_FILE}: "software" is missing or has no "version" text.')
    files = manifest.get("files")
    if not isinstance(files, dict):
        problems.append(f'{MANIFEST_FILE}: "files" is missing or not an object of files.')
        return problems
    for name, expected in files.items():
        where = f'{MANIFEST_FILE}: "files" → "{name}"'
        if not isinstance(expected, dict):
            problems.append(f"{where} is not an object with sha256, bytes and records.")
            continue
        if not isinstance(expected.get("sha256"), str):
            problems.append(f'{where}: "sha256" is missing or not a text.')
        if not _is_count(expected.get("bytes")):
            problems.append(f'{where}: "bytes" is missing or not a whole number.')
        records = expected.get("records")
        if not (
            records is None
            or _is_count(records)
            or (isinstance(records, dict) and all(_is_count(n) for n in records.values()))
        ):
            problems.append(f'{where}: "records" is not a count, a count per sheet or null.')
    return problems


def _verify(bundle: Bundle, manifest_sha256: str | None) -> tuple[dict | None, list[str]]:
    names = bundle.names()
    if MANIFEST_FILE not in names:
        return None, [f"{MANIFEST_FILE} is missing: nothing to check the files against."]
    with bundle.open(MANIFEST_FILE) as raw:
        data = raw.read()
    differences = []
    if manifest_sha256 and hashlib.sha256(data).hexdigest() != manifest_sha256.lower():
        differences.append(
            f"{MANIFEST_FILE}: SHA-256 is {hashlib.sha256(data).hexdigest()}, "
            f"not {manifest_sha256.lower()} as expected."
        )
    try:
        manifest = json.loads(data)
    except ValueError as error:  # not UTF-8, or not JSON
        return None, [*differences, f"{MANIFEST_FILE} is not valid JSON ({error})."]
    if problems := _manifest_problems(manifest):
        return None, [*differences, *problems]
    files = manifest["files"]
    for name, expected in files.items():
        if name not in names:
            differences.append(f"{name}: missing.")
            continue
        try:
            with bundle.open(name) as file:
                digest = sha256_of(file)
        except (OSError, zipfile.BadZipFile, EOFError, zlib.error) as error:
            differences.append(f"{name}: cannot be read ({type(error).__name__}: {error}).")
            continue
        if digest != expected.get("sha256"):
            differences.append(
                f"{name}: SHA-256 is {digest}, the manifest says {expected.get('sha256')}."
            )
        size = (
            bundle.zip.getinfo(name).file_size
            if bundle.zip
            else (bundle.path / name).stat().st_size
        )
        if size != expected.get("bytes"):
            differences.append(f"{name}: {size} bytes, the manifest says {expected.get('bytes')}.")
        try:
            records = count_records(bundle, name)
        except Exception as error:  # any damage is a difference to report
            differences.append(f"{name}: cannot be read ({type(error).__name__}: {error}).")
            continue
        if records != expected.get("records"):
            differences.append(
                f"{name}: {_records(records)}, "
                f"the manifest says {_records(expected.get('records'))}."
            )
    for name in sorted(names - set(files) - {MANIFEST_FILE}):
        differences.append(f"{name}: not listed in the manifest.")
    return manifest, differences


def _records(records) -> str:
    if isinstance(records, dict):
        return ", ".join(f"{sheet}: {n} rows" for sheet, n in records.items()) or "no sheets"
    return "no record count" if records is None else f"{records} records"
