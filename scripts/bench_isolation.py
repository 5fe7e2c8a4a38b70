"""What confinement costs, and what time limits measured in busy time buy. Three benchmarks:

    python scripts/bench_isolation.py spec [--rounds 5]    # the spec on the reference:
                                                           # isolated / in-process, interleaved
    python scripts/bench_isolation.py hang                 # a layer's forward loops forever:
                                                           # seconds to grade the submission
    python scripts/bench_isolation.py load [--load 8]      # the class of bench_batch.py, quiet
                                                           # and with 8 CPU hogs: timeouts?

Each prints the load average before and after; ratios are taken within one run.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from scripts.bench_batch import make_class  # noqa: E402
from tests.mutants import copy_of_solution, edit  # noqa: E402

ENVIRONMENT = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
HANGS = {
    "TanH": ("Layers/TanH.py", "        self.activation = np.tanh(input_tensor)\n"),
    "FullyConnected": (
        "Layers/FullyConnected.py",
        "        ones = np.ones((input_tensor.shape[0], 1))\n",
    ),
}


def load() -> str:
    return "load average " + " ".join(f"{value:.2f}" for value in os.getloadavg())


def timed(command: list[str]) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, cwd=ROOT, env=ENVIRONMENT, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")
    return time.perf_counter() - start


def spec(rounds: int) -> None:
    """The spec against the reference in one process, in-process and isolated, alternating."""
    base = [
        sys.executable,
        "-m",
        "pytest",
        "spec",
        "-q",
        "-p",
        "no:xdist",
        "-p",
        "no:cacheprovider",
    ]
    times: dict[str, list[float]] = {"in-process": [], "isolated": []}
    print(load())
    for _ in range(rounds):
        times["in-process"].append(timed(base))
        times["isolated"].append(timed([*base, "--isolated"]))
    print(load())
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, values in times.items():
        print(f"{name:>10}: median {medians[name]:.2f} s ({', '.join(f'{v:.2f}' for v in values)})")
    print(f"isolated / in-process: {medians['isolated'] / medians['in-process']:.2f}")


def grade(submission: Path, out: Path) -> float:
    return timed([sys.executable, "-m", "graders", "grade", str(submission), "--out", str(out)])


def hang() -> None:
    """The whole default rubric against a submission whose layer's forward never returns."""
    print(load())
    with tempfile.TemporaryDirectory() as folder:
        for layer, (file, line) in HANGS.items():
            submission = copy_of_solution(Path(folder) / layer)
            edit(submission / file, line, "        while True:\n            pass\n" + line)
            seconds = grade(submission, Path(folder) / f"{layer}-report")
            report = json.loads((Path(folder) / f"{layer}-report" / "report.json").read_text())
            print(
                f"{layer}.forward loops forever: graded in {seconds:.0f} s, {report['score']:g}/100"
            )
    print(load())


def hog(stop) -> None:
    while not stop.is_set():
        sum(range(10_000))


def timeouts(reports: Path) -> set[str]:
    """(student, test) pairs whose failure was a time limit."""
    found = set()
    for report in reports.glob("*/junit.xml"):
        text = report.read_text()
        for marker in ("timed out", "not run: the spec run stopped", "took longer than"):
            if marker in text:
                found.add(f"{report.parent.name}: {marker}")
    return found


def under_load(hogs: int, jobs: int) -> None:
    """The class graded on a quiet machine, then again beside `hogs` busy processes."""
    with tempfile.TemporaryDirectory() as folder:
        submissions = Path(folder) / "class"
        make_class(submissions)
        results = {}
        for name, count in (("quiet", 0), (f"{hogs} hogs", hogs)):
            stop = multiprocessing.Event()
            workers = [multiprocessing.Process(target=hog, args=(stop,)) for _ in range(count)]
            for worker in workers:
                worker.start()
            time.sleep(5 if count else 0)
            before = load()
            out = Path(folder) / name.replace(" ", "-")
            command = [sys.executable, "-m", "graders", "batch", str(submissions), "--fresh"]
            seconds = timed([*command, "--jobs", str(jobs), "--out", str(out)])
            print(f"{name}: {seconds:.0f} s; {before} -> {load()}", flush=True)
            stop.set()
            for worker in workers:
                worker.join()
            results[name] = timeouts(out)
            print(f"  time limits hit: {sorted(results[name]) or 'none'}")
        extra = results[f"{hogs} hogs"] - results["quiet"]
        print(f"timeouts under load that the quiet run does not have: {sorted(extra) or 'none'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("what", choices=("spec", "hang", "load"))
    parser.add_argument("--rounds", type=int, default=5, help="spec: runs of each")
    parser.add_argument("--load", type=int, default=8, help="load: busy processes beside it")
    parser.add_argument("--jobs", type=int, default=2, help="load: submissions at once")
    args = parser.parse_args()
    print(f"{os.cpu_count()} cores")
    if args.what == "spec":
        spec(args.rounds)
    elif args.what == "hang":
        hang()
    else:
        under_load(args.load, args.jobs)


if __name__ == "__main__":
    main()
