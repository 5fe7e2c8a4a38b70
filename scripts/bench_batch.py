"""How long does a class take? Grade 20 submissions with `python -m graders batch --jobs 2`.

The class: the reference solution; copies of it with a realistic bug each (the first mutant of
each bank in tests/mutants/); a missing file, a syntax error, a wrong class name; flat zips as
the course's packaging script makes them. With --interrupt-after S the batch is stopped with
Ctrl-C after S seconds and started again, to show that it resumes.

    python scripts/bench_batch.py [--jobs 2] [--interrupt-after 60] [--keep DIR]
"""

from __future__ import annotations

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests import mutants  # noqa: E402  (the bank of realistic bugs, beside the tests using it)
from tests.mutants import copy_of_solution, edit  # noqa: E402

CLASS_SIZE = 20


def flat_zip(solution: Path, path: Path) -> None:
    with zipfile.ZipFile(path, "w") as archive:
        for file in sorted(solution.rglob("*.py")):
            if file.name not in ("__init__.py", "Helpers.py"):
                archive.write(file, file.name)


def make_class(folder: Path) -> None:
    folder.mkdir(parents=True)
    copy_of_solution(folder / "reference")
    banks = sorted(mutants.BANK.glob("*.toml"))
    first_of_each_bank = [tomllib.loads(bank.read_text())["mutant"][0] for bank in banks]
    for mutant in first_of_each_bank[:14]:
        mutants.apply(mutant, copy_of_solution(folder / mutant["name"]))
    (copy_of_solution(folder / "missing_rnn") / "Layers" / "RNN.py").unlink()
    edit(
        copy_of_solution(folder / "syntax_error") / "Layers" / "BatchNormalization.py",
        "def forward(self, input_tensor):",
        "def forward(self, input_tensor)",
    )
    edit(
        copy_of_solution(folder / "wrong_class_name") / "Layers" / "Sigmoid.py",
        "class Sigmoid(",
        "class sigmoid(",
    )
    for name in ("reference", first_of_each_bank[0]["name"]):
        flat_zip(folder / name, folder / f"{name}_flat.zip")
    assert len(list(folder.iterdir())) == CLASS_SIZE


def batch(submissions: Path, out: Path, jobs: int, *extra: str, stop_after: float | None = None):
    """Run the batch; with `stop_after`, press Ctrl-C after that many seconds."""
    command = [
        sys.executable,
        "-m",
        "graders",
        "batch",
        str(submissions),
        "--jobs",
        str(jobs),
        "--out",
        str(out),
        *extra,
    ]
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True)
    try:
        process.wait(timeout=stop_after)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
        process.wait()
    return time.perf_counter() - start, process.returncode


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--interrupt-after", type=float, metavar="S")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the class and reports here")
    args = parser.parse_args()
    work = args.keep or Path(tempfile.mkdtemp(prefix="bench-batch-"))
    submissions, out = work / "submissions", work / "reports"
    make_class(submissions)
    print(
        f"{CLASS_SIZE} submissions in {submissions}; {os.cpu_count()} cores; "
        f"load average {os.getloadavg()[0]:.1f}",
        flush=True,
    )
    if args.interrupt_after:
        seconds, _ = batch(submissions, out, args.jobs, "--fresh", stop_after=args.interrupt_after)
        done = len(list(out.glob("*/report.json")))
        print(f"interrupted after {seconds:.0f} s with {done} reports; resuming", flush=True)
        seconds, status = batch(submissions, out, args.jobs)
        print(
            f"resumed batch: {seconds:.0f} s, exit status {status} (it should grade "
            f"{CLASS_SIZE - done}, unless spec/, graders/, solution/ changed meanwhile)"
        )
    else:
        seconds, status = batch(submissions, out, args.jobs, "--fresh")
        print(
            f"batch of {CLASS_SIZE} with --jobs {args.jobs}: {seconds:.0f} s wall, "
            f"exit status {status}"
        )
    print((out / "gradebook.csv").read_text())
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
