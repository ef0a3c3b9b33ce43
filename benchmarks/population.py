"""The synthetic population the scale benchmarks measure, and what they share to measure it.

`make bench` sets BENCH_PERSONS (default 200,000; 2,000,000 for the full run; a few thousand
as the smoke run in CI). The population is made once by `generate_synthetic` (seed
BENCH_SEED, default 1) in a PostgreSQL database of its own, `casetracker_bench_<persons>_<seed>`,
made through DATABASE_URL's server, and kept: the next benchmark, or the next run, finds it
and measures at once. `BENCH_FRESH=true` drops and makes it again. Its keys and files live in
var/bench/<database>/ (not in git). Production settings, but PUBLISH_SYNTHETIC_DATA: here the
synthetic cases are what partners see.

A benchmark script::

    with population.environment() as bench:   # sets os.environ, makes or finds the data
        django.setup()
        ...measure, each figure beside its reference measured in the same run...
        population.write_result("api-list", result, table)

Imported as `population`: the scripts run as `python benchmarks/X.py`.
"""

import hashlib
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import throwaway

BASE_DIR = Path(__file__).resolve().parent.parent
RESULTS_DIR = BASE_DIR / "benchmarks" / "results"
DEFAULT_PERSONS = 200_000
HOST = "testserver"


@dataclass
class Bench:
    persons: int
    seed: int
    database: str
    url: str
    var_dir: Path
    dataset: dict  # how the population was made (dataset.json)


def _settings() -> tuple[int, int, bool]:
    persons = int(os.environ.get("BENCH_PERSONS", DEFAULT_PERSONS))
    seed = int(os.environ.get("BENCH_SEED", "1"))
    fresh = os.environ.get("BENCH_FRESH", "").lower() in ("1", "true", "yes")
    if persons < 100:
        sys.exit("BENCH_PERSONS must be at least 100.")
    return persons, seed, fresh


def _server_url() -> str:
    url = os.environ.get("DATABASE_URL", "")
    if urlsplit(url).scheme not in throwaway.POSTGRES_SCHEMES:
        sys.exit(
            "The scale benchmarks run on PostgreSQL: set DATABASE_URL, e.g. "
            "DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres make bench"
        )
    return url


def _keys(var_dir: Path) -> dict:
    """The population's keys, made with it and kept with it (its ciphertexts need them)."""
    path = var_dir / "keys.json"
    if not path.exists():
        var_dir.mkdir(parents=True, exist_ok=True)
        path.write_text(
            json.dumps(
                {
                    "ENCRYPTION_KEYS": throwaway.random_key(),
                    "AUDIT_DIGEST_KEY": throwaway.random_key(),
                    "SECRET_KEY": throwaway.random_key() + throwaway.random_key(),
                }
            )
        )
        path.chmod(0o600)
    return json.loads(path.read_text())


def django_env(bench: Bench, **extra) -> dict:
    """os.environ for Django on the population: production settings, its keys, partners see
    synthetic cases, throttles out of reach (a benchmark measures the server, not the limits)."""
    env = throwaway.production_environment(
        str(bench.var_dir),
        bench.url,
        ALLOWED_HOSTS=f"{HOST},127.0.0.1,localhost",
        PUBLISH_SYNTHETIC_DATA="true",
        API_RATE_BURST="1000000000/min",
        API_RATE_SUSTAINED="1000000000/day",
        PUBLIC_SITE="true",
        PUBLIC_SITE_SEARCH_RATE="1000000000/min",
        PUBLIC_SITE_LIST_RATE="1000000000/min",
        PUBLIC_SITE_MISSING_RATE="1000000000/min",
        PUBLIC_DOWNLOADS_AFTER_PUBLISHING="false",
        **extra,
    )
    env.update(_keys(bench.var_dir))
    return env


def _exists(server: str, name: str) -> bool:
    with throwaway._postgres_connect(server) as admin:
        found = admin.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone()
    return found is not None


def generator_version() -> str:
    """A digest of the generator's code and names: a population made by other code is made
    again, so that figures are always of what generate_synthetic makes now."""
    digest = hashlib.sha256()
    folder = BASE_DIR / "synthetic"
    for path in sorted([*folder.rglob("*.py"), *folder.rglob("*.csv")]):
        digest.update(path.relative_to(folder).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _make(bench: Bench, server: str) -> dict:
    """A new database with the population: migrate, then generate_synthetic (timed)."""
    from psycopg import sql

    bench.var_dir.mkdir(parents=True, exist_ok=True)
    print(f"Making {bench.database}: {bench.persons:,} synthetic people (seed {bench.seed})…")
    with throwaway._postgres_connect(server) as admin:
        name = sql.Identifier(bench.database)
        admin.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(name))
        admin.execute(sql.SQL("CREATE DATABASE {}").format(name))
    (bench.var_dir / "dataset.json").unlink(missing_ok=True)
    env = django_env(bench)
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True)  # noqa: S603
    started = time.perf_counter()
    done = subprocess.run(  # noqa: S603 (our own manage.py, our arguments)
        [
            *manage,
            "generate_synthetic",
            "--persons",
            str(bench.persons),
            "--seed",
            str(bench.seed),
            "--planted",
            str(bench.var_dir / "planted.jsonl"),
        ],
        env=env,
        check=True,
        stdout=subprocess.PIPE,
        text=True,
    )
    seconds = time.perf_counter() - started
    print(done.stdout.strip())
    with throwaway._postgres_connect(bench.url) as db:
        db.execute("VACUUM ANALYZE")
        rows = dict(
            db.execute(
                "SELECT 'people', count(*) FROM people_person UNION ALL "
                "SELECT 'cases', count(*) FROM cases_case UNION ALL "
                "SELECT 'events', count(*) FROM cases_detentionevent UNION ALL "
                "SELECT 'names', count(*) FROM people_personname UNION ALL "
                "SELECT 'citations', count(*) FROM sources_citation UNION ALL "
                "SELECT 'audit links', count(*) FROM casetracker_auditlink"
            ).fetchall()
        )
        size = db.execute("SELECT pg_database_size(current_database())").fetchone()[0]
    dataset = {
        "made": datetime.now(UTC).isoformat(timespec="seconds"),
        "persons": bench.persons,
        "seed": bench.seed,
        "generator": generator_version(),
        "generate_seconds": round(seconds, 1),
        "people_per_second": round(bench.persons / seconds),
        "generator_output": done.stdout.strip(),
        "rows": rows,
        "database_bytes": size,
        "machine": machine(),
    }
    (bench.var_dir / "dataset.json").write_text(json.dumps(dataset, indent=2) + "\n")
    return dataset


