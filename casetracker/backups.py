"""Encrypted, authenticated backups of the database and the media folder, their restore into an
empty database, and their verification against the live database.

A backup file is one casetracker stream (casetracker.crypto: AES-256-GCM in chunks, with the
chunk index and a final flag authenticated, under the newest key) around a tar archive:
``manifest.json``, the database (``db.sqlite3`` from SQLite's online backup API, or
``db.pgdump`` from ``pg_dump --format=custom``) and ``media/…`` (evidence files, already
encrypted on their own). Both database dumps are consistent snapshots taken while the
application keeps running; evidence files never change once uploaded, so copying the media
folder after the snapshot gives every file the snapshot refers to.

Restoring decrypts and checks the whole file into a temporary directory first: a wrong key, a
truncated or an altered file is refused before anything is written to the target.
"""

import hashlib
import json
import os
import subprocess
import tarfile
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from django.db import connections
from django.db.utils import load_backend
from django.utils import timezone

from casetracker import crypto

PURPOSE = b"backup"
FORMAT = 1
DATABASE_FILES = {"sqlite": "db.sqlite3", "postgresql": "db.pgdump"}
# Renewed on every request (SESSION_SAVE_EVERY_REQUEST): never equal to a copy a minute old.
VOLATILE_TABLES = frozenset({"django_session"})


class BackupError(Exception):
    """A backup cannot be written, read, restored or verified; the message says why."""


def _reason(error: OSError) -> str:
    """An OSError as words: its reason, and the path it is about."""
    reason = error.strerror or str(error)
    return f"{reason} ({error.filename})" if error.filename else reason


# --- writing -------------------------------------------------------------------------------


class _EncryptingWriter:
    """A write-only file object that seals what tarfile writes into the backup stream."""

    def __init__(self, raw):
        self._raw, self._encryptor = raw, crypto.StreamEncryptor(PURPOSE)

    def write(self, data):
        self._raw.write(self._encryptor.update(bytes(data)))
        return len(data)

    def finish(self):
        self._raw.write(self._encryptor.finalize())


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1024 * 1024), b""):
            digest.update(block)
    return digest.hexdigest()


def _media_files(media_root: Path) -> list[Path]:
    if not media_root.exists():
        return []
    return sorted(p for p in media_root.rglob("*") if p.is_file() and not p.name.startswith("."))


def _pg_env_and_args(settings_dict: dict) -> tuple[dict, list[str]]:
    args = []
    if settings_dict.get("HOST"):
        args += ["--host", str(settings_dict["HOST"])]
    if settings_dict.get("PORT"):
        args += ["--port", str(settings_dict["PORT"])]
    if settings_dict.get("USER"):
        args += ["--username", settings_dict["USER"]]
    env = {**os.environ}
    if settings_dict.get("PASSWORD"):
        env["PGPASSWORD"] = settings_dict["PASSWORD"]
    if settings_dict.get("OPTIONS", {}).get("sslmode"):
        env["PGSSLMODE"] = settings_dict["OPTIONS"]["sslmode"]
    return env, args


def _run(args: list[str], env: dict, what: str) -> None:
    result = subprocess.run(args, env=env, capture_output=True, text=True, check=False)  # noqa: S603
    if result.returncode != 0:
        raise BackupError(f"{what} failed: {result.stderr.strip() or result.returncode}")


def _dump_database(using: str, target: Path) -> None:
    connection = connections[using]
    if connection.vendor == "sqlite":
        import sqlite3

        connection.ensure_connection()
        copy = sqlite3.connect(target)
        try:
            # The online backup API: a consistent snapshot while other connections write.
            connection.connection.backup(copy)
        finally:
            copy.close()
    elif connection.vendor == "postgresql":
        env, args = _pg_env_and_args(connection.settings_dict)
        name = connection.settings_dict["NAME"]
        _run(["pg_dump", "--format=custom", *args, "--file", str(target), name], env, "pg_dump")
    else:
        raise BackupError(f"Backups of {connection.vendor} databases are not supported.")


