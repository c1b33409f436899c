"""Labelled NAS-benchmark tables as computation graphs: ``nape_plugin.data.datasets.load("nb201")``.

The tables are not part of the package: ``root`` (or ``$NAPE_DATA``) names the folder holding ``nb201/nb201.csv`` and
the others; run from a repository checkout, it defaults to ``../shared/data`` (:func:`default_root`). Each family's
graphs come from its search space (``nape.spaces.get(family).to_graph``; when the metric names one of the space's
tasks, the network of that task, ``space.for_task(metric)``) and are cached on disk
(:func:`nape_plugin.utils.files.cache_dir`) under a key made of the family (and task),
:data:`~nape_plugin.graph.GRAPH_FORMAT_VERSION`, a digest of the table file and a
digest of the code that builds the graphs; any change to one of them rebuilds the cache, and the new file replaces
the old one of the same family and table file (the caches of other table files are kept). The cache deletes only files
its manifest says it wrote (:class:`~nape_plugin.data.cache.Manifest`), and the temporaries of killed writes. Loading
a subset (``limit=``/``indices=``) reads the graphs it can from the cache, builds the rest and adds them to it.
Building and loading many graphs shows a progress bar (:mod:`nape_plugin.utils.progress`).
"""
from __future__ import annotations

import ast
import csv
import glob
import inspect
import json
import os
import sys
import warnings
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np

from ..errors import DataError, UnknownNameError
from ..graph.core import GRAPH_FORMAT_VERSION, CompGraph
from ..spaces import SearchSpace
from ..utils.files import CACHE_ENV, cache_dir, remove_stale_temporaries
from ..utils.progress import track
from . import cache as _cache

DATA_ENV = "NAPE_DATA"


@dataclass(frozen=True)
class Family:
    """Where a family's table lives and how to read it; ``name`` is also the name of its search space."""

    name: str
    path: str                                  # relative to the data root
    metric: str                                # default label column
    columns: tuple[str, ...]                   # the columns holding the architecture encoding
    decode: Callable[..., Any]                 # those columns' text -> an encoding the space parses


FAMILIES: dict[str, Family] = {f.name: f for f in (
    Family("nb101", "nb101/nb101_subset.csv", "108_final_validation_accuracy", ("adjacency", "ops"),
           lambda adjacency, ops: (json.loads(adjacency), json.loads(ops))),
    Family("nb201", "nb201/nb201.csv", "c10_test_200ep", ("arch_str",), str),
    Family("nb301", "nb301/nb301_500.csv", "val_accuracy", ("naslib_arch",), ast.literal_eval),
    Family("tnb101_micro", "tnb101/tnb101_micro_class_scene.csv", "val_accs", ("net",), ast.literal_eval),
    Family("tnb101_macro", "tnb101/tnb101_macro_partial.csv", "class_scene", ("naslib_arch",), ast.literal_eval),
    Family("ofa_mbv3", "ofa/ofa_mbv3_imagenet.csv", "top1", ("ks", "e", "d", "image_size"),
           lambda ks, e, d, image_size: {"ks": json.loads(ks), "e": json.loads(e), "d": json.loads(d),
                                         "image_size": int(image_size)}),
    Family("nb_macro", "nb_macro/nas_bench_macro_cifar10.csv", "mean_acc", ("arch",), str),
)}

#: Tables read instead of the family's own when the metric names a task of its space (a column per task).
TASK_TABLES: dict[str, Family] = {f.name: f for f in (
    Family("tnb101_micro", "tnb101/tnb101_micro_7tasks.csv", "class_scene", ("naslib_arch",), ast.literal_eval),
)}


def families() -> list[str]:
    """Names of the families :func:`load` knows."""
    return sorted(FAMILIES)


