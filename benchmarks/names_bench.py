"""Benchmark and quality figures of people/names/:

    .venv/bin/python benchmarks/names_bench.py [--repeat 5]

On the labelled pairs of tests/data/name_pairs.tsv, separately for its "tune" part (the threshold
and weights were chosen looking at it) and its "held-out" part, it prints:

- precision, recall and F1 at SAME_PERSON_THRESHOLD, and a small threshold sweep as a table;
- blocking recall: the share of same-person pairs whose names share a match key (must be 100%),
  the keys per name, and how much blocking cuts the pairs to score (pairs of the labelled set's
  distinct names that share a key, against all pairs);
- on a synthetic population of 50,000 common Kazakh names, the size of the key buckets and the
  candidates one lookup returns (what an indexed key lookup costs the duplicate finder);
- time per pair: `similarity_prepared` on prepared names (the hot path), `similarity` with the
  preparation cache warm, and with it cold (each name prepared anew), and `prepare` per name.

Timings are best-of-N wall time on this machine; other work on it skews them (the load average
is recorded). No database, no Django. Writes the figures as JSON to benchmarks/results/ (not
kept in git).
"""

import argparse
import json
import os
import platform
import random
import sys
import time
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(BASE_DIR))

from people import names  # noqa: E402 - needs the path above when run as a script

PAIRS_FILE = BASE_DIR / "tests" / "data" / "name_pairs.tsv"
RESULTS_DIR = BASE_DIR / "benchmarks" / "results"
SWEEP = (0.70, 0.75, 0.80, 0.82, 0.84, 0.86, 0.88, 0.90, 0.95)


def load_pairs():
    """(group, a, b, same, note) per pair: the group is the part ("tune") or, for the families
    of forms (issue 18), the part and family ("families-held-out/patronymic")."""
    rows, part, family = [], None, "core"
    for line in PAIRS_FILE.read_text(encoding="utf-8").splitlines():
        if line.startswith("# part: "):
            part, family = line.removeprefix("# part: ").strip(), "core"
        elif line.startswith("# family: "):
            family = line.removeprefix("# family: ").strip()
        elif line and not line.startswith("#"):
            a, b, same, note = line.split("\t")
            group = part if family == "core" else f"{part}/{family}"
            rows.append((group, a, b, same == "1", note))
    return rows


def quality(scored, threshold):
    tp = sum(1 for s, same in scored if same and s >= threshold)
    fp = sum(1 for s, same in scored if not same and s >= threshold)
    fn = sum(1 for s, same in scored if same and s < threshold)
    tn = len(scored) - tp - fp - fn
    precision = tp / (tp + fp) if tp + fp else 1.0
    recall = tp / (tp + fn) if tp + fn else 1.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    return {
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "tn": tn,
        "precision": round(precision, 4),
        "recall": round(recall, 4),
        "f1": round(f1, 4),
    }


def best_of(repeat, func):
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        func()
        times.append(time.perf_counter() - start)
    return min(times)


def timings(pairs, repeat):
    texts = [(a, b) for _p, a, b, _s, _n in pairs]
    distinct = sorted({n for ab in texts for n in ab})
    prepared = [(names.prepare(a), names.prepare(b)) for a, b in texts]
    loops = 20

    def hot():
        for _ in range(loops):
            for a, b in prepared:
                names.similarity_prepared(a, b)

    def warm():
        for _ in range(loops):
            for a, b in texts:
                names.similarity(a, b)

    def cold():
        for a, b in texts:
            names.prepare.cache_clear()
            names.similarity(a, b)

    def prepare_all():
        names.prepare.cache_clear()
        for name in distinct:
            names.prepare(name)

    result = {
        "similarity_prepared_us": best_of(repeat, hot) / (loops * len(texts)) * 1e6,
        "similarity_warm_cache_us": best_of(repeat, warm) / (loops * len(texts)) * 1e6,
        "similarity_cold_cache_us": best_of(repeat, cold) / len(texts) * 1e6,
        "prepare_per_name_us": best_of(repeat, prepare_all) / len(distinct) * 1e6,
    }
    return {k: round(v, 2) for k, v in result.items()}