def create_backup(out: Path, *, using: str, media_root: Path) -> dict:
    """Write an encrypted backup of database ``using`` and ``media_root`` to ``out``; return
    its manifest. Written beside ``out`` and renamed into place: never half a backup.
    Raises BackupError, naming the path and the reason, when a file cannot be written or
    read (a missing or read-only folder, a full disk, an unreadable media file)."""
    out = Path(out).resolve()
    try:
        return _create_backup(out, using=using, media_root=Path(media_root))
    except OSError as error:
        raise BackupError(f"Cannot write the backup {out}: {_reason(error)}.") from None


def _create_backup(out: Path, *, using: str, media_root: Path) -> dict:
    vendor = connections[using].vendor
    # The folder must exist already: creating it would quietly fill the system disk when the
    # backup disk it stands for is not mounted.
    if not out.parent.is_dir():
        raise BackupError(
            f"Cannot write the backup {out}: the folder {out.parent} does not exist "
            "(is the backup disk mounted?)."
        )
    # The dump waits in a private temporary directory, never in the backup folder (which may
    # be a mounted disk); only the encrypted file is written there, then renamed into place.
    with tempfile.TemporaryDirectory(prefix="casetracker-backup-") as work:
        dump = Path(work) / DATABASE_FILES.get(vendor, "db")
        _dump_database(using, dump)
        media = [
            {
                "name": p.relative_to(media_root).as_posix(),
                "sha256": _file_sha256(p),
                "size": p.stat().st_size,
            }
            for p in _media_files(Path(media_root))
        ]
        manifest = {
            "format": FORMAT,
            "created": timezone.now().isoformat(),
            "vendor": vendor,
            "database": dump.name,
            "database_sha256": _file_sha256(dump),
            "media": media,
        }
        partial = out.with_name(f".{out.name}.{os.getpid()}.partial")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            with os.fdopen(fd, "wb") as raw:
                _write_archive(raw, manifest, dump, Path(media_root))
            os.replace(partial, out)
        finally:
            partial.unlink(missing_ok=True)
    return manifest


def _write_archive(raw, manifest: dict, dump: Path, media_root: Path) -> None:
    writer = _EncryptingWriter(raw)
    with tarfile.open(fileobj=writer, mode="w|") as archive:
        body = json.dumps(manifest, indent=2).encode()
        info = tarfile.TarInfo("manifest.json")
        info.size = len(body)
        archive.addfile(info, fileobj=_BytesReader(body))
        archive.add(dump, arcname=dump.name)
        for entry in manifest["media"]:
            archive.add(media_root / entry["name"], arcname=f"media/{entry['name']}")
    writer.finish()
    raw.flush()
    os.fsync(raw.fileno())


class _BytesReader:
    def __init__(self, data):
        self._data = memoryview(data)

    def read(self, n=-1):
        n = len(self._data) if n < 0 else n
        chunk, self._data = self._data[:n], self._data[n:]
        return bytes(chunk)


# --- reading -------------------------------------------------------------------------------


@dataclass
class Unpacked:
    directory: Path
    manifest: dict

    @property
    def database(self) -> Path:
        return self.directory / self.manifest["database"]

    @property
    def media(self) -> Path:
        return self.directory / "media"


