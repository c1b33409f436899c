"""nape_plugin.utils.files: the atomic write, the cache and data folders, safe names."""
import os
import stat

import pytest

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
