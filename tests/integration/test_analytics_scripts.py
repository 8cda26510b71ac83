"""A yardstick for the `datascience` environment: realistic analytics scripts print the same
thing bare and through pyrunner, cold and warm (bare_runs.py says what bare is).

Each script prints only what its work determines (sums, shapes, checksums), never times or
paths, so that three runs of it can be compared line by line.
"""

import pytest

from bare_runs import ensure_bare_user, run_bare, run_pyrunner

LIMITS = {"wall_time_s": 60, "cpu_time_s": 60, "memory_mb": 1024, "tasks": 64}

# pandas writes a CSV of some 50 MB into the working directory, reads it back and
# aggregates it: the intermediate file a report is built from.
PANDAS_CSV = r"""
import os
import numpy as np
import pandas as pd

rng = np.random.default_rng(7)
rows = 900_000
frame = pd.DataFrame({
    "day": rng.integers(0, 365, rows),
    "region": rng.choice(["north", "south", "east", "west"], rows),
    "units": rng.integers(1, 100, rows),
    "price": rng.integers(100, 100_000, rows) / 100,
    "note": rng.choice(["promo", "regular", "clearance", "online", "store"], rows),
})
frame.to_csv("sales.csv", index=False)
size_mb = os.path.getsize("sales.csv") / 2**20
print("csv at least 45 MiB:", size_mb >= 45)
back = pd.read_csv("sales.csv")
print(back.shape, list(back.dtypes.astype(str)))
back["revenue"] = back["units"] * back["price"]
summary = back.groupby("region")["revenue"].agg(["count", "sum"]).round(2)
print(summary.to_string())
back.sort_values(["day", "region"]).head(1000).to_csv("top.csv", index=False)
print(len(pd.read_csv("top.csv")))
"""

# numpy with a thread pool of its own on top of whatever BLAS does: the results must not
# depend on how many threads ran.
NUMPY_THREADS = r"""
import concurrent.futures
import numpy as np

rng = np.random.default_rng(11)
matrices = [rng.standard_normal((300, 300)) for _ in range(8)]

def work(m):
    product = m @ m.T
    return float(np.trace(product)), float(np.linalg.eigvalsh(product).max())

with concurrent.futures.ThreadPoolExecutor(max_workers=4) as pool:
    results = list(pool.map(work, matrices))
for trace, largest in results:
    print(f"{trace:.6e} {largest:.6e}")
solved = np.linalg.solve(matrices[0] + 300 * np.eye(300), np.ones(300))
print(f"{solved.sum():.10f}")
"""

# matplotlib draws to a PNG and keeps its font cache where it keeps it on a laptop (under
# the home, or MPLCONFIGDIR where the environment sets it).
MATPLOTLIB_CACHE = r"""
import os
import matplotlib
import matplotlib.pyplot as plt
import numpy as np

x = np.linspace(0, 10, 500)
fig, ax = plt.subplots(figsize=(6, 4), dpi=100)
ax.plot(x, np.sin(x), label="sin")
ax.plot(x, np.cos(x), label="cos")
ax.set_title("waves")
ax.legend()
fig.savefig("waves.png")
fig.canvas.draw()
print("backend:", matplotlib.get_backend().lower())
print("canvas:", np.asarray(fig.canvas.buffer_rgba()).shape)
with open("waves.png", "rb") as png:
    print("png:", png.read(8) == b"\x89PNG\r\n\x1a\n", os.path.getsize("waves.png") > 10_000)
cache = matplotlib.get_cachedir()
print("font cache written:", any(name.startswith("fontlist") for name in os.listdir(cache)))
"""

# A process pool over a DataFrame's chunks, with fork and with spawn (whose children run
# the script's __main__ again), as analysts parallelise a groupby.
POOL_OVER_DATAFRAME = r"""
import multiprocessing
import numpy as np
import pandas as pd

def chunk_totals(chunk):
    return chunk.groupby("key")["value"].sum()

if __name__ == "__main__":
    rng = np.random.default_rng(3)
    frame = pd.DataFrame({"key": rng.integers(0, 10, 200_000),
                          "value": rng.integers(0, 1000, 200_000)})
    chunks = np.array_split(frame, 8)
    for method in ("fork", "spawn", "forkserver"):
        with multiprocessing.get_context(method).Pool(2) as pool:
            parts = pool.map(chunk_totals, chunks)
        totals = pd.concat(parts).groupby(level=0).sum()
        print(method, totals.to_dict())
"""

SCRIPTS = {
    "pandas-csv": PANDAS_CSV,
    "numpy-threads": NUMPY_THREADS,
    "matplotlib-cache": MATPLOTLIB_CACHE,
    "pool-over-dataframe": POOL_OVER_DATAFRAME,
}


@pytest.fixture(scope="module")
def bare_home(machine):
    return ensure_bare_user(machine)


@pytest.mark.parametrize("name", SCRIPTS)
def test_an_analytics_script_runs_through_pyrunner_as_it_does_bare(
        name, machine, bare_home, science_warm_and_cold):
    warm, cold = science_warm_and_cold
    code = SCRIPTS[name]
    bare = run_bare(machine, bare_home, code, limit_s=LIMITS["wall_time_s"])
    assert bare.status == "succeeded" and bare.stdout.strip(), bare.describe()
    fields = {"environment": "datascience", "limits": LIMITS}
    for outcome in (run_pyrunner(cold, machine, code, warm=False, **fields),
                    run_pyrunner(warm, machine, code, warm=True, **fields)):
        assert outcome.status == "succeeded", outcome.describe()
        assert outcome.stdout == bare.stdout, f"{outcome.variant} printed:\n{outcome.stdout}\nbare:\n{bare.stdout}"
