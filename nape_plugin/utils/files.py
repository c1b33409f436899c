"""Files and folders: the one atomic write, the user cache and data folders, safe file names."""
from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import BinaryIO, Callable

APP = "nape-plugin"
CACHE_ENV = "NAPE_CACHE_DIR"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def atomic_write(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], None]) -> Path:
    """Write ``data`` (bytes, or a function writing to a binary file) to ``path`` so that readers see the old file or
    the whole new one, even after a crash: a temporary file beside it, fsynced, renamed over it, with the permissions
    a plain ``open(path, "wb")`` would give. Returns the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)          # mkstemp creates 0600
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)                    # make the rename itself durable
    return path


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def cache_dir() -> Path:
    """Where nape-plugin caches what it can rebuild (graph tables, saved estimators for worker processes):
    ``$NAPE_CACHE_DIR``, else ``$XDG_CACHE_HOME/nape-plugin``, else ``~/.cache/nape-plugin``."""
    if os.environ.get(CACHE_ENV):
        return Path(os.environ[CACHE_ENV]).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / APP


def data_dir() -> Path:
    """Where nape-plugin keeps what a user made and cannot rebuild cheaply (e.g. pretrained models they train):
    ``$XDG_DATA_HOME/nape-plugin``, else ``~/.local/share/nape-plugin``."""
    return Path(os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share") / APP


def is_safe_name(name: str) -> bool:
    """Whether ``name`` can be used as a file name as it is: letters, digits, ``.``, ``_``, ``-``, no leading dot or
    separator, at most 128 characters."""
    return bool(_SAFE_NAME.fullmatch(name))
