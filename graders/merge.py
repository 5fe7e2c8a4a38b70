"""`python -m graders merge SHARD_DIR... --out DIR`: the outputs of `batch --shard K/N`, one per
shard, put together into what one `batch` of the whole class writes, byte for byte.

A merge refuses what would give a wrong gradebook: a missing or repeated shard, shards of
different splits or of different classes (a late submission added between two shards' runs),
reports graded with another rubric or another harness.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

from graders import batch, similarity
from graders.rubric import Rubric


class MergeError(Exception):
    """The shards do not make one class: the message says what to rerun."""


def read_shard(folder: Path) -> dict[str, Any]:
    try:
        record: dict[str, Any] = json.loads((folder / batch.SHARD_FILE).read_text())
    except (OSError, ValueError):
        raise MergeError(
            f"{folder} is not the output of `batch --shard K/N` (no readable {batch.SHARD_FILE})"
        ) from None
    record["shard"] = batch.parse_shard(record["shard"])
    return record


def check_complete(records: dict[Path, dict[str, Any]]) -> list[str]:
    """The class's students, if the shards are all the parts of one split of one class."""
    shards = {folder: record["shard"] for folder, record in records.items()}
    counts = {shard.count for shard in shards.values()}
    if len(counts) != 1:
        raise MergeError(
            f"the shards come from different splits: {sorted(map(str, shards.values()))}"
        )
    count = counts.pop()
    indices = sorted(shard.index for shard in shards.values())
    if indices != list(range(1, count + 1)):
        missing = sorted(set(range(1, count + 1)) - set(indices))
        repeated = sorted({i for i in indices if indices.count(i) > 1})
        raise MergeError(
            f"shards of {count}: missing {[f'{i}/{count}' for i in missing]}, "
            f"repeated {[f'{i}/{count}' for i in repeated]}"
        )
    classes = {tuple(record["class"]) for record in records.values()}
    if len(classes) != 1:
        raise MergeError(
            "the shards saw different classes (submissions added or removed "
            "between their runs): rerun them on the same folder"
        )
    return list(classes.pop())


def check_graded_alike(folders: dict[str, Path], rubric: Rubric) -> None:
    """Every report made with `rubric` and with one harness, as one batch would have made them."""
    harnesses = set()
    for name, folder in folders.items():
        try:
            report = json.loads((folder / "report.json").read_text())
            stamp = report["extra_data"]["fingerprint"]
        except (OSError, ValueError, KeyError):
            continue  # no report: the gradebook says why
        if (stamp.get("rubric"), stamp.get("release")) != (rubric.digest, rubric.release):
            raise MergeError(f"{name} was graded with another rubric than the one given to merge")
        harnesses.add(stamp.get("harness"))
    if len(harnesses) > 1:
        raise MergeError("the shards were graded by different versions of the harness")


def merge(
    shard_folders: list[Path], out: Path, rubric: Rubric, submissions: Path | None = None
) -> tuple[Path, Path]:
    """Write the merged class into `out`; with `submissions` (the class's folder), compare them
    for similarity as `batch --similarity` does."""
    records = {folder: read_shard(folder) for folder in shard_folders}
    if any(out.resolve() == folder.resolve() for folder in records):
        raise MergeError(f"--out {out} is one of the shards: merge into a folder of its own")
    names = check_complete(records)
    reports = {
        name: folder / name
        for folder, record in records.items()
        for name in names
        if record["shard"].holds(name) and (folder / name).is_dir()
    }
    check_graded_alike(reports, rubric)
    whole_class = batch.submissions_in(submissions) if submissions is not None else None
    if whole_class is not None and sorted(whole_class) != names:
        raise MergeError(f"{submissions} is not the class the shards graded")
    failures = {
        name: why for record in records.values() for name, why in record["failures"].items()
    }
    out.mkdir(parents=True, exist_ok=True)
    for name, report in reports.items():
        shutil.rmtree(out / name, ignore_errors=True)
        shutil.copytree(report, out / name)
    similar = similarity.compare(whole_class) if whole_class is not None else None
    return batch.write_class(out, names, rubric, failures, similar)
