"""Measure what each call of the spec costs the reference solution, for the time limits.

    python scripts/calibrate.py [--runs 3] [--out spec/support/calibration.json]

Runs the spec isolated against the bundled solution `--runs` times, one process at a time,
records each call's busy time (spec/support/isolated.py measures it the way it limits it) and
writes the largest of the runs for every call that costs at least calibration.THRESHOLD. Run it
on a quiet machine after a change to the spec or the solution; the load is printed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spec.support import calibration  # noqa: E402


def one_run(record: Path) -> dict[str, dict[str, float]]:
    command = [sys.executable, "-m", "pytest", "spec", "--isolated", f"--record={record}"]
    command += ["-q", "-p", "no:xdist", "-p", "no:cacheprovider"]
    environment = {**os.environ, "OPENBLAS_NUM_THREADS": "1", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, cwd=ROOT, env=environment, capture_output=True, text=True)
    if done.returncode != 0:
        sys.exit(f"the spec does not pass the reference:\n{done.stdout[-3000:]}")
    costs: dict[str, dict[str, float]] = json.loads(record.read_text())["costs"]
    return costs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=3, help="spec runs to take the most of")
    parser.add_argument("--out", type=Path, default=calibration.FILE, help="where to write")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()[0]:.2f}")
    merged: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as folder:
        for run in range(args.runs):
            for test, calls in one_run(Path(folder) / f"run-{run}.json").items():
                for call, seconds in calls.items():
                    kept = merged.setdefault(test, {})
                    kept[call] = max(seconds, kept.get(call, 0.0))
    result = calibration.kept(merged)
    args.out.write_text(json.dumps(result, indent=1, sort_keys=True) + "\n")
    costliest = max((s for calls in result.values() for s in calls.values()), default=0.0)
    print(f"load average after: {os.getloadavg()[0]:.2f}")
    print(
        f"{sum(map(len, result.values()))} calls of {len(result)} tests cost >= "
        f"{calibration.THRESHOLD:g} s (the most: {costliest:g} s); wrote {args.out}"
    )


if __name__ == "__main__":
    main()