@contextmanager
def unpacked(path: Path, *, near: Path | None = None) -> Iterator[Unpacked]:
    """Decrypt, authenticate and unpack a backup into a temporary directory (removed
    afterwards). Raises BackupError before yielding if anything does not check out."""
    path = Path(path)
    if not path.exists():
        raise BackupError(f"{path}: no such file.")
    if not path.is_file():
        raise BackupError(f"{path} is not a file: give the backup file itself.")
    try:
        with open(path, "rb"):
            pass
    except OSError as error:
        raise BackupError(f"{path} cannot be read: {_reason(error)}.") from None
    try:
        work_directory = tempfile.TemporaryDirectory(prefix=".casetracker-restore-", dir=near)
    except OSError as error:
        raise BackupError(
            f"Cannot unpack {path}: no temporary folder in {near or tempfile.gettempdir()} "
            f"({_reason(error)})."
        ) from None
    with work_directory as work:
        work = Path(work)
        try:
            with open(path, "rb") as raw:
                reader = crypto.DecryptingReader(raw, PURPOSE)
                with tarfile.open(fileobj=reader, mode="r|") as archive:
                    archive.extractall(work / "x", filter="data")
                # Read to the very end, so that the final chunk is authenticated too.
                while reader.read(crypto.CHUNK):
                    pass
        except crypto.DecryptionError as error:
            raise BackupError(
                f"{path} cannot be restored: {error}. Nothing was restored."
            ) from None
        except (tarfile.TarError, OSError) as error:
            raise BackupError(f"{path} is not a readable backup: {error}.") from None
        directory = work / "x"
        try:
            manifest = json.loads((directory / "manifest.json").read_text())
        except (OSError, ValueError):
            raise BackupError(f"{path} has no readable manifest.") from None
        if manifest.get("format") != FORMAT:
            raise BackupError(f"{path}: unknown backup format {manifest.get('format')!r}.")
        result = Unpacked(directory, manifest)
        try:
            if _file_sha256(result.database) != manifest["database_sha256"]:
                raise BackupError(f"{path}: the database dump does not match its manifest.")
            for entry in manifest["media"]:
                if _file_sha256(result.media / entry["name"]) != entry["sha256"]:
                    raise BackupError(f"{path}: media file {entry['name']} does not match.")
        except (OSError, KeyError, TypeError) as error:
            raise BackupError(
                f"{path}: the backup does not hold what its manifest lists ({error})."
            ) from None
        yield result


# --- restoring -----------------------------------------------------------------------------


def database_is_empty(using: str) -> bool:
    connection = connections[using]
    if connection.vendor == "sqlite" and not _sqlite_file_exists(connection.settings_dict):
        return True
    with connection.cursor() as cursor:
        return not connection.introspection.table_names(cursor)


def _sqlite_file_exists(settings_dict) -> bool:
    name = str(settings_dict["NAME"])
    return name.startswith("file:") or name == ":memory:" or Path(name).exists()


def restore_backup(path: Path, *, using: str, media_root: Path) -> dict:
    """Restore a backup into the EMPTY database ``using`` and the empty ``media_root``."""
    connection = connections[using]
    if not database_is_empty(using):
        raise BackupError(
            f"The database {connection.settings_dict['NAME']} is not empty: restore only into "
            "a new, empty database (create one, point DATABASE_URL at it, then restore)."
        )
    media_root = Path(media_root).resolve()
    if _media_files(media_root):
        raise BackupError(f"The media folder {media_root} is not empty: restore into an empty one.")
    if media_root.exists() and not media_root.is_dir():
        raise BackupError(f"The media folder {media_root} is a file, not a folder.")
    # The backup is unpacked, and its media staged, beside the media folder, on its filesystem
    # (inside it, in a hidden folder, if it is a mount point of its own): the media then go
    # into place by renames, after the database has loaded.
    near = media_root if os.path.ismount(media_root) else media_root.parent
    try:
        near.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise BackupError(f"Cannot create the folder {near}: {_reason(error)}.") from None
    with unpacked(path, near=near) as backup:
        if backup.manifest["vendor"] != connection.vendor:
            raise BackupError(
                f"This is a {backup.manifest['vendor']} backup; the target is {connection.vendor}."
            )
        staged = backup.media
        try:
            _stage_media(staged, backup.manifest["media"])
        except OSError as error:
            raise BackupError(
                f"Cannot prepare the media files of {path} beside {media_root}: "
                f"{_reason(error)}. Nothing was restored."
            ) from None
        _load_database(backup.database, using)
        try:
            _swap_into_place(staged, media_root)
        except OSError as error:
            raise BackupError(
                f"The database {connection.settings_dict['NAME']} was restored, but the media "
                f"files could not be put into {media_root}: {_reason(error)}. The media folder "
                "is as it was. Fix the cause, then restore again into a new, empty database."
            ) from None
    # Statistics cached from the database this one replaces are never served from it.
    from figures import cache

    cache.bump()
    return backup.manifest


