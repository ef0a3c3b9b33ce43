"""The synthetic population itself: how long generate_synthetic took to make it, and what it
holds (rows per table, database size). Makes it if it is not there yet (population.py).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_PERSONS=200000 \\
        .venv/bin/python benchmarks/bench_population.py
"""

import population


def main():
    with population.environment() as bench:
        made = bench.dataset
        rows = made["rows"]
        lines = [
            f"Synthetic population: {bench.persons:,} people (seed {bench.seed}), made "
            f"{made['made']}",
            f"generate_synthetic: {made['generate_seconds']:,.0f} s, "
            f"{made['people_per_second']:,} people/s",
            f"  {made['generator_output']}",
            "rows: " + ", ".join(f"{name} {count:,}" for name, count in rows.items()),
            f"database size: {made['database_bytes'] / 2**30:.2f} GiB",
        ]
        population.write_result("population", bench, {"made": made}, "\n".join(lines))


if __name__ == "__main__":
    main()
