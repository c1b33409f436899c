"""Files and folders: the one atomic write, checked input files, the user cache and data folders, safe file names."""
from __future__ import annotations

import glob
import os
import re
import stat
import tempfile
import time
from pathlib import Path
from typing import BinaryIO, Callable

from ..errors import MissingFileError, PathError

APP = "nape-plugin"
CACHE_ENV = "NAPE_CACHE_DIR"
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")
#: A temporary file older than this is stale even when the process that made it may still run (another machine).
STALE_AFTER_S = 24 * 3600


def atomic_write(path: str | os.PathLike, data: bytes | Callable[[BinaryIO], None]) -> Path:
    """Write ``data`` (bytes, or a function writing to a binary file) to ``path`` so that readers see the old file or
    the whole new one, even after a crash: a temporary file beside it, fsynced, renamed over it. Returns the path.

    The usual rules of ``open(path, "wb")`` hold: a symlink is followed (its target is replaced, the link stays), a
    replaced file keeps its permissions, a new one gets the umask's. Unlike ``open``, it refuses (:class:`PathError`)
    to replace anything but a regular file (a folder, a device such as ``/dev/full``, a pipe) and a file without
    write permission, even for root. Temporaries that killed writes left beside the file are removed."""
    path = Path(path)
    target = _target(path)
    mode = _replaceable_mode(target, path)
    target.parent.mkdir(parents=True, exist_ok=True)
    remove_stale_temporaries(target.parent, glob.escape(target.name))
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.{os.getpid()}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            if callable(data):
                data(f)
            else:
                f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)                    # mkstemp creates 0600
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    _fsync_dir(target.parent)                  # make the rename itself durable
    return path


def writable_file(path: str | os.PathLike) -> Path:
    """``path``, once it is sure that :func:`atomic_write` can write it, so that long work never ends in a failed
    write: its folder exists (it is created) and is writable, and it is not something atomic_write refuses. Else a
    :class:`PathError` saying why."""
    path = Path(path)
    target = _target(path)
    _replaceable_mode(target, path)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise PathError(f"cannot write {path}: cannot create its folder {target.parent} ({e.strerror or e})") \
            from None
    if not os.access(target.parent, os.W_OK):
        raise PathError(f"cannot write {path}: no permission to write in {target.parent}")
    return path


def _target(path: Path) -> Path:
    """The file a write to ``path`` replaces: a symlink's target, else ``path``."""
    try:
        return Path(os.path.realpath(path)) if path.is_symlink() else path
    except (OSError, ValueError) as e:         # a name too long for the file system, a NUL in it
        raise PathError(f"cannot write {str(path)[:200]}: {getattr(e, 'strerror', None) or e}") from None


def _replaceable_mode(target: Path, given: Path) -> int:
    """The permissions the new file gets: those of the file it replaces, else the umask's; PathError when ``target``
    is not a regular file the user may write."""
    try:
        st = target.stat()
    except FileNotFoundError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask
    except OSError as e:
        raise PathError(f"cannot write {given}: {e.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise PathError(f"refusing to replace {given}: it is {_kind(st.st_mode)}, not a regular file; give the path "
                        "of a file to write")
    if not st.st_mode & stat.S_IWUSR or not os.access(target, os.W_OK):
        raise PathError(f"refusing to replace {given}: the file is read-only; make it writable (chmod u+w) or "
                        "write elsewhere")
    return stat.S_IMODE(st.st_mode)


def _kind(mode: int) -> str:
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    if stat.S_ISFIFO(mode):
        return "a pipe"
    return "a socket" if stat.S_ISSOCK(mode) else "a special file"


def remove_stale_temporaries(folder: Path, name: str) -> list[Path]:
    """Remove the temporaries :func:`atomic_write` left in ``folder`` for files named ``name`` (a glob) when the
    writes were killed: those of processes no longer running, and any older than :data:`STALE_AFTER_S`. Returns the
    removed paths."""
    removed = []
    for tmp in folder.glob(f".{name}.*.tmp"):
        pid = tmp.name[:-len(".tmp")].split(".")[-2]
        try:
            old = time.time() - tmp.stat().st_mtime > STALE_AFTER_S
        except OSError:
            continue
        if old or (pid.isdigit() and not _running(int(pid))):
            tmp.unlink(missing_ok=True)
            removed.append(tmp)
    return removed


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:              # e.g. another user's process
        return True
    return True


def input_file(path: str | os.PathLike, what: str = "file") -> Path:
    """``path`` when it names a file to read (a regular file or a pipe); else :class:`MissingFileError` or
    :class:`PathError` saying what is there instead. ``what`` names the file in messages ("CSV file")."""
    p = Path(path)
    try:
        st = p.stat()
    except FileNotFoundError:
        raise MissingFileError(f"no {what} {p}" + ("" if p.parent.is_dir() else f" (no folder {p.parent})")) \
            from None
    except (OSError, ValueError) as e:        # ValueError: a NUL in the name
        raise PathError(f"cannot read {what} {str(p)[:200]!r}: {getattr(e, 'strerror', None) or e}") from None
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISFIFO(st.st_mode)):
        raise PathError(f"{p} is {_kind(st.st_mode)}, not a {what}")
    return p


def is_file(path: str | os.PathLike) -> bool:
    """Whether ``path`` names a regular file; False too for a name the OS cannot look up (too long, a NUL in it)."""
    try:
        return Path(path).is_file()
    except (OSError, ValueError):
        return False


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