@dataclass(eq=False)
class Dataset:
    """Graphs and labels of one benchmark table; every field is aligned with ``graphs``."""

    family: str
    metric: str
    graphs: list[CompGraph]
    labels: np.ndarray                         # the ``metric`` column, float64
    metadata: dict[str, np.ndarray]            # every numeric column of the table (FLOPs, params, other metrics)
    rows: np.ndarray                           # row numbers in the table (0 = first data row)
    encodings: list[Any]                       # the table's encodings, as the space parses them
    space: SearchSpace = field(repr=False)

    def __len__(self) -> int:
        return len(self.graphs)

    def __repr__(self) -> str:
        return f"Dataset({self.family!r}, metric={self.metric!r}, n={len(self)})"

    @cached_property
    def archs(self) -> list[Any]:
        """Canonical encodings (``space.parse``) of the architectures."""
        return [self.space.parse(e) for e in self.encodings]

    def subset(self, indices: Sequence[int] | np.ndarray) -> Dataset:
        """The entries at positions ``indices`` (ints or a boolean mask), in that order."""
        idx = np.asarray(indices)
        if idx.dtype == bool:
            if idx.shape != (len(self),):
                raise DataError(f"a boolean mask must have length {len(self)}, got shape {idx.shape}")
            idx = np.flatnonzero(idx)
        if idx.size and (idx.dtype.kind not in "iu" or idx.min() < -len(self) or idx.max() >= len(self)):
            raise DataError(f"subset indices must be ints in [0, {len(self)}); got {indices!r:.80}")
        idx = idx.astype(np.int64)
        sub = Dataset(self.family, self.metric, [self.graphs[i] for i in idx], self.labels[idx],
                      {k: v[idx] for k, v in self.metadata.items()}, self.rows[idx],
                      [self.encodings[i] for i in idx], self.space)
        if "archs" in self.__dict__:
            sub.__dict__["archs"] = [self.archs[i] for i in idx]
        return sub


def default_root() -> Path:
    """Where the benchmark tables are: ``$NAPE_DATA``, else ``../shared/data`` beside the current folder or beside the
    repository checkout this package runs from, when one of them exists. An installed package has no default: without
    either, a DataError says to set ``NAPE_DATA``."""
    env = os.environ.get(DATA_ENV)
    if env:
        return Path(env).expanduser()
    checkout = Path(__file__).resolve().parents[2]
    bases = [Path.cwd()] + ([checkout] if (checkout / "pyproject.toml").is_file() else [])
    for base in bases:
        folder = base.parent / "shared" / "data"
        if folder.is_dir():
            return folder
    raise DataError(f"no benchmark data folder: set {DATA_ENV} to the folder holding the tables (nb201/nb201.csv and "
                    "the others), pass root=, or run from a checkout with ../shared/data beside it")


def load(family: str, metric: str | None = None, root: str | os.PathLike | None = None, *,
         limit: int | None = None, indices: Sequence[int] | None = None,
         cache: bool | str | os.PathLike = True) -> Dataset:
    """Graphs, labels and metadata of a benchmark table.

    ``family`` is one of :func:`families`; ``metric`` any numeric column of its table (default: the family's
    accuracy column). A metric naming a task of the family's space (TransNAS-Bench-101's) gives the graphs of that
    task's network, read from :data:`TASK_TABLES` where the family has one. Rows whose label is missing are left out.
    ``limit`` keeps the first ``limit`` labelled rows, ``indices`` the given table rows (in that order). ``cache`` is
    True (the default folder), False (no cache) or a folder.
    """
    fam = FAMILIES.get(family)
    if fam is None:
        raise UnknownNameError(f"no dataset family {family!r}; known: {', '.join(families())}")
    space = _space(fam.name)
    metric = fam.metric if metric is None else metric
    if metric in space.tasks:
        fam, space = TASK_TABLES.get(family, fam), space.for_task(metric)
    path = (Path(root).expanduser() if root is not None else default_root()) / fam.path
    if not path.is_file():
        raise DataError(f"{family} table not found at {path}; pass root= the folder holding {fam.path} (the "
                        f"repository's ../shared/data) or set {DATA_ENV}")
    store = None if cache is False else _Store(fam, space, path, None if cache is True else Path(cache))
    table = (store.table if store is not None else None) or _Table.read(path, fam)
    if metric not in table.columns:
        raise UnknownNameError(f"{family} has no numeric column {metric!r}; columns: {', '.join(table.columns)}")
    selected = _select(table.columns[metric], limit, indices, family)
    encodings = table.decode(fam, selected, path)
    if store is None:
        graphs, archs = _build(space, encodings)
    else:
        graphs, archs = store.graphs(table, selected, encodings)
    ds = Dataset(family, metric, graphs, table.columns[metric][selected],
                 {k: v[selected] for k, v in table.columns.items()}, selected, encodings, space)
    if archs is not None:
        ds.__dict__["archs"] = archs
    return ds


