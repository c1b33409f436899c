"""nape_plugin.data.datasets: benchmark tables as graphs and labels, and the on-disk graph cache."""
from __future__ import annotations

import ast
import csv
import math
import os
import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pytest

import nape_plugin as nape
from nape_plugin.data import cache as _cache, datasets
from nape_plugin.utils import files
from nape_plugin.errors import DataError, UnknownNameError


def need_space(family: str) -> None:
    if family not in nape.spaces.names():
        pytest.skip(f"the {family} space is not registered")


def table(root: Path, family: str) -> list[dict[str, str]]:
    with open(root / datasets.FAMILIES[family].path, newline="") as f:
        return list(csv.DictReader(f))


@pytest.fixture(autouse=True)
def private_cache(tmp_path_factory, monkeypatch):
    """Tests never touch the user's cache folder."""
    monkeypatch.setenv(files.CACHE_ENV, str(tmp_path_factory.mktemp("default-cache")))


@pytest.fixture
def builds(monkeypatch):
    """Counts the graphs built (rather than read from the cache)."""
    counter = {"graphs": 0}
    real = datasets._build

    def counting(space, encodings):
        counter["graphs"] += len(encodings)
        return real(space, encodings)

    monkeypatch.setattr(datasets, "_build", counting)
    return counter


@pytest.mark.parametrize("family", sorted(datasets.FAMILIES))
def test_load_a_few_rows_of_each_family(shared_data, family, tmp_path):
    need_space(family)
    ds = datasets.load(family, root=shared_data, limit=4, cache=tmp_path)
    fam = datasets.FAMILIES[family]
    rows = table(shared_data, family)[:4]
    assert isinstance(ds, datasets.Dataset) and len(ds) == 4 and ds.metric == fam.metric
    assert ds.rows.tolist() == [0, 1, 2, 3]
    assert ds.labels.dtype == np.float64 and ds.labels.tolist() == [float(r[fam.metric]) for r in rows]
    space = nape.spaces.get(family)
    assert ds.archs == [space.parse(e) for e in ds.encodings]
    assert ds.graphs == [space.to_graph(a) for a in ds.archs]
    for name, values in ds.metadata.items():
        np.testing.assert_array_equal(values, [float(r[name]) if r[name] else math.nan for r in rows], err_msg=name)
    assert not set(fam.columns) & set(ds.metadata)


def test_nb201_metrics_and_missing_labels(shared_data, tmp_path):
    need_space("nb201")
    rows = table(shared_data, "nb201")[:20]
    ds = datasets.load("nb201", metric="in16_val_200ep_naslib", root=shared_data, limit=8, cache=tmp_path)
    labelled = [i for i, r in enumerate(rows) if r["in16_val_200ep_naslib"]][:8]
    assert len(labelled) == 8 and labelled != list(range(8))        # the file has blanks in this column
    assert ds.rows.tolist() == labelled
    assert ds.labels.tolist() == [float(rows[i]["in16_val_200ep_naslib"]) for i in labelled]
    assert ds.encodings == [rows[i]["arch_str"] for i in labelled]
    assert ds.metadata["flops_M_linfit"].tolist() == [float(rows[i]["flops_M_linfit"]) for i in labelled]
    hw = datasets.load("nb201", metric="hw_c10_edgegpu_latency", root=shared_data, indices=[5, 2], cache=tmp_path)
    assert hw.rows.tolist() == [5, 2] and hw.labels.tolist() == [float(rows[i]["hw_c10_edgegpu_latency"])
                                                                  for i in (5, 2)]


def test_nb101_learning_curve_metrics(shared_data, tmp_path):
    need_space("nb101")
    rows = table(shared_data, "nb101")[:3]
    for epochs in (4, 12, 36, 108):
        metric = f"{epochs}_final_validation_accuracy"
        ds = datasets.load("nb101", metric=metric, root=shared_data, limit=3, cache=tmp_path)
        assert ds.labels.tolist() == [float(r[metric]) for r in rows]
    assert ds.metadata["trainable_parameters"].tolist() == [float(r["trainable_parameters"]) for r in rows]


