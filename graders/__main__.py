"""`python -m graders grade PATH` and `python -m graders batch FOLDER`.

The exit status is 0 whenever a report was written, whatever the score; 2 for a command line
that is wrong (a path that does not exist); 1 when the harness itself failed (an invalid
rubric, a spec that cannot be collected, a confinement layer this machine lacks, ...).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import time
from pathlib import Path

from rich.console import Console

from graders import reports, rubric
from graders.batch import batch
from graders.grade import grade, name_of
from graders.run import ROOT, HarnessError
from spec.support.confinement import policy, view


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
    return main


def confinement_of(args: argparse.Namespace) -> dict[str, object]:
    """What the command line asks for; refuses to go on when a required layer is missing."""
    accepted = policy.parse(args.accept_missing)
    if not args.trust_submission:
        readable = view.readable(ROOT / "solution", [ROOT])
        policy.require(policy.available(readable), accepted)
    return {"trusted": args.trust_submission, "accepted_missing": sorted(accepted)}


def grade_command(args: argparse.Namespace, chosen: rubric.Rubric, console: Console) -> int:
    out = args.out or Path("reports") / name_of(args.path)
    report = grade(args.path, out, chosen, confinement_of(args))
    if not args.quiet:
        reports.show(report, console)
        console.print(f"Reports written to {out}/")
    return 0


def batch_command(args: argparse.Namespace, chosen: rubric.Rubric, console: Console) -> int:
    out = args.out or Path("reports") / args.submissions.name
    start = time.perf_counter()
    book, failures, graded = batch(
        args.submissions, out, args.rubric, chosen, args.jobs, args.fresh, confinement_of(args)
    )
    console.print(
        f"Graded {graded} submissions in {time.perf_counter() - start:.0f} s "
        f"(the others were up to date); gradebook: {book}"
    )
    for name, failure in failures.items():
        console.print(f"[red]Grader failed for {name}:[/] {failure}", highlight=False)
    return 1 if failures else 0


def main(argv: list[str] | None = None) -> int:
    command_line = parser()
    args = command_line.parse_args(argv)
    command = grade_command if args.command == "grade" else batch_command
    path = args.path if args.command == "grade" else args.submissions
    if not path.exists():
        command_line.error(f"{path} does not exist")
    try:
        policy.parse(args.accept_missing)
    except ValueError as error:
        command_line.error(f"--accept-missing: {error}")
    try:
        chosen = rubric.load(args.rubric)
        if args.release:
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
