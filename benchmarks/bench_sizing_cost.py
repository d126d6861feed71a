"""What SizeEstimatedLRU's sizing costs against data size — the curve behind the old slowness.

    .venv/bin/python benchmarks/bench_sizing_cost.py [--max-rows 10000000]

Frames of 10K to 10M rows with float columns, with and without one object-dtype string column
(pandas 3 would infer Arrow strings; the old app's frames had object columns).
"""

import argparse
import statistics
import sys
import time

import numpy as np
import pandas as pd

from vizcache.sizing import deep_size, nbytes_size


def frame(rows: int, with_strings: bool) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    df = pd.DataFrame({"ra": rng.uniform(0, 360, rows), "dec": rng.uniform(-60, 0, rows), "z": rng.uniform(0.1, 2, rows)})
    if with_strings:
        df["id"] = pd.Series([f"EUCL-{i:09d}" for i in range(rows)], dtype=object)
    return df


def median_ms(fn, value, repeats=5) -> float:
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn(value)
        samples.append(time.perf_counter() - start)
    return statistics.median(samples) * 1e3


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-rows", type=int, default=10_000_000)
    args = parser.parse_args()
    print("| rows | object column | sys.getsizeof ms | deep ms | nbytes ms | getsizeof / true bytes |\n|---|---|---|---|---|---|")
    rows = 10_000
    while rows <= args.max_rows:
        for with_strings in (False, True):
            df = frame(rows, with_strings)
            true_bytes = deep_size(df)
            as_dict = {c: df[c].to_numpy() for c in df.columns}  # the old app also cached dicts of arrays
            print(f"| {rows:,} | {'yes' if with_strings else 'no'} | {median_ms(sys.getsizeof, df):.3f} | "
                  f"{median_ms(deep_size, df):.3f} | {median_ms(nbytes_size, df):.3f} | "
                  f"{sys.getsizeof(df) / true_bytes:.2f} (as dict of arrays: {sys.getsizeof(as_dict) / true_bytes:.6f}) |")
            del df, as_dict
        rows *= 10


if __name__ == "__main__":
    main()