def test_tnb101_task_metrics_give_that_task_network(shared_data, tmp_path, builds):
    """A task metric reads the 7-task table and builds the task's network; each family, task and table has its own
    cache file; the default metric keeps reading the class_scene table."""
    need_space("tnb101_micro")
    with open(shared_data / datasets.TASK_TABLES["tnb101_micro"].path, newline="") as f:
        rows = list(csv.DictReader(f))[:3]
    micro = nape.spaces.get("tnb101_micro")
    loaded = {}
    for metric in ("segmentsemantic", "class_scene", None):
        ds = loaded[metric] = datasets.load("tnb101_micro", metric=metric, root=shared_data, limit=3, cache=tmp_path)
        task = metric or "class_scene"
        assert ds.space.task == task and ds.graphs == [micro.for_task(task).to_graph(a) for a in ds.archs]
        if metric:
            assert ds.labels.tolist() == [float(r[metric]) for r in rows]
            assert ds.encodings == [ast.literal_eval(r["naslib_arch"]) for r in rows]
    assert loaded[None].metric == "val_accs" and "fisher" in loaded[None].metadata       # the class_scene table
    assert loaded["class_scene"].graphs[0] != loaded["segmentsemantic"].graphs[0]
    assert len(cache_files(tmp_path)) == 3 and builds["graphs"] == 9
    for metric, ds in loaded.items():
        again = datasets.load("tnb101_micro", metric=metric, root=shared_data, limit=3, cache=tmp_path)
        assert again.graphs == ds.graphs and again.space.task == ds.space.task
    assert builds["graphs"] == 9


def test_new_families_labels_and_counts(shared_data, tmp_path):
    for family in ("tnb101_macro", "ofa_mbv3", "nb_macro"):
        need_space(family)
    macro = datasets.load("tnb101_macro", root=shared_data, cache=False)
    jigsaw = datasets.load("tnb101_macro", metric="jigsaw", root=shared_data, indices=[19, 20], cache=False)
    assert len(macro) == 662 and macro.metric == "class_scene"              # 63 rows have no class_* labels
    assert jigsaw.rows.tolist() == [19, 20] and jigsaw.space.input_shape == (9, 3, 64, 64)
    assert np.isnan(jigsaw.metadata["class_scene"][1]) and jigsaw.metadata["params"].tolist() == [2.638303, 5.836552]
    ofa = datasets.load("ofa_mbv3", root=shared_data, indices=[0, 4689], cache=tmp_path)
    rows = table(shared_data, "ofa_mbv3")
    assert ofa.labels.tolist() == [float(rows[i]["top1"]) for i in (0, 4689)]
    assert [g.nodes[0].out_shape for g in ofa.graphs] == [(3, 128, 128), (3, 160, 160)]     # each row's image_size
    nbm = datasets.load("nb_macro", root=shared_data, limit=3, cache=tmp_path)
    assert nbm.archs == ["00000000", "00000001", "00000002"] and "arch" not in nbm.metadata
    assert nbm.metadata["params"].tolist() == [g.params for g in nbm.graphs]


def test_subset_keeps_every_field_aligned(shared_data, tmp_path):
    need_space("nb201")
    ds = datasets.load("nb201", root=shared_data, indices=[10, 3, 7, 0], cache=tmp_path)
    sub = ds.subset([2, 0])
    assert sub.rows.tolist() == [7, 10] and sub.graphs == [ds.graphs[2], ds.graphs[0]]
    assert sub.labels.tolist() == [ds.labels[2], ds.labels[0]] and sub.archs == [ds.archs[2], ds.archs[0]]
    assert sub.metadata.keys() == ds.metadata.keys()
    for k, v in sub.metadata.items():
        np.testing.assert_array_equal(v, ds.metadata[k][[2, 0]])
    masked = ds.subset(np.array([True, False, False, True]))
    assert masked.rows.tolist() == [10, 0] and masked.encodings == [ds.encodings[0], ds.encodings[3]]
    with pytest.raises(DataError, match="boolean mask must have length 4"):
        ds.subset([True, False])
    with pytest.raises(DataError, match=r"ints in \[0, 4\)"):
        ds.subset([4])
    assert repr(sub) == "Dataset('nb201', metric='c10_test_200ep', n=2)"


def test_errors_name_the_problem(shared_data, tmp_path):
    with pytest.raises(UnknownNameError, match="no dataset family 'nb999'; known: nb101, nb201, nb301, nb_macro, "
                                               "ofa_mbv3, tnb101_macro, tnb101_micro"):
        datasets.load("nb999", root=shared_data)
    with pytest.raises(DataError, match=r"nb201 table not found at .*nb201/nb201.csv; pass root= .* or set NAPE_DATA"):
        datasets.load("nb201", root=tmp_path)
    need_space("nb201")
    with pytest.raises(UnknownNameError, match="nb201 has no numeric column 'accuracy'; columns: nb201_index, "
                                               "c10_test_200ep"):
        datasets.load("nb201", metric="accuracy", root=shared_data)
    with pytest.raises(UnknownNameError, match="no numeric column 'arch_str'"):
        datasets.load("nb201", metric="arch_str", root=shared_data)
    with pytest.raises(DataError, match="not both"):
        datasets.load("nb201", root=shared_data, limit=2, indices=[1])
    with pytest.raises(DataError, match=r"table rows in \[0, 15625\)"):
        datasets.load("nb201", root=shared_data, indices=[15625])


