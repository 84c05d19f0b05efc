"""Files written whole or not at all: a reader (or a resumed run) sees the old file or the new one, never half.

A file being written has a name starting with a dot and containing ".tmp" (".metrics.tmp-4f2a9c.csv"), so a
run killed mid-write leaves only names that `stale(folder)` finds and a resume deletes. The name is new for
every write: two processes writing one file (two runs building one folder's cache) never share a temporary.
"""

import os
import secrets
from pathlib import Path


def write(path, writer, durable=False):
    """Call writer(temporary_path), then rename it over `path`. `durable`: flushed to the disk first (fsync of the
    file, and of its folder after the rename), so it survives a power cut, not only a kill."""
    path = Path(path)
    temporary = path.with_name(f".{path.stem}.tmp-{secrets.token_hex(4)}{path.suffix}")
    try:
        writer(temporary)
        if durable:
            with open(temporary, "rb+") as f:
                os.fsync(f.fileno())
        os.replace(temporary, path)
    except BaseException as e:
        temporary.unlink(missing_ok=True)  # a full disk or an error leaves no half-written file behind
        if isinstance(e, OSError) and e.filename is not None and Path(e.filename).name == temporary.name:
            e.filename = str(path)  # the file the user knows
        raise
    if durable:
        folder = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(folder)
        finally:
            os.close(folder)


def stale(folder):
    """What a kill left half-written under `folder`: files of ours (".*.tmp*") and TensorFlow's unfinished
    checkpoint folders ("ckpt-N_temp")."""
    folder = Path(folder)
    return sorted([*folder.rglob(".*.tmp*"), *folder.rglob("ckpt-*_temp")])
