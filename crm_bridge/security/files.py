"""Files holding personal data or secrets (the SQLite store, rejects files, reports, the log file,
the demo's config) are created owner-only -- 0600 files, 0700 directories -- whatever the umask.

The mode is set with ``fchmod``/``chmod`` after creation, since ``os.open``'s mode is filtered by the
umask. Existing directories the user named (``--out ~/reports``, ``/tmp``) are left as they are;
only the directories we create are made private. ``readable_by_others`` is what ``doctor`` checks."""

from __future__ import annotations

import os
import stat
from pathlib import Path

FILE_MODE = 0o600
DIR_MODE = 0o700


def private_dir(path: Path) -> Path:
    """``path`` as a directory; each level this call creates is 0700 (existing ones untouched)."""
    missing: list[Path] = []
    probe = path
    while not probe.exists() and probe != probe.parent:
        missing.append(probe)
        probe = probe.parent
    for folder in reversed(missing):
        try:
            folder.mkdir(mode=DIR_MODE)
        except FileExistsError:
            continue  # another process made it meanwhile
        os.chmod(folder, DIR_MODE)
    return path


def create_private(path: Path) -> None:
    """Make sure ``path`` exists as a 0600 file (its folder as ``private_dir``); an existing file is
    left as it is (its mode is the admin's choice; doctor reports it)."""
    private_dir(path.parent)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
    except FileExistsError:
        return
    try:
        os.fchmod(fd, FILE_MODE)
    finally:
        os.close(fd)


def write_private(path: Path, data: str | bytes, *, encoding: str = "utf-8") -> Path:
    """Write ``data`` to ``path`` (replacing it) as a 0600 file in a directory created 0700."""
    private_dir(path.parent)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, FILE_MODE)
    try:
        os.fchmod(fd, FILE_MODE)
        with os.fdopen(fd, "wb", closefd=False) as fh:
            fh.write(data.encode(encoding) if isinstance(data, str) else data)
    finally:
        os.close(fd)
    return path


def readable_by_others(path: Path) -> bool:
    """True when ``path`` exists and its group or other users may read or write it."""
    try:
        mode = path.stat().st_mode
    except OSError:
        return False
    return bool(mode & (stat.S_IRWXG | stat.S_IRWXO))


def sensitive_files(config_path: Path, state_url: str, log_file: Path | str | None = None) -> list[Path]:
    """The files ``doctor`` checks: the config, ``.env`` next to it and in the current directory, the
    SQLite store with its ``-wal``/``-shm``, the log file -- those that exist."""
    found = [config_path, config_path.resolve().parent / ".env", Path.cwd() / ".env"]
    scheme, _, rest = state_url.partition(":///")
    if scheme.startswith("sqlite") and rest and rest != ":memory:" and not rest.startswith("file:"):
        db = Path(rest.split("?", 1)[0])
        found += [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    if log_file:
        found.append(Path(log_file))
    unique: dict[Path, Path] = {}
    for path in found:
        if path.exists():
            unique.setdefault(path.resolve(), path)
    return list(unique.values())


def exposure_warnings(paths: list[Path]) -> list[tuple[Path, str]]:
    """(file, the command that fixes it) for each of ``paths`` that other users may read."""
    return [(p, f"chmod 600 {p}") for p in paths if readable_by_others(p)]