@contextmanager
def environment(**extra):
    """Find or make the population, set os.environ for Django on it, yield a Bench."""
    persons, seed, fresh = _settings()
    server = _server_url()
    database = f"casetracker_bench_{persons}_{seed}"
    parts = urlsplit(server)
    url = urlunsplit(parts._replace(path=f"/{database}"))
    var_dir = BASE_DIR / "var" / "bench" / database
    bench = Bench(persons, seed, database, url, var_dir, {})
    ready = var_dir / "dataset.json"
    made = json.loads(ready.read_text()) if ready.exists() else {}
    if fresh or made.get("generator") != generator_version() or not _exists(server, database):
        bench.dataset = _make(bench, server)
    else:
        bench.dataset = made
    env = django_env(bench, **extra)
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    if made and bench.dataset is made:
        # A kept population is brought up to the code's schema (new indexes, columns).
        subprocess.run([*manage, "migrate", "--verbosity", "0"], env=env, check=True)  # noqa: S603
    if not (bench.var_dir / "static" / "staticfiles.json").exists():  # pages need the manifest
        subprocess.run([*manage, "collectstatic", "--noinput", "-v0"], env=env, check=True)  # noqa: S603
    sys.path.insert(0, str(BASE_DIR))
    throwaway.set_environment(env)
    yield bench


# --- measuring -------------------------------------------------------------------------------


def machine() -> dict:
    return {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "python": platform.python_version(),
        # Other work on the machine skews the figures: compare runs at a similar load.
        "load_average_1min": os.getloadavg()[0],
    }


def percentile(values, fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def timings(call, arguments: list, warmup: int = 3, unit: str = "bytes") -> dict:
    """Call ``call(argument)`` for each argument after ``warmup`` untimed calls: p50, p95, max
    in milliseconds, and the mean of what the calls return when it is a number (``unit``: bytes,
    or "rows" found)."""
    for argument in arguments[:warmup]:
        call(argument)
    seconds, sizes = [], []
    for argument in arguments:
        started = time.perf_counter()
        size = call(argument)
        seconds.append(time.perf_counter() - started)
        if isinstance(size, int | float):
            sizes.append(size)
    return {
        "calls": len(arguments),
        "p50_ms": round(statistics.median(seconds) * 1000, 2),
        "p95_ms": round(percentile(seconds, 0.95) * 1000, 2),
        "max_ms": round(max(seconds) * 1000, 2),
        **({"mean_size": round(statistics.mean(sizes)), "size_unit": unit} if sizes else {}),
    }


def explain(sql: str, params=None) -> dict:
    """EXPLAIN (ANALYZE, BUFFERS) of one query: the plan's text, its time, and whether any
    node reads a whole table (Seq Scan)."""
    from django.db import connection

    with connection.cursor() as cursor:
        # No params: the SQL is as run (captured), its % signs are not placeholders.
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) {sql}", params or None)
        lines = [row[0] for row in cursor.fetchall()]
    total = next((line for line in reversed(lines) if line.startswith("Execution Time")), "")
    return {
        "sql": sql[:2000],
        "execution_ms": float(total.split(":")[1].split()[0]) if total else None,
        "seq_scans": [line.strip() for line in lines if "Seq Scan" in line],
        "plan": lines,
    }


def explain_request(send) -> list[dict]:
    """EXPLAIN of every SELECT one request (``send()``) runs, slowest first."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        send()
    plans = []
    for query in captured.captured_queries:
        sql = query["sql"]
        if sql.lstrip().upper().startswith("SELECT"):
            plans.append(explain(sql))
    return sorted(plans, key=lambda plan: -(plan["execution_ms"] or 0))


def write_result(name: str, bench: Bench, result: dict, table: str) -> Path:
    """Print the table and write the result with the population's facts beside it."""
    result = {
        "benchmark": name,
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "persons": bench.persons,
        "seed": bench.seed,
        "dataset": {k: bench.dataset.get(k) for k in ("rows", "database_bytes", "made")},
        "machine": machine(),
        **result,
    }
    print(table)
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"{name}-{bench.persons}-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False, default=str) + "\n")
    print(f"\nWritten to {path.relative_to(BASE_DIR)}")
    return path


def row(label: str, figures: dict, width: int = 36) -> str:
    """One line of a table: the timings, and the mean size of the answers (KiB of a response,
    or a count of rows found: see header())."""
    size = figures.get("mean_size", 0)
    shown = f"{size / 1024:.1f}" if figures.get("size_unit", "bytes") == "bytes" else f"{size}"
    return (
        f"{label:<{width}}{figures['p50_ms']:>10.1f}{figures['p95_ms']:>10.1f}"
        f"{figures['max_ms']:>10.1f}{shown:>10}"
    )


def header(width: int = 36) -> str:
    return f"{'':<{width}}{'p50 ms':>10}{'p95 ms':>10}{'max ms':>10}{'KiB/rows':>10}"