def blocking(pairs):
    # Initials meet the names they may stand for by the keys of possible duplicates.
    def keys_of(group, name):
        return (names.possible_keys if group.endswith("/initials") else names.match_keys)(name)

    positives = [(g, a, b) for g, a, b, same, _n in pairs if same]
    shared = sum(1 for g, a, b in positives if keys_of(g, a) & keys_of(g, b))
    distinct = sorted({n for _p, a, b, _s, _n in pairs for n in (a, b)})
    stored = [len(names.match_keys(n) | names.possible_keys(n)) for n in distinct]
    keys = [names.match_keys(n) for n in distinct]
    candidate_pairs = sum(1 for i, ka in enumerate(keys) for kb in keys[i + 1 :] if ka & kb)
    all_pairs = len(distinct) * (len(distinct) - 1) // 2
    return {
        "positive_pairs": len(positives),
        "positive_pairs_sharing_a_key": shared,
        "blocking_recall": round(shared / len(positives), 4) if positives else 1.0,
        "keys_per_name_mean": round(sum(map(len, keys)) / len(keys), 2),
        "keys_per_name_max": max(map(len, keys)),
        "stored_keys_per_name_mean": round(sum(stored) / len(stored), 2),
        "distinct_names": len(distinct),
        "name_pairs_sharing_a_key": candidate_pairs,
        "name_pairs_all": all_pairs,
    }


# A synthetic population for bucket sizes: common Kazakh given names, a father's name from the
# same list with the endings in use. Real name frequencies are more skewed than uniform picks.
MALE = (  # noqa: SIM905 - a list of 60 names reads better as text
    "Nurlan Yerlan Yerzhan Kanat Serik Berik Marat Murat Askar Bolat Dauren Daulet Aidos Aibek "
    "Bekzat Zhandos Yerbol Kairat Talgat Almas Arman Azamat Baurzhan Dias Yerkebulan Galym "
    "Zhanibek Kuanysh Meirzhan Nurbol Olzhas Ruslan Sanzhar Timur Ualikhan Yesen Abai Adil Akhmet "
    "Alibek Amir Asylbek Bakhyt Beibit Dulat Erbolat Gani Islam Kydyrbek Mukhtar Nursultan Rakhat "
    "Samat Saparbek Temirlan Yerlan Zhaksylyk Zhomart Omirbek Tursyn"
).split()
FEMALE = (  # noqa: SIM905
    "Aigul Gulnar Zhanar Ainur Saule Asel Aliya Madina Meruert Dinara Aizhan Aigerim Gulmira "
    "Zhuldyz Dilnar Sayragul Kamila Aruzhan Akbota Balnur Dana Gaukhar Indira Karlygash Lazzat "
    "Moldir Nazym Raushan Symbat Togzhan Ulzhan Zarina Assel Botagoz Elmira Fariza Gulzhan Saltanat"
).split()