# ------------------------------------------------------------------------------------------------ the table
@dataclass
class _Table:
    """A benchmark table: its numeric columns and, per row, the text of its encoding columns."""

    columns: dict[str, np.ndarray]
    encodings: list[list[str]]

    @classmethod
    def read(cls, path: Path, fam: Family) -> _Table:
        with open(path, newline="") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            rows = list(reader)
        if not header or any(c not in header for c in fam.columns):
            raise DataError(f"{path} lacks the columns {', '.join(fam.columns)}; it is not the {fam.name} table")
        bad = next((i for i, r in enumerate(rows) if len(r) != len(header)), None)
        if bad is not None:
            raise DataError(f"{path} row {bad} has {len(rows[bad])} fields, the header {len(header)}; the file is "
                            "damaged")
        cols = [header.index(c) for c in fam.columns]
        return cls(_numeric_columns(header, rows, fam.columns), [[r[c] for c in cols] for r in rows])

    def decode(self, fam: Family, selected: np.ndarray, path: Path) -> list[Any]:
        try:
            return [fam.decode(*self.encodings[i]) for i in selected]
        except (ValueError, SyntaxError) as e:
            raise DataError(f"{path} has a malformed {'/'.join(fam.columns)} value ({e}); the file is damaged") \
                from None

    def to_arrays(self) -> dict[str, np.ndarray]:
        return {"table_columns": _cache.json_array(list(self.columns)),
                "table": np.stack(list(self.columns.values())) if self.columns else np.zeros((0, 0)),
                "table_encodings": _cache.json_array(self.encodings)}

    @classmethod
    def from_arrays(cls, arrays: dict[str, np.ndarray]) -> _Table:
        names = _cache.from_json_array(arrays["table_columns"])
        return cls(dict(zip(names, arrays["table"])), _cache.from_json_array(arrays["table_encodings"]))


def _numeric_columns(header: list[str], rows: list[list[str]], skip: Sequence[str] = ()) -> dict[str, np.ndarray]:
    """Every named column not in ``skip`` whose values are all numbers (blank = NaN), as float64 arrays."""
    out: dict[str, np.ndarray] = {}
    for name, values in zip(header, zip(*rows)):
        if not name or name in skip:
            continue
        try:
            out[name] = np.fromiter(map(float, values), np.float64, len(values))
        except ValueError:
            try:
                out[name] = np.fromiter((float(v) if v else np.nan for v in values), np.float64, len(values))
            except ValueError:
                continue
    return out


def _select(labels: np.ndarray, limit: int | None, indices: Sequence[int] | None, family: str) -> np.ndarray:
    if limit is not None and indices is not None:
        raise DataError("pass limit= or indices=, not both")
    if indices is not None:
        idx = np.asarray(indices)
        if idx.ndim != 1 or (idx.size and (idx.dtype.kind not in "iu" or idx.min() < 0 or idx.max() >= len(labels))):
            raise DataError(f"indices must be table rows in [0, {len(labels)}) of {family}; got {indices!r:.80}")
        idx = idx.astype(np.int64)
        return idx[np.isfinite(labels[idx])]
    idx = np.flatnonzero(np.isfinite(labels))
    if limit is not None:
        if limit < 0:
            raise DataError(f"limit must be >= 0, got {limit}")
        idx = idx[:limit]
    return idx