def test_a_damaged_table_is_a_data_error(tmp_path):
    need_space("nb201")
    (tmp_path / "nb201").mkdir()
    (tmp_path / "nb201" / "nb201.csv").write_text("nb201_index,arch_str,c10_test_200ep\n0,|skip_connect~0|,1.0,9\n")
    with pytest.raises(DataError, match="row 0 has 4 fields, the header 3; the file is damaged"):
        datasets.load("nb201", root=tmp_path, cache=False)
    (tmp_path / "nb201" / "nb201.csv").write_text("index,accuracy\n0,1.0\n")
    with pytest.raises(DataError, match="lacks the columns arch_str; it is not the nb201 table"):
        datasets.load("nb201", root=tmp_path, cache=False)


def test_root_defaults_to_env_then_shared_data_beside_the_working_folder(monkeypatch, tmp_path):
    monkeypatch.setenv(datasets.DATA_ENV, str(tmp_path))
    assert datasets.default_root() == tmp_path
    with pytest.raises(DataError, match=str(tmp_path)):
        datasets.load("nb201")
    monkeypatch.delenv(datasets.DATA_ENV)
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "repo").mkdir()
    monkeypatch.chdir(tmp_path / "repo")
    assert datasets.default_root() == tmp_path / "shared" / "data"