def _stage_media(staged: Path, entries: list[dict]) -> None:
    """The unpacked media folder, made ready to be renamed into place: every file listed,
    private (folders 0700, files 0600)."""
    staged.mkdir(mode=0o700, exist_ok=True)
    for entry in entries:
        os.chmod(staged / entry["name"], 0o600)
    for folder in [staged, *(p for p in staged.rglob("*") if p.is_dir())]:
        os.chmod(folder, 0o700)


def _move_into_place(source: Path, target: Path) -> None:
    os.rename(source, target)


def _swap_into_place(staged: Path, media_root: Path) -> None:
    """Rename the staged media folder into place: the whole folder if there is no media
    folder yet, else each of its entries (the media folder holds no media files; an empty
    folder of the same name is replaced). On failure, what was moved is moved back and the
    error raised: the media folder is as it was."""
    if not media_root.exists():
        _move_into_place(staged, media_root)
        return
    moved = []  # (entry, whether it replaced an empty folder)
    try:
        for entry in sorted(staged.iterdir()):
            target = media_root / entry.name
            replaced = target.is_dir() and not target.is_symlink()
            _move_into_place(entry, target)
            moved.append((entry, replaced))
    except OSError:
        for entry, replaced in reversed(moved):
            target = media_root / entry.name
            try:
                os.rename(target, entry)
                if replaced:
                    target.mkdir()
            except OSError:
                pass
        raise


def _load_database(dump: Path, using: str) -> None:
    connection = connections[using]
    if connection.vendor == "sqlite":
        import sqlite3

        connection.ensure_connection()
        source = sqlite3.connect(dump)
        try:
            source.backup(connection.connection)
        except sqlite3.Error as error:
            raise BackupError(f"Loading the database failed: {error}") from None
        finally:
            source.close()
    else:
        env, args = _pg_env_and_args(connection.settings_dict)
        name = connection.settings_dict["NAME"]
        _run(
            [
                "pg_restore",
                "--no-owner",
                "--exit-on-error",
                "--single-transaction",
                *args,
                "--dbname",
                name,
                str(dump),
            ],
            env,
            "pg_restore",
        )


# --- verifying -----------------------------------------------------------------------------


@dataclass
class Verification:
    differences: list[str] = field(default_factory=list)
    tables: int = 0
    rows: int = 0
    files: int = 0

    @property
    def ok(self) -> bool:
        return not self.differences


def table_fingerprints(using: str, skip=VOLATILE_TABLES) -> dict[str, tuple[int, str]]:
    """{table: (row count, SHA-256 of its rows in primary-key order)}, streamed."""
    connection = connections[using]
    qn = connection.ops.quote_name
    found = {}
    with connection.cursor() as cursor:
        tables = sorted(set(connection.introspection.table_names(cursor)) - set(skip))
        for table in tables:
            columns = [
                c.name for c in connection.introspection.get_table_description(cursor, table)
            ]
            order = ", ".join(qn(c) for c in columns)
            cursor.execute(f"SELECT {order} FROM {qn(table)} ORDER BY {order}")  # noqa: S608
            digest, count = hashlib.sha256(), 0
            while rows := cursor.fetchmany(2000):
                for row in rows:
                    values = [bytes(v) if isinstance(v, memoryview) else v for v in row]
                    digest.update(repr(values).encode())
                    digest.update(b"\n")
                    count += 1
            found[table] = (count, digest.hexdigest())
    return found