def _space(name: str) -> SearchSpace:
    from .. import spaces
    return spaces.get(name)


# ----------------------------------------------------------------------------------------------- the graphs
def _build(space: SearchSpace, encodings: Sequence[Any]) -> tuple[list[CompGraph], list[Any]]:
    archs = [space.parse(e) for e in encodings]
    return [space.to_graph(a) for a in track(archs, f"build {space.name} graphs")], archs


def _code_fingerprint(space: SearchSpace) -> str:
    """Digest of the code that builds the space's graphs: the files beside its module, and the graph core."""
    from ..graph import builder, ops
    from ..graph import core as graph
    files: set[Path] = set()
    module = sys.modules.get(type(space).__module__)
    source = inspect.getsourcefile(module) if module is not None else None
    if source:
        files.update(Path(source).parent.glob("*.py"))
    files.update(Path(inspect.getsourcefile(m)) for m in (builder, graph, ops))
    return _cache.fingerprint(type(space).__qualname__, *(f.read_bytes() for f in sorted(files)))


class _Store:
    """One family's cache file: the parsed table and the graphs of the rows built so far."""

    def __init__(self, fam: Family, space: SearchSpace, table: Path, directory: Path | None):
        self.fam, self.space = fam, space
        task = () if space.task is None else (space.task, Path(fam.path).stem)
        self.key = _cache.fingerprint(fam.name, *task, str(GRAPH_FORMAT_VERSION), _cache.file_fingerprint(table),
                                      _code_fingerprint(space))
        self.stem = ".".join((fam.name, *task))              # one cache file per family, task and table
        self.owner = f"{self.stem} {table.resolve()}"          # a newer file of the same owner supersedes it
        self.path = (directory or cache_dir()) / f"{self.stem}-{self.key[:20]}.graphs"
        stored = _cache.read_arrays(self.path)
        if stored is not None and bytes(stored.get("key", b"")) != self.key.encode():
            stored = None
        self.stored = stored
        self.table = _Table.from_arrays(stored) if stored is not None else None

    def graphs(self, table: _Table, selected: np.ndarray, encodings: list[Any]) -> tuple[list[CompGraph],
                                                                                     list[Any] | None]:
        """Graphs of the ``selected`` rows, built where the cache lacks them (then saved); the archs if all were
        parsed here."""
        position = {r: k for k, r in enumerate(self.stored["rows"].tolist())} if self.stored is not None else {}
        rows = selected.tolist()
        encoding = dict(zip(rows, encodings))
        todo = list(dict.fromkeys(r for r in rows if r not in position))          # each missing row once
        built, built_archs = _build(self.space, [encoding[r] for r in todo])
        found = list(dict.fromkeys(r for r in rows if r in position))
        by_row = dict(zip(todo, built))
        by_row.update(zip(found, _cache.unpack_graphs(self.stored, [position[r] for r in found]) if found else []))
        if todo or self.stored is None:
            self._save(table, np.asarray(todo, dtype=np.int64), built)
        archs = dict(zip(todo, built_archs))
        return [by_row[r] for r in rows], None if found else [archs[r] for r in rows]

    def _save(self, table: _Table, rows: np.ndarray, graphs: list[CompGraph]) -> None:
        arrays = _cache.pack_graphs(graphs, base=self.stored)
        arrays.update(table.to_arrays())
        old_rows = self.stored["rows"] if self.stored is not None else np.zeros(0, np.int64)
        arrays["rows"] = np.concatenate([old_rows, rows])
        arrays["key"] = np.frombuffer(self.key.encode(), dtype=np.uint8)
        try:
            _cache.write_arrays(self.path, arrays)
            _cache.Manifest(self.path.parent).record(self.path.name, self.owner)
            remove_stale_temporaries(self.path.parent, f"{glob.escape(self.stem)}-{'[0-9a-f]' * 20}.graphs")
        except OSError as e:
            warnings.warn(f"could not write the graph cache {self.path} ({e}); graphs will be built again next "
                          f"time. Set {CACHE_ENV} to a writable folder", stacklevel=4)
