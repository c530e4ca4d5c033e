"""pandas' read_csv of a dataset folder's flows.csv and tariffs.csv: the
reference the loader is compared with (BENCHMARKS.md, "Loading").

    .tools/bench-venv/bin/python benchmarks/reference/read_pandas.py DIR [DIR...]
"""
import sys
import time

import pandas as pd

for folder in sys.argv[1:]:
    started = time.perf_counter()
    flows = pd.read_csv(f"{folder}/flows.csv")
    tariffs = pd.read_csv(f"{folder}/tariffs.csv")
    seconds = time.perf_counter() - started
    rows = len(flows) + len(tariffs)
    print(f"{folder}: pandas read_csv of {rows} flow and tariff rows in {seconds:.3f} s ({rows / seconds / 1e6:.2f} M rows/s)")
