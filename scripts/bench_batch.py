"""How long does a class take? Grade 20 submissions with `python -m graders batch --jobs 2`.

The class: the reference solution; copies of it with a realistic bug each (the first mutant of
each bank in tests/mutants/); a missing file, a syntax error, a wrong class name; flat zips as
the course's packaging script makes them. With --interrupt-after S the batch is stopped with
Ctrl-C after S seconds and started again, to show that it resumes. With --shards N the class is
graded as N shards side by side (`batch --shard K/N`, each with jobs/N) and merged, as a
cluster's job array would. --similarity compares the class for copied code; --example DIR
copies the class summary (class.md, scores.png) there (docs/example_class/ comes from this).

    python scripts/bench_batch.py [--jobs 2] [--interrupt-after 60] [--shards 2] [--similarity]
        [--keep DIR] [--example DIR]
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
    first_of_each_bank = [  # benign.toml holds correct variants, no mutant
        bugs[0] for bank in banks if (bugs := tomllib.loads(bank.read_text()).get("mutant"))
    ]
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


def graders(*args) -> subprocess.Popen[bytes]:
    command = [sys.executable, "-m", "graders", *map(str, args)]
    return subprocess.Popen(command, cwd=ROOT, start_new_session=True)


def batch(submissions: Path, out: Path, jobs: int, *extra: str, stop_after: float | None = None):
    """Run the batch; with `stop_after`, press Ctrl-C after that many seconds."""
    start = time.perf_counter()
    process = graders("batch", submissions, "--jobs", jobs, "--out", out, *extra)
    try:
        process.wait(timeout=stop_after)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGINT)  # what Ctrl-C in its terminal does
        process.wait()
    return time.perf_counter() - start, process.returncode


def sharded(submissions: Path, out: Path, jobs: int, shards: int, *extra: str):
    """The class as `shards` batches side by side, then merged into `out`: the wall time of
    each step and the merge's exit status."""
    start = time.perf_counter()
    parts = [out.with_name(f"{out.name}-shard{k}") for k in range(1, shards + 1)]
    running = [
        graders("batch", submissions, "--jobs", max(1, jobs // shards), "--out", part,
                "--shard", f"{k}/{shards}", "--fresh")
        for k, part in enumerate(parts, 1)
    ]  # fmt: skip
    statuses = [process.wait() for process in running]
    graded = time.perf_counter() - start
    similarity = ["--similarity", submissions] if "--similarity" in extra else []
    merged = graders("merge", *parts, "--out", out, *similarity).wait()
    return graded, time.perf_counter() - start - graded, max([*statuses, merged])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--interrupt-after", type=float, metavar="S")
    parser.add_argument("--shards", type=int, metavar="N", help="grade as N shards, then merge")
    parser.add_argument("--similarity", action="store_true", help="compare for copied code")
    parser.add_argument("--keep", type=Path, metavar="DIR", help="keep the class and reports here")
    parser.add_argument(
        "--example", type=Path, metavar="DIR", help="copy class.md, scores.png here"
    )
    args = parser.parse_args()
    extra = ["--similarity"] if args.similarity else []
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
    elif args.shards:
        graded, merged, status = sharded(submissions, out, args.jobs, args.shards, *extra)
        print(
            f"{args.shards} shards of the class side by side: {graded:.0f} s wall; merge "
            f"{merged:.1f} s; exit status {status}"
        )
    else:
        seconds, status = batch(submissions, out, args.jobs, "--fresh", *extra)
        print(
            f"batch of {CLASS_SIZE} with --jobs {args.jobs}: {seconds:.0f} s wall, "
            f"exit status {status}"
        )
    print(f"load average {os.getloadavg()[0]:.1f}")
    print((out / "gradebook.csv").read_text())
    if args.example:
        args.example.mkdir(parents=True, exist_ok=True)
        for name in ("class.md", "scores.png"):
            if (out / name).exists():
                shutil.copy(out / name, args.example / name)
    if not args.keep:
        shutil.rmtree(work)


if __name__ == "__main__":
    main()
