"""From what a student hands in (a folder, or a zip of it) to a folder in the contract's layout.

A zip comes from a stranger, so it is unpacked defensively: only its .py files, never outside
the target folder (no absolute paths, no `..`, no links), and never more than a few megabytes
(a small archive can claim to unpack to gigabytes). Anything refused is refused with a message
the student can act on.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from spec.support import layout

MAX_MEMBERS = 2000
MAX_PYTHON_BYTES = 10 * 2**20  # all .py files together; a whole solution is about 100 kB
UTF8_NAMES = 0x800  # zip flag bit: the member's name is UTF-8
ENCRYPTED = 0x1  # zip flag bit: the member is encrypted


class UngradableError(Exception):
    """The submission cannot be graded at all; the message says why, for the student."""


def prepare(path: Path, workdir: Path) -> tuple[Path, list[str]]:
    """The submission arranged under `workdir`, and notes on the files the harness supplied."""
    uploads = list(path.glob("*.zip")) if path.is_dir() else []
    if len(uploads) == 1 and not layout.python_files(path):
        path = uploads[0]  # a course platform's export: a folder per student, holding the zip
    if path.is_dir():
        refuse_links(path)
        source = path
    elif path.is_file() and path.suffix.lower() == ".zip":
        source = unzip(path, workdir / "unpacked")
    else:
        raise UngradableError(f"{path.name} is neither a folder nor a .zip file")
    handed_in = {layout.place_of(p, source) for p in layout.python_files(source)}
    if not handed_in:
        raise UngradableError(f"{path.name} holds no Python files")
    solution = layout.arrange_into(source, workdir / "submission")
    packages = {PurePosixPath(place).parent for place in handed_in}
    supplied = [
        place
        for place in (*layout.SUPPLIED, *layout.SUPPLIED_FROM_HARNESS)
        if place not in handed_in and PurePosixPath(place).parent in packages
    ]
    notes = [f"supplied by the harness: {', '.join(supplied)}"] if supplied else []
    return solution, notes


def member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its author wrote it. Without the UTF-8 flag, the zip standard says
    cp437, but many tools write UTF-8 anyway: decode it as UTF-8 when that works."""
    name = info.filename
    if not info.flag_bits & UTF8_NAMES:
        with contextlib.suppress(UnicodeError):
            name = name.encode("cp437").decode("utf-8")
    return name.replace("\\", "/")  # some Windows tools write backslashes


def refuse_unsafe(archive: str, info: zipfile.ZipInfo, name: str) -> None:
    if stat.S_ISLNK(info.external_attr >> 16):
        raise UngradableError(f"{archive} contains a link ({name}); hand in plain files")
    if name.startswith("/") or re.match(r"[A-Za-z]:", name):
        raise UngradableError(f"{archive} contains an absolute path ({name}); zip relative paths")
    if ".." in PurePosixPath(name).parts:
        raise UngradableError(f"{archive} contains a path leaving its folder ({name})")
    if not name.isprintable() or "//" in name.rstrip("/"):
        raise UngradableError(f"{archive} contains a file with an unusable name ({name!r})")
    if info.flag_bits & ENCRYPTED:
        raise UngradableError(f"{archive} is encrypted ({name}); hand in a zip without a password")


def refuse_links(folder: Path) -> None:
    """A folder, like a zip, must hold plain files: a link could make the harness copy its own
    solution (or any file it can read) into the submission."""
    for parent, folders, files in os.walk(folder):
        for name in folders + files:
            if (Path(parent) / name).is_symlink():
                link = (Path(parent) / name).relative_to(folder)
                raise UngradableError(
                    f"{folder.name} contains a link ({link}); hand in plain files"
                )


def members_of(archive: Path) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    """The open archive and its members, or why it cannot be read as a zip at all."""
    try:
        zipped = zipfile.ZipFile(archive)
    except UnicodeDecodeError as error:  # a name flagged UTF-8 that is not
        raise UngradableError(
            f"{archive.name} has a file name that is not valid UTF-8 ({error.object[:60]!r}); "
            "zip it again with a current tool"
        ) from error
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as error:
        raise UngradableError(
            f"{archive.name} is not a zip file, or it is truncated ({error}); "
            "make the zip again and hand it in whole"
        ) from error
    members = zipped.infolist()
    if len(members) > MAX_MEMBERS:
        zipped.close()
        raise UngradableError(
            f"{archive.name} holds {len(members)} files, more than the {MAX_MEMBERS} accepted"
        )
    return zipped, members


def unzip(archive: Path, target: Path) -> Path:
    """Extract the .py files of `archive` into `target`, refusing unsafe, malformed or
    oversized archives with a reason the student can act on."""
    too_big = UngradableError(
        f"{archive.name} unpacks to more than {MAX_PYTHON_BYTES // 2**20} MB of Python files"
    )
    zipped, members = members_of(archive)
    seen: set[str] = set()
    try:
        with zipped:
            budget = MAX_PYTHON_BYTES
            for info in members:
                name = member_name(info)
                refuse_unsafe(archive.name, info, name)
                if info.is_dir() or not name.endswith(".py"):
                    continue
                if name.lower() in seen:  # unpacked on a case-insensitive disk, one would win
                    raise UngradableError(f"{archive.name} holds {name} twice; keep one")
                seen.add(name.lower())
                if info.file_size > budget:
                    raise too_big
                with zipped.open(info) as member:
                    data = member.read(budget + 1)  # the declared size may lie
                if len(data) > budget:
                    raise too_big
                budget -= len(data)
                destination = target / name
                destination.parent.mkdir(parents=True, exist_ok=True)
                destination.write_bytes(data)
    except (zipfile.BadZipFile, zlib.error, EOFError, NotImplementedError, OSError) as error:
        raise UngradableError(
            f"{archive.name} cannot be unpacked ({error}): it may be truncated or damaged; "
            "make the zip again"
        ) from error
    except RuntimeError as error:  # zipfile's "is encrypted, password required"
        raise UngradableError(f"{archive.name} cannot be unpacked: {error}") from error
    target.mkdir(parents=True, exist_ok=True)
    return target


def content_hash(path: Path) -> str:
    """A digest of what is graded: the bytes of a zip, or the .py files of a folder."""
    digest = hashlib.sha256()
    if path.is_file():
        digest.update(path.read_bytes())
    elif path.is_dir():
        for file in layout.python_files(path):
            digest.update(file.relative_to(path).as_posix().encode() + b"\0")
            digest.update(file.read_bytes() + b"\0")
    return digest.hexdigest()
