"""The partner API under load: requests per second on the case list, served by gunicorn.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres BENCH_PERSONS=200000 \\
        .venv/bin/python benchmarks/bench_api_load.py

gunicorn (BENCH_WORKERS sync workers, default 4, production settings) serves the population on
a loopback port; BENCH_CLIENTS threads (default 50) of this process each ask for pages of 50
cases (the cursor pages of the list, plain and filtered, taken in turn) for BENCH_SECONDS
(default 20), one connection a request, with a partner token, as a partner's scripts would.
Every request is a full one: authentication, the request log, the page. The load generator
runs on the same two cores as the server and the database, so the figure is a floor.
"""

import http.client
import os
import socket
import statistics
import subprocess
import sys
import threading
import time
from urllib.parse import urlencode

import population
from bench_api_list import FILTERS, cursor_walk, partner_client


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"gunicorn stopped with code {server.returncode}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


def load(port: int, key: str, urls: list[str], clients: int, seconds: float) -> dict:
    latencies: list[float] = []
    failures: list[int] = []
    lock = threading.Lock()
    stop = time.monotonic() + seconds
    headers = {
        "Authorization": f"Token {key}",
        "Host": "127.0.0.1",
        "X-Forwarded-Proto": "https",
        "Connection": "close",
    }

    def client(offset: int) -> None:
        mine, bad, index = [], [], offset
        while time.monotonic() < stop:
            url = urls[index % len(urls)]
            index += 1
            started = time.perf_counter()
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
            connection.request("GET", url, headers=headers)
            response = connection.getresponse()
            response.read()
            connection.close()
            if response.status == 200:
                mine.append(time.perf_counter() - started)
            else:
                bad.append(response.status)
        with lock:
            latencies.extend(mine)
            failures.extend(bad)

    threads = [threading.Thread(target=client, args=(n * 7,)) for n in range(clients)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    if failures:
        raise RuntimeError(f"{len(failures)} requests failed: {sorted(set(failures))}")
    return {
        "requests": len(latencies),
        "seconds": round(elapsed, 1),
        "requests_per_second": round(len(latencies) / elapsed, 1),
        "p50_ms": round(statistics.median(latencies) * 1000, 1),
        "p95_ms": round(population.percentile(latencies, 0.95) * 1000, 1),
    }


def main():
    workers = int(os.environ.get("BENCH_WORKERS", "4"))
    clients = int(os.environ.get("BENCH_CLIENTS", "50"))
    seconds = float(os.environ.get("BENCH_SECONDS", "20"))
    with population.environment(SECURE_SSL_REDIRECT="false") as bench:
        import django

        django.setup()
        client = partner_client()
        key = client.defaults["HTTP_AUTHORIZATION"].split()[1]
        first = "/api/v1/cases/?page_size=50"
        urls = cursor_walk(client, first, 100)
        urls += cursor_walk(client, f"{first}&{urlencode(FILTERS)}", 100)
        port = free_port()
        server = subprocess.Popen(  # noqa: S603 (gunicorn, our arguments)
            [
                sys.executable,
                "-m",
                "gunicorn",
                "casetracker.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--log-level",
                "warning",
            ],
            cwd=population.BASE_DIR,
            env=os.environ,
        )
        try:
            wait_for(port, server)
            load(port, key, urls[:20], clients, 3)  # warm every worker up
            result = load(port, key, urls, clients, seconds)
        finally:
            server.terminate()
            server.wait(timeout=30)
        result |= {"workers": workers, "clients": clients, "pages": len(urls)}
        lines = [
            f"Partner API under load: {bench.persons:,} people, gunicorn {workers} workers, "
            f"{clients} clients, {seconds:.0f} s, pages of 50 (plain and filtered)",
            f"{result['requests']:,} requests: {result['requests_per_second']} requests/s, "
            f"p50 {result['p50_ms']} ms, p95 {result['p95_ms']} ms",
        ]
        population.write_result("api-load", bench, {"load": result}, "\n".join(lines))


if __name__ == "__main__":
    main()