def test_an_installed_package_has_no_default_data_folder(monkeypatch, tmp_path):
    monkeypatch.delenv(datasets.DATA_ENV, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(datasets, "__file__", str(tmp_path / "site-packages" / "nape_plugin" / "data" / "datasets.py"))
    with pytest.raises(DataError, match="set NAPE_DATA"):
        datasets.default_root()


# ------------------------------------------------------------------------------------------------------ cache
def cache_files(folder: Path) -> list[Path]:
    return sorted(folder.glob("*.graphs"))


@pytest.fixture
def small_root(shared_data, tmp_path) -> Path:
    """A data root whose nb201 table is the first 10 rows of the real one (quick to read and fingerprint)."""
    need_space("nb201")
    (tmp_path / "data" / "nb201").mkdir(parents=True)
    with open(shared_data / "nb201" / "nb201.csv") as src:
        head = [next(src) for _ in range(11)]
    (tmp_path / "data" / "nb201" / "nb201.csv").write_text("".join(head))
    return tmp_path / "data"


def test_cache_is_written_then_read(small_root, tmp_path, builds, monkeypatch):
    need_space("nb201")
    first = datasets.load("nb201", root=small_root, limit=3, cache=tmp_path / "cache")
    assert builds["graphs"] == 3 and len(cache_files(tmp_path / "cache")) == 1
    second = datasets.load("nb201", root=small_root, limit=3, cache=tmp_path / "cache")
    assert builds["graphs"] == 3                                     # nothing rebuilt
    assert second.graphs == first.graphs and [g.meta for g in second.graphs] == [g.meta for g in first.graphs]
    assert all(g.nodes == h.nodes and g.edges == h.edges for g, h in zip(second.graphs, first.graphs))
    assert second.labels.tolist() == first.labels.tolist() and second.archs == first.archs
    # the table itself is cached too: a cache hit does not parse the CSV
    monkeypatch.setattr(datasets._Table, "read", lambda *a: pytest.fail("the CSV was parsed"))
    third = datasets.load("nb201", root=small_root, limit=3, cache=tmp_path / "cache")
    assert third.labels.tolist() == first.labels.tolist() and third.encodings == first.encodings


def test_cache_grows_with_new_rows(small_root, tmp_path, builds):
    need_space("nb201")
    datasets.load("nb201", root=small_root, limit=3, cache=tmp_path / "cache")
    ds = datasets.load("nb201", root=small_root, indices=[4, 1, 0], cache=tmp_path / "cache")
    assert builds["graphs"] == 4                                      # only row 4 was new
    datasets.load("nb201", root=small_root, indices=[4, 2], cache=tmp_path / "cache")
    assert builds["graphs"] == 4 and len(cache_files(tmp_path / "cache")) == 1
    twice = datasets.load("nb201", root=small_root, indices=[6, 6, 5], cache=tmp_path / "cache")
    assert builds["graphs"] == 6 and twice.rows.tolist() == [6, 6, 5] and twice.graphs[0] == twice.graphs[1]
    again = datasets.load("nb201", root=small_root, indices=[5, 6], cache=tmp_path / "cache")
    assert builds["graphs"] == 6 and again.graphs == [twice.graphs[2], twice.graphs[0]]
    (path,) = cache_files(tmp_path / "cache")
    assert sorted(_cache.read_arrays(path)["rows"].tolist()) == [0, 1, 2, 4, 5, 6]
    space = nape.spaces.get("nb201")
    assert ds.graphs == [space.to_graph(e) for e in ds.encodings]


def test_no_cache(small_root, tmp_path, builds, monkeypatch):
    need_space("nb201")
    monkeypatch.setenv(files.CACHE_ENV, str(tmp_path))
    datasets.load("nb201", root=small_root, limit=2, cache=False)
    datasets.load("nb201", root=small_root, limit=2, cache=False)
    assert builds["graphs"] == 4 and cache_files(tmp_path / "cache") == []


def test_default_cache_folder_is_the_env_var(small_root, tmp_path, monkeypatch):
    need_space("nb201")
    monkeypatch.setenv(files.CACHE_ENV, str(tmp_path / "c"))
    datasets.load("nb201", root=small_root, limit=1)
    assert len(cache_files(tmp_path / "c")) == 1
    monkeypatch.delenv(files.CACHE_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    assert files.cache_dir() == tmp_path / ".cache" / "nape-plugin"


@pytest.mark.parametrize("damage", ["truncate", "flip", "foreign", "empty"])
def test_damaged_cache_is_detected_and_rebuilt(small_root, tmp_path, builds, damage):
    need_space("nb201")
    first = datasets.load("nb201", root=small_root, limit=3, cache=tmp_path / "cache")
    (path,) = cache_files(tmp_path / "cache")
    data = path.read_bytes()
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "flip":
        path.write_bytes(data[:-100] + bytes([data[-100] ^ 0xFF]) + data[-99:])
    elif damage == "foreign":
        np.savez(path.open("wb"), rows=np.arange(3))
    else:
        path.write_bytes(b"")
    assert _cache.read_arrays(path) is None
    again = datasets.load("nb201", root=small_root, limit=3, cache=tmp_path / "cache")
    assert builds["graphs"] == 6 and again.graphs == first.graphs
    assert _cache.read_arrays(path) is not None                   # rewritten whole


def test_graph_format_version_change_invalidates_the_cache(small_root, tmp_path, builds, monkeypatch):
    need_space("nb201")
    datasets.load("nb201", root=small_root, limit=2, cache=tmp_path / "cache")
    (old,) = cache_files(tmp_path / "cache")
    monkeypatch.setattr(datasets, "GRAPH_FORMAT_VERSION", datasets.GRAPH_FORMAT_VERSION + 1)
    datasets.load("nb201", root=small_root, limit=2, cache=tmp_path / "cache")
    (new,) = cache_files(tmp_path / "cache")
    assert builds["graphs"] == 4 and new != old                   # rebuilt, and the stale file removed


def test_changed_table_or_builder_code_invalidates_the_cache(small_root, tmp_path, builds, monkeypatch):
    csv_path = small_root / "nb201" / "nb201.csv"
    lines = csv_path.read_text().splitlines(keepends=True)
    csv_path.write_text("".join(lines[:4]))
    datasets.load("nb201", root=small_root, cache=tmp_path / "cache")
    datasets.load("nb201", root=small_root, cache=tmp_path / "cache")
    assert builds["graphs"] == 3
    csv_path.write_text("".join(lines[:5]))
    assert len(datasets.load("nb201", root=small_root, cache=tmp_path / "cache")) == 4
    assert builds["graphs"] == 7
    monkeypatch.setattr(datasets, "_code_fingerprint", lambda space: "other code")
    datasets.load("nb201", root=small_root, cache=tmp_path / "cache")
    assert builds["graphs"] == 11 and len(cache_files(tmp_path / "cache")) == 1


def test_a_crash_mid_write_leaves_the_old_cache_intact(small_root, tmp_path, monkeypatch):
    need_space("nb201")
    datasets.load("nb201", root=small_root, limit=2, cache=tmp_path / "cache")
    (path,) = cache_files(tmp_path / "cache")
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError("simulated crash before the rename")

    monkeypatch.setattr(files.os, "replace", crash)
    with pytest.warns(UserWarning, match="could not write the graph cache .*simulated crash"):
        ds = datasets.load("nb201", root=small_root, limit=3, cache=tmp_path / "cache")
    assert len(ds) == 3
    assert path.read_bytes() == before and cache_files(tmp_path / "cache") == [path]
    assert not [n for n in os.listdir(tmp_path / "cache") if n.endswith(".tmp")]                  # no temp file left


def test_atomic_write_never_leaves_a_torn_file(tmp_path, monkeypatch):
    target = tmp_path / "f.graphs"
    _cache.write_arrays(target, {"a": np.arange(5)})
    written = []
    real_fdopen = files.os.fdopen

    class Interrupted(Exception):
        pass

    def fdopen(fd, mode):
        f = real_fdopen(fd, mode)
        real_write = f.write

        def write(data):                          # dies after writing half the bytes
            written.append(real_write(data[: len(data) // 2]))
            raise Interrupted
        f.write = write
        return f

    monkeypatch.setattr(files.os, "fdopen", fdopen)
    with pytest.raises(Interrupted):
        _cache.write_arrays(target, {"a": np.arange(1000)})
    assert written and _cache.read_arrays(target)["a"].tolist() == list(range(5))
    assert sorted(os.listdir(tmp_path)) == ["f.graphs"]


def test_loading_another_table_keeps_the_other_tables_cache(small_root, tmp_path, builds):
    other = tmp_path / "other"
    (other / "nb201").mkdir(parents=True)
    lines = (small_root / "nb201" / "nb201.csv").read_text().splitlines(keepends=True)
    (other / "nb201" / "nb201.csv").write_text("".join(lines[:1] + lines[5:]))      # another table, same family
    for _ in range(2):
        for root in (small_root, other):
            datasets.load("nb201", root=root, limit=3, cache=tmp_path / "cache")
    assert builds["graphs"] == 6 and len(cache_files(tmp_path / "cache")) == 2      # built once each, both kept


def test_the_cache_deletes_only_the_files_it_wrote(small_root, tmp_path, builds, monkeypatch):
    folder = tmp_path / "cache"
    folder.mkdir()
    mine = [folder / f"nb201-{'0' * 20}.graphs", folder / "nb201-mine.graphs", folder / "notes.txt"]
    for path in mine:
        path.write_text("a user's file")
    datasets.load("nb201", root=small_root, limit=2, cache=folder)
    monkeypatch.setattr(datasets, "_code_fingerprint", lambda space: "other code")     # supersedes the cache file
    datasets.load("nb201", root=small_root, limit=2, cache=folder)
    assert builds["graphs"] == 4 and all(p.read_text() == "a user's file" for p in mine)
    ours = [p for p in cache_files(folder) if p not in mine]
    assert len(ours) == 1 and _cache.Manifest(folder).entries() == {ours[0].name: ours[0].name.split("-")[0] + " "
                                                                    + str((small_root / "nb201" / "nb201.csv")
                                                                          .resolve())}


def test_temporaries_of_killed_cache_writes_are_removed(small_root, tmp_path):
    folder = tmp_path / "cache"
    datasets.load("nb201", root=small_root, limit=2, cache=folder)
    (path,) = cache_files(folder)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = [folder / f".{path.name}.{dead.stdout.strip()}.abc.tmp",                   # of a killed write
             folder / f".nb201-{'1' * 20}.graphs.{dead.stdout.strip()}.def.tmp"]       # of an older cache key
    live = folder / f".{path.name}.{os.getpid()}.ghi.tmp"                               # of a running writer
    user = folder / ".notes.123.tmp"
    for p in (*stale, live, user):
        p.write_bytes(b"x" * 1000)
    datasets.load("nb201", root=small_root, limit=4, cache=folder)
    assert not any(p.exists() for p in stale) and live.exists() and user.exists()


def test_an_unwritable_cache_folder_only_warns(small_root, tmp_path):
    need_space("nb201")
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    with pytest.warns(UserWarning, match="could not write the graph cache"):
        ds = datasets.load("nb201", root=small_root, limit=2, cache=blocker / "cache")
    assert len(ds) == 2


def test_pack_round_trip_keeps_names_and_extends():
    b = nape.GraphBuilder((3, 8, 8))
    g1 = b.build(b.relu(b.conv(b.input, 4, 3, name="first")))
    b = nape.GraphBuilder((3, 8, 8))
    g2 = b.build(b.relu(b.conv(b.input, 4, 3, name="other")))        # equal to g1 but for a node name
    g2 = g2.with_meta(tag=[1, 2])
    arrays = _cache.pack_graphs([g1])
    both = _cache.pack_graphs([g2], base=arrays)
    out = _cache.unpack_graphs(both)
    assert [g.nodes[1].name for g in out] == ["first", "other"] and out[1].meta == g2.meta
    assert out == [g1, g2] and all(g.edges == h.edges for g, h in zip(out, [g1, g2]))
    assert _cache.unpack_graphs(both, [1]) == [g2]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert out[0].validate() is out[0]