@contextmanager
def temporary_alias(alias: str, settings_dict: dict) -> Iterator[str]:
    """A connection to another database under ``alias`` (``Model.objects.using(alias)``),
    for this thread, closed and forgotten afterwards. Not added to settings.DATABASES."""
    wrapper = load_backend(settings_dict["ENGINE"]).DatabaseWrapper(settings_dict, alias)
    setattr(connections._connections, alias, wrapper)
    try:
        yield alias
    finally:
        wrapper.close()
        delattr(connections._connections, alias)


@contextmanager
def scratch_database(backup: Unpacked, using: str) -> Iterator[str]:
    """The backup restored into a scratch database, registered as a connection alias."""
    live = connections[using]
    alias = f"verify_backup_{os.getpid()}"
    settings_dict = {**live.settings_dict}
    created = None
    if live.vendor == "sqlite":
        settings_dict["NAME"] = str(backup.database)  # the unpacked copy is the scratch db
    else:
        created = f"casetracker_verify_{os.getpid()}_{os.urandom(3).hex()}"
        with live.cursor() as cursor:
            cursor.execute(f"CREATE DATABASE {live.ops.quote_name(created)}")
        settings_dict["NAME"] = created
    try:
        with temporary_alias(alias, settings_dict):
            if created:
                _load_database(backup.database, alias)
            yield alias
    finally:
        if created:
            with live.cursor() as cursor:
                cursor.execute(f"DROP DATABASE IF EXISTS {live.ops.quote_name(created)}")


def verify_backup(path: Path, *, using: str, media_root: Path) -> Verification:
    """Restore ``path`` into a scratch database and compare it with the live one: per-table
    row counts and row hashes, media file hashes, and the audit chain of the copy."""
    result = Verification()
    with unpacked(path) as backup, scratch_database(backup, using) as alias:
        if backup.manifest["vendor"] != connections[using].vendor:
            result.differences.append(
                f"the backup is of a {backup.manifest['vendor']} database, the live one is not"
            )
            return result
        live, copy = table_fingerprints(using), table_fingerprints(alias)
        result.tables = len(copy)
        result.rows = sum(count for count, _ in copy.values())
        for table in sorted(set(live) | set(copy)):
            if table not in copy:
                result.differences.append(f"table {table}: in the live database only")
            elif table not in live:
                result.differences.append(f"table {table}: in the backup only")
            elif live[table][0] != copy[table][0]:
                result.differences.append(
                    f"table {table}: {copy[table][0]} rows in the backup, {live[table][0]} live"
                )
            elif live[table][1] != copy[table][1]:
                result.differences.append(
                    f"table {table}: same row count ({live[table][0]}), different content"
                )
        result.differences += _compare_media(backup, Path(media_root))
        result.files = len(backup.manifest["media"])
        result.differences += _check_chain(alias)
    return result


def _compare_media(backup: Unpacked, media_root: Path) -> list[str]:
    differences = []
    in_backup = {entry["name"]: entry["sha256"] for entry in backup.manifest["media"]}
    live = {p.relative_to(media_root).as_posix(): p for p in _media_files(media_root)}
    for name in sorted(set(in_backup) | set(live)):
        if name not in live:
            differences.append(f"media file {name}: in the backup only")
        elif name not in in_backup:
            differences.append(f"media file {name}: live only (added after the backup?)")
        elif _file_sha256(live[name]) != in_backup[name]:
            differences.append(f"media file {name}: different content")
    return differences


def _check_chain(alias: str) -> list[str]:
    try:
        from casetracker.integrity import verify_chain
    except ImportError:  # the audit chain is not installed (yet)
        return []
    report = verify_chain(using=alias)
    return [] if report.ok else [f"audit chain of the copy: {report}"]
