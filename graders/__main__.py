"""`python -m graders grade PATH`, `batch FOLDER`, `merge SHARD_DIR...`, `gradescope`.

The exit status is 0 whenever a report was written, whatever the score; 2 for a command line
that is wrong or cannot be carried out (a path that does not exist, a class folder that holds no
submissions); 1 when the harness itself failed (an invalid rubric, a spec that cannot be
collected, a confinement layer this machine lacks, ...).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from rich.console import Console

from graders import gradescope, reports, rubric, similarity
from graders.batch import ClassError, batch, parse_shard
from graders.grade import grade, name_of
from graders.merge import MergeError, merge
from graders.run import ROOT, HarnessError
from spec.support.confinement import policy

SIMILARITY_EXTRA = 'copydetect is not installed: pip install -e ".[similarity]"'


def parser() -> argparse.ArgumentParser:
    main = argparse.ArgumentParser(prog="python -m graders", description=__doc__.split("\n")[0])
    commands = main.add_subparsers(dest="command", required=True)
    shared = argparse.ArgumentParser(add_help=False)
    shared.add_argument(
        "--rubric",
        type=Path,
        default=rubric.DEFAULT,
        help="rubric TOML file (default: graders/rubric.toml)",
    )
    shared.add_argument(
        "--release", action="store_true", help="show hidden tests' names and messages"
    )
    shared.add_argument("--out", type=Path, help="folder for the reports (default: reports/NAME)")
    shared.add_argument(
        "--accept-missing",
        metavar="LAYER,...",
        default="",
        help="grade although this machine lacks these confinement layers (namespaces, uid, "
        "landlock, seccomp, rlimits), e.g. namespaces inside a container that is itself the "
        "boundary; the report records what held",
    )
    shared.add_argument(
        "--trust-submission",
        action="store_true",
        help="run the submission in-process, not confined: only for code you trust",
    )

    one = commands.add_parser(
        "grade",
        parents=[shared],
        help="grade one submission",
        description="Grade a solution folder or a (flat) zip of it.",
    )
    one.add_argument("path", type=Path, help="the submission: a folder or a .zip file")
    one.add_argument("--quiet", action="store_true", help="print no table")

    many = commands.add_parser(
        "batch",
        parents=[shared],
        help="grade a class",
        description="Grade every folder and .zip in a folder; write "
        "gradebook.csv and a folder of reports per student.",
    )
    many.add_argument("submissions", type=Path, help="folder of submissions")
    many.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="submissions graded at once (default: the number of cores)",
    )
    many.add_argument(
        "--fresh",
        action="store_true",
        help="regrade everyone, even students whose report is up to date",
    )
    many.add_argument(
        "--shard",
        type=shard_argument,
        metavar="K/N",
        help="grade only the K-th of N parts of the class (one job of a cluster's array); "
        "`merge` combines the parts",
    )
    many.add_argument(
        "--similarity",
        action="store_true",
        help="also flag pairs of submissions that share code (needs the similarity extra)",
    )

    combine = commands.add_parser(
        "merge",
        help="combine the outputs of `batch --shard`",
        description="Combine the outputs of `batch --shard K/N` for K = 1..N into one "
        "gradebook, class summary and folder of reports, as one batch would have written them.",
    )
    combine.add_argument("shards", type=Path, nargs="+", metavar="SHARD_DIR")
    combine.add_argument("--out", type=Path, required=True, help="folder for the merged class")
    combine.add_argument(
        "--rubric", type=Path, default=rubric.DEFAULT, help="the rubric the shards graded with"
    )
    combine.add_argument(
        "--similarity",
        type=Path,
        metavar="SUBMISSIONS_DIR",
        help="also flag similar pairs among the class's submissions (the folder the shards graded)",
    )

    bundle = commands.add_parser(
        "gradescope",
        help="build a Gradescope autograder",
        description="Build the zip to upload as a Gradescope programming assignment's "
        "autograder: setup.sh, run_autograder, the harness, its pinned dependencies.",
    )
    bundle.add_argument(
        "--out", type=Path, default=Path("autograder.zip"), help="default: autograder.zip"
    )
    bundle.add_argument(
        "--rubric", type=Path, default=rubric.DEFAULT, help="default: graders/rubric.toml"
    )
    return main


def shard_argument(text: str) -> object:
    try:
        return parse_shard(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def usage_error(command: str, message: str) -> int:
    print(f"python -m graders {command}: error: {message}", file=sys.stderr)
    return 2


def confinement_of(args: argparse.Namespace) -> dict[str, object]:
    """What the command line asks for; refuses to go on when a required layer is missing."""
    accepted = policy.parse(args.accept_missing)
    if not args.trust_submission:
        policy.check(accepted, ROOT / "solution")
    return {"trusted": args.trust_submission, "accepted_missing": sorted(accepted)}


def grade_command(args: argparse.Namespace, chosen: rubric.Rubric, console: Console) -> int:
    out = args.out or Path("reports") / name_of(args.path)
    report = grade(args.path, out, chosen, confinement_of(args))
    if not args.quiet:
        reports.show(report, console)
        console.print(f"Reports written to {out}/")
    return 0


def batch_command(args: argparse.Namespace, chosen: rubric.Rubric, console: Console) -> int:
    if args.similarity and args.shard:
        return usage_error("batch", "--similarity compares the whole class: give it to merge")
    if args.similarity and not similarity.available():
        return usage_error("batch", f"--similarity: {SIMILARITY_EXTRA}")
    out = args.out or Path("reports") / args.submissions.name
    start = time.perf_counter()
    try:
        done = batch(
            args.submissions,
            out,
            args.rubric,
            chosen,
            args.jobs,
            args.fresh,
            args.shard,
            args.similarity,
            confinement_of(args),
        )
    except ClassError as error:
        return usage_error("batch", str(error))
    part = f" (shard {args.shard})" if args.shard else ""
    console.print(
        f"Graded {done.graded} submissions of {done.students}{part} in "
        f"{time.perf_counter() - start:.0f} s; {done.students - done.graded} were up to date. "
        f"Gradebook: {done.gradebook}; class summary: {done.summary}",
        highlight=False,
    )
    for name, failure in done.failures.items():
        console.print(f"[red]Grader failed for {name}:[/] {failure}", highlight=False)
    return 1 if done.failures else 0


def merge_command(args: argparse.Namespace, chosen: rubric.Rubric, console: Console) -> int:
    if args.similarity and not similarity.available():
        return usage_error("merge", f"--similarity: {SIMILARITY_EXTRA}")
    try:
        book, summary = merge(args.shards, args.out, chosen, args.similarity)
    except (MergeError, ClassError) as error:
        return usage_error("merge", str(error))
    console.print(f"Gradebook: {book}; class summary: {summary}", highlight=False)
    return 0


def gradescope_command(args: argparse.Namespace, chosen: rubric.Rubric, console: Console) -> int:
    path = gradescope.build(args.out, args.rubric)
    console.print(
        f"Wrote {path} ({path.stat().st_size / 2**20:.1f} MB): upload it as the autograder of "
        "a Gradescope programming assignment (Configure Autograder, Zip file upload).",
        highlight=False,
    )
    return 0


COMMANDS = {
    "grade": grade_command,
    "batch": batch_command,
    "merge": merge_command,
    "gradescope": gradescope_command,
}


def main(argv: list[str] | None = None) -> int:
    command_line = parser()
    args = command_line.parse_args(argv)
    command = COMMANDS[args.command]
    if args.command == "grade" and not args.path.exists():
        command_line.error(f"{args.path} does not exist")
    try:
        policy.parse(getattr(args, "accept_missing", ""))
    except ValueError as error:
        command_line.error(f"--accept-missing: {error}")
    try:
        chosen = rubric.load(args.rubric)
        if getattr(args, "release", False):
            chosen = dataclasses.replace(chosen, release=True)
        return command(args, chosen, Console())
    except (HarnessError, rubric.RubricError, policy.ConfinementMissing, OSError) as error:
        print(f"harness error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted: run the same command again to resume", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
