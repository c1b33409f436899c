"""nape_plugin.utils.files: the atomic write (and what it refuses), input files, the cache and data folders, safe
names."""
import os
import signal
import stat
import subprocess
import sys

import pytest

from nape_plugin.errors import MissingFileError, PathError
from nape_plugin.utils import files


def test_atomic_write_replaces_the_file_whole_with_the_usual_permissions(tmp_path):
    target = tmp_path / "sub" / "f.bin"
    assert files.atomic_write(target, b"old") == target
    files.atomic_write(target, lambda f: f.write(b"new content"))
    assert target.read_bytes() == b"new content"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(target.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in target.parent.iterdir()) == ["f.bin"]


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path):
    target = tmp_path / "f.bin"
    files.atomic_write(target, b"old")

    def dies(f):
        f.write(b"half")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        files.atomic_write(target, dies)
    assert target.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["f.bin"]


def test_cache_dir_honours_nape_cache_dir_then_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv(files.CACHE_ENV, str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert files.cache_dir() == tmp_path / "mine"
    monkeypatch.delenv(files.CACHE_ENV)
    assert files.cache_dir() == tmp_path / "xdg" / "nape-plugin"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert files.cache_dir() == tmp_path / ".cache" / "nape-plugin"


def test_data_dir_honours_xdg_data_home_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert files.data_dir() == tmp_path / "xdg" / "nape-plugin"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path))
    assert files.data_dir() == tmp_path / ".local" / "share" / "nape-plugin"


@pytest.mark.parametrize("name, safe", [("gennape-nb101", True), ("my_model.v2", True), ("", False), (".hidden", False),
                                        ("../up", False), ("a/b", False), ("x" * 129, False), ("sp ace", False)])
def test_safe_file_names(name, safe):
    assert files.is_safe_name(name) is safe


# ------------------------------------------------------------------------------ what atomic_write refuses or follows
def test_a_folder_or_a_pipe_is_never_replaced(tmp_path):
    folder, pipe = tmp_path / "folder", tmp_path / "pipe"
    folder.mkdir()
    os.mkfifo(pipe)                            # a non-regular file like /dev/full, safe to test with
    for target, kind in ((folder, "a folder"), (pipe, "a pipe")):
        with pytest.raises(PathError, match=f"refusing to replace .*{target.name}: it is {kind}"):
            files.atomic_write(target, b"data")
    assert folder.is_dir() and stat.S_ISFIFO(pipe.stat().st_mode)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["folder", "pipe"]      # no temporary left either


def test_a_read_only_file_is_never_replaced_even_by_root(tmp_path):
    target = tmp_path / "f.pt"
    target.write_bytes(b"keep me")
    target.chmod(0o444)
    with pytest.raises(PathError, match="read-only"):
        files.atomic_write(target, b"new")
    assert target.read_bytes() == b"keep me"


def test_a_symlink_is_followed_and_kept_and_permissions_are_kept(tmp_path):
    real = tmp_path / "real.pt"
    real.write_bytes(b"old")
    real.chmod(0o640)
    link = tmp_path / "link.pt"
    link.symlink_to(real)
    files.atomic_write(link, b"new")
    assert link.is_symlink() and link.resolve() == real and real.read_bytes() == b"new"
    assert stat.S_IMODE(real.stat().st_mode) == 0o640


def test_writable_file_fails_before_any_work(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(PathError, match="cannot write .*out.json"):
        files.writable_file(blocker / "out.json")
    assert files.writable_file(tmp_path / "new" / "out.json") == tmp_path / "new" / "out.json"
    assert (tmp_path / "new").is_dir() and not (tmp_path / "new" / "out.json").exists()


def test_temporaries_of_killed_writes_are_removed_by_the_next_write(tmp_path):
    target = tmp_path / "model.pt"
    code = ("import sys, time; from nape_plugin.utils import files\n"
            "def slow(f):\n    f.write(b'x' * 100000); f.flush(); print('writing', flush=True); time.sleep(60)\n"
            f"files.atomic_write({str(target)!r}, slow)\n")
    for _ in range(2):                         # two writers killed mid-write, as by SIGKILL or the OOM killer
        proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE,
                                env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)})
        assert proc.stdout.readline() == b"writing\n"
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    leftovers = list(tmp_path.glob(".model.pt.*.tmp"))
    assert len(leftovers) == 1 and not target.exists()     # the second writer already removed the first's
    mine = tmp_path / f".model.pt.{os.getpid()}.inflight.tmp"     # a write of a running process: kept
    mine.write_bytes(b"")
    files.atomic_write(target, b"whole")
    assert target.read_bytes() == b"whole" and [p.name for p in tmp_path.glob(".*.tmp")] == [mine.name]


def test_input_file_says_what_is_wrong(tmp_path):
    with pytest.raises(MissingFileError, match="no CSV file .*nope.csv") as err:
        files.input_file(tmp_path / "nope.csv", "CSV file")
    assert isinstance(err.value, FileNotFoundError)
    with pytest.raises(PathError, match="is a folder, not a CSV file"):
        files.input_file(tmp_path, "CSV file")
    with pytest.raises(PathError, match="cannot read"):
        files.input_file("x" * 5000)
    assert not files.is_file("x" * 5000) and not files.is_file("a\0b")