def bucket_sizes(count=50_000, seed=6):
    """Blocking keys of ``count`` synthetic names: how many names share a key, and how many
    candidates one lookup returns."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not security
    buckets, initial_buckets = Counter(), Counter()
    name_keys = []
    for _ in range(count):
        female = rng.random() < 0.5
        given = rng.choice(FEMALE if female else MALE)
        father = rng.choice(MALE)
        ending = rng.choice(("", "ov", "uly") if not female else ("", "ova", "kyzy"))
        name = f"{given} {father}{ending}" if rng.random() < 0.7 else f"{father}{ending} {given}"
        keys = names.match_keys(name)
        name_keys.append(keys)
        buckets.update(keys)
        initial_buckets.update(names.possible_keys(name))
    sizes = sorted(buckets.values())
    initial_sizes = sorted(initial_buckets.values())
    candidates = sorted(sum(buckets[k] for k in keys) for keys in name_keys)
    return {
        "names": count,
        "distinct_keys": len(sizes),
        "largest_bucket": sizes[-1],
        "bucket_p99": sizes[int(len(sizes) * 0.99)],
        "candidates_per_lookup_median": candidates[len(candidates) // 2],
        "candidates_per_lookup_p99": candidates[int(len(candidates) * 0.99)],
        # Keys of initials (people.names.possible_keys): the people a name with an initial is
        # compared with in the duplicate scan; blocks without such a name are not read.
        "initial_keys": len(initial_sizes),
        "initial_bucket_median": initial_sizes[len(initial_sizes) // 2],
        "initial_largest_bucket": initial_sizes[-1],
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="timing repeats (best of)")
    args = parser.parse_args()
    load_at_start = os.getloadavg()[0]
    pairs = load_pairs()
    parts = list(dict.fromkeys(p for p, *_ in pairs))  # in file order
    threshold = names.SAME_PERSON_THRESHOLD

    result = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "threshold": threshold,
        "parts": {},
    }
    print(f"SAME_PERSON_THRESHOLD = {threshold}\n")
    width = max(len(p) for p in parts)
    header = f"{'part':<{width}} {'pairs':>5} {'pos':>4} {'neg':>4}  "
    header += f"{'P':>6} {'R':>6} {'F1':>6}  fp fn"
    print(header)
    for part in parts:
        rows = [r for r in pairs if r[0] == part]
        scored = [(names.similarity(a, b), same) for _p, a, b, same, _n in rows]
        # Initials are scored for review as possible duplicates: at the lower threshold.
        at = quality(
            scored, names.POSSIBLE_DUPLICATE_THRESHOLD if part.endswith("/initials") else threshold
        )
        sweep = {str(t): quality(scored, t) for t in SWEEP}
        result["parts"][part] = {
            "pairs": len(rows),
            "at_threshold": at,
            "sweep": sweep,
            "errors": [
                {"a": a, "b": b, "same": same, "score": round(names.similarity(a, b), 3), "note": n}
                for _p, a, b, same, n in rows
                if (names.similarity(a, b) >= threshold) != same
            ],
        }
        positives = at["tp"] + at["fn"]
        print(
            f"{part:<{width}} {len(rows):>5} {positives:>4} {len(rows) - positives:>4}  "
            f"{at['precision']:>6.3f} {at['recall']:>6.3f} {at['f1']:>6.3f}  "
            f"{at['fp']:>2} {at['fn']:>2}"
        )

    print("\nThreshold sweep (precision / recall):")
    print(f"{'threshold':>9}  " + "  ".join(f"{p:>{max(15, len(p))}}" for p in parts))
    for t in SWEEP:
        cells = []
        for part in parts:
            q = result["parts"][part]["sweep"][str(t)]
            cells.append(f"{q['precision']:.3f} / {q['recall']:.3f}")
        mark = " <" if t == threshold else ""
        cells = [f"{c:>{max(15, len(p))}}" for c, p in zip(cells, parts, strict=True)]
        print(f"{t:>9.2f}  " + "  ".join(cells) + mark)

    result["blocking"] = blocking(pairs)
    b = result["blocking"]
    print(
        f"\nBlocking: {b['positive_pairs_sharing_a_key']}/{b['positive_pairs']} same-person pairs "
        f"share a key (recall {b['blocking_recall']:.3f}); keys per name {b['keys_per_name_mean']} "
        f"mean, {b['keys_per_name_max']} max; {b['name_pairs_sharing_a_key']} of "
        f"{b['name_pairs_all']} pairs of the {b['distinct_names']} distinct names share a key; "
        f"{b['stored_keys_per_name_mean']} keys stored per name with those of initials."
    )

    result["synthetic_buckets"] = z = bucket_sizes()
    print(
        f"Synthetic population of {z['names']} names from {len(MALE)} male and {len(FEMALE)} "
        f"female given names: {z['distinct_keys']} keys, largest bucket {z['largest_bucket']}, "
        f"99th percentile {z['bucket_p99']}; candidates per lookup "
        f"{z['candidates_per_lookup_median']} median, {z['candidates_per_lookup_p99']} 99th "
        f"percentile. Keys of initials: {z['initial_keys']}, a block {z['initial_bucket_median']} "
        f"names median, {z['initial_largest_bucket']} largest."
    )

    result["timing"] = timings(pairs, args.repeat)
    t = result["timing"]
    print(
        f"\nTime per pair: {t['similarity_prepared_us']} µs prepared (similarity_prepared), "
        f"{t['similarity_warm_cache_us']} µs similarity() with a warm cache, "
        f"{t['similarity_cold_cache_us']} µs cold; prepare() {t['prepare_per_name_us']} µs a name."
    )
    result["machine"] = {
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average_1min": {"start": load_at_start, "end": os.getloadavg()[0]},
    }
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = RESULTS_DIR / f"names-{stamp}.json"
    path.write_text(json.dumps(result, indent=2, ensure_ascii=False) + "\n")
    print(f"\nWritten to {path.relative_to(BASE_DIR)}")


if __name__ == "__main__":
    main()
