"""Leave-one-family-out (LOFO): the selection protocol of docs/results.md, "Generalization".

For each labelled family F of ``--families``, pretrain the estimator (the shipped ``default`` recipe, labels capped
per family) on every other family, then score all of F zero-shot and after 10 and 50 labels, beside label-free
baselines. Design choices are made on the LOFO mean and worst case, never on one target.

    F="nb101 nb201 nb301 tnb101_micro"
    python benchmarks/generalization.py train --families $F                     # one model per fold (resumable)
    python benchmarks/generalization.py train --families $F --variant graphconv # a variant of the recipe
    python benchmarks/generalization.py train --families $F --seed 1           # another seed
    python benchmarks/generalization.py score --families $F                     # zero- and few-shot: JSON, markdown
    python benchmarks/generalization.py table --families $F                     # the markdown again
    python benchmarks/generalization.py research --families $F --variants base base@1 graphconv   # mixes, OOD, bags
    python benchmarks/generalization.py proxies --families $F --only nb201 --n 80                 # data-free proxies

Families are named as ``datasets.load`` takes them; ``family:metric`` entries add tasks (label columns) of one family,
e.g. ``tnb101_micro:segmentsemantic``. A family with several tasks is one fold: it trains on its first task when
another family is left out, and when left out it is scored on every task; its row reports each task and the mean over
its tasks, and that mean is what enters the LOFO mean and worst case.

``train`` is resumable: each fold's model, its outputs (scores, embeddings, size member, out-of-distribution
measures) and its record are cached under ``--cache`` (default ``.cache/lofo``, git-ignored), keyed by everything
that shapes the model; ``score``, ``table`` and ``research`` read the cache and never retrain (few-shot fine-tunes a
copy of a fold's model). Variants (``--variant``) change one thing in the recipe; ``research`` compares them.
"""
from __future__ import annotations

import argparse
import csv
import hashlib
import itertools
import json
import re
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Sequence

import numpy as np
import torch
from sklearn.ensemble import RandomForestRegressor
from sklearn.linear_model import Ridge
from sklearn.metrics import roc_auc_score
from sklearn.neighbors import NearestNeighbors

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The package modules this harness reads (the one place to change when modules move).
import nape_plugin as nape
from nape_plugin import metrics
from nape_plugin.data import datasets
from nape_plugin.gennape.estimator import GennapeEstimator
from nape_plugin.cli.evaluate import few_shot
from nape_plugin.graph.features import live_nodes
from nape_plugin.data.generators import family_names
from nape_plugin.gennape.labels import FamilyScaler
from nape_plugin.gennape.recipe import load_config, unlabelled
from nape_plugin.predictors.zero_cost import compute as compute_proxies
from nape_plugin.graph.packed import PackedGraphs

#: The families of the issue, in the order of its table; ``--families`` defaults to those ``datasets`` knows.
ALL_FAMILIES = ("nb101", "nb201", "nb301", "tnb101_micro", "tnb101_macro", "ofa_mbv3", "nb_macro")
RESULTS = ROOT / "benchmarks" / "results"
RECIPE = "default"          # the shipped config whose estimator parameters and unlabelled pool every fold uses
HELD_OUT = 300              # rows of each training family kept out of training: in-distribution graphs for OOD
REFERENCE = 1000            # training graphs per family whose embeddings are the OOD reference
FEW_SHOT_POOL = 5000        # few-shot draws its labels from, and tests on, this many random graphs of a task
SHOTS = (10, 50)
CACHE_VERSION = 2           # of the per-family data files; a new version rebuilds them
#: One change to the recipe per variant: estimator parameters, or ``residual`` (the GNN learns each family's
#: standardised label minus its best linear fit on the size prior, and is mixed with the prior again at scoring).
VARIANTS: dict[str, dict[str, Any]] = {
    "base": {},
    "graphconv": {"conv": "graphconv"},
    "relative": {"relative": True},
    "residual": {"standardise": "zscore", "residual": True},
    "no-op-dropout": {"op_dropout": 0.0},
}
#: Label-free signals per graph: name -> (description). Higher is taken as better for every one, fixed in advance.
SIGNALS = {
    "FLOPs": "FLOPs of the computation graph",
    "params": "parameters of the computation graph",
    "eff. FLOPs": "FLOPs of the effective graph (ops computing only on zeros dropped)",
    "eff. params": "parameters of the effective graph",
    "nodes": "nodes of the effective graph",
    "weighted ops": "convolutions and linear layers of the effective graph",
    "depth": "longest input-output path of the effective graph, counted in weighted ops",
    "mean width": "mean log2 output channels of the weighted ops",
    "max width": "largest output channel count of the weighted ops",
}
_WEIGHTED = frozenset({"conv", "depthwise_conv", "conv_transpose", "linear", "matmul", "attention"})


def zb(v: np.ndarray) -> np.ndarray:
    """``v`` standardised over the batch (GENNAPE's equal-weight ensemble standardises each member so)."""
    v = np.asarray(v, dtype=np.float64)
    return (v - v.mean()) / (v.std() or 1.0)


def standardise_on_sample(v: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """``v`` standardised with the mean and std of ``n`` random entries: what a user can compute from a small
    unlabelled sample of the target space when predictions are made one graph at a time."""
    sample = v[np.random.default_rng(seed).choice(len(v), min(n, len(v)), replace=False)]
    return (v - sample.mean()) / (sample.std() or 1.0)


def srcc(y: np.ndarray, p: np.ndarray) -> float:
    return round(metrics.spearman(y, p), 4)


def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:10]


# ------------------------------------------------------------------------------------------- families and tasks
def parse_families(entries: Sequence[str], minimum: int = 2) -> dict[str, list[str | None]]:
    """``["nb201", "tnb101_micro:a", "tnb101_micro:b"]`` -> ``{"nb201": [None], "tnb101_micro": ["a", "b"]}``
    (``None``: the family's default metric); the first task of a family is the one it trains on."""
    out: dict[str, list[str | None]] = {}
    for entry in entries:
        family, _, metric = entry.partition(":")
        tasks = out.setdefault(family, [])
        if (metric or None) not in tasks:
            tasks.append(metric or None)
    known = set(datasets.families())
    unknown = [f for f in out if f not in known]
    if unknown:
        raise SystemExit(f"datasets.load knows no family {', '.join(unknown)}; known: {', '.join(sorted(known))}")
    if len(out) < minimum:
        raise SystemExit("leave-one-family-out needs at least two families")
    return out


@dataclass
class Family:
    """One family's graphs (the union of its tasks' rows), labels per task and label-free signals."""

    name: str
    rows: np.ndarray                                      # table rows of the graphs (datasets.Dataset.rows)
    packed: PackedGraphs
    tasks: dict[str, tuple[np.ndarray, np.ndarray]]       # metric -> (positions in packed, labels)
    signals: dict[str, np.ndarray]                        # per graph of packed
    onehot: np.ndarray | None                             # one-hot architecture encoding per graph, if defined

    @property
    def train_task(self) -> str:
        return next(iter(self.tasks))


def load_family(name: str, tasks: Sequence[str | None], cache: Path) -> Family:
    """A :class:`Family`, from ``cache`` when it holds these tasks (packing and signals take a minute on NB101)."""
    path = cache / "data" / f"{name}.npz"
    if path.is_file():
        z = np.load(path, allow_pickle=False)
        meta = json.loads(str(z["meta"]))
        if meta.get("version") == CACHE_VERSION and meta["requested"] == [t or "" for t in tasks]:
            packed = PackedGraphs.from_arrays({k[2:]: z[k] for k in z.files if k.startswith("p_")})
            return Family(name, z["rows"], packed, {m: (z[f"idx_{m}"], z[f"y_{m}"]) for m in meta["metrics"]},
                          {s: z[f"s_{s}"] for s in meta["signals"]}, z["onehot"] if "onehot" in z.files else None)
    loaded = [datasets.load(name, metric=t) for t in tasks]
    rows = np.unique(np.concatenate([ds.rows for ds in loaded]))
    position = {int(r): i for i, r in enumerate(rows)}
    graph_of, encoding_of = {}, {}
    for ds in loaded:
        graph_of.update(zip(ds.rows.tolist(), ds.graphs))
        encoding_of.update(zip(ds.rows.tolist(), ds.encodings))
    graphs = [graph_of[int(r)] for r in rows]
    packed = PackedGraphs(graphs)
    task_data = {ds.metric: (np.array([position[int(r)] for r in ds.rows]), ds.labels) for ds in loaded}
    signals = graph_signals(graphs, packed)
    onehot = one_hot(name, [encoding_of[int(r)] for r in rows])
    arrays = {"rows": rows, **{f"p_{k}": v for k, v in packed.to_arrays().items()}}
    arrays.update({f"idx_{m}": i for m, (i, _) in task_data.items()})
    arrays.update({f"y_{m}": y for m, (_, y) in task_data.items()})
    arrays.update({f"s_{s}": v for s, v in signals.items()})
    if onehot is not None:
        arrays["onehot"] = onehot
    meta = {"version": CACHE_VERSION, "requested": [t or "" for t in tasks], "metrics": list(task_data),
            "signals": list(signals)}
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez(path, meta=json.dumps(meta), **arrays)
    return Family(name, rows, packed, task_data, signals, onehot)


def load_families(spec: dict[str, list[str | None]], cache: Path) -> dict[str, Family]:
    out = {}
    for name, tasks in spec.items():
        t = time.perf_counter()
        out[name] = load_family(name, tasks, cache)
        print(f"{name}: {len(out[name].packed)} graphs, tasks {', '.join(out[name].tasks)} "
              f"({time.perf_counter() - t:.0f} s)", flush=True)
    return out


# ------------------------------------------------------------------------------------------- label-free signals
def graph_signals(graphs: Sequence[Any], packed: PackedGraphs) -> dict[str, np.ndarray]:
    """Every signal of :data:`SIGNALS` per graph (the effective-graph ones through ``live_nodes``)."""
    u = packed.to_arrays()["u"].astype(np.float64)
    out = {"FLOPs": np.log10([g.flops + 1.0 for g in graphs]), "params": np.log10([g.params + 1.0 for g in graphs]),
           "eff. FLOPs": u[:, 0], "eff. params": u[:, 1], "nodes": u[:, 2]}
    stats_ = np.array([_shape_stats(g) for g in graphs])
    for i, name in enumerate(("weighted ops", "depth", "mean width", "max width")):
        out[name] = stats_[:, i]
    return out


def _shape_stats(g) -> tuple[float, float, float, float]:
    """(weighted ops, longest path in weighted ops, mean log2 and max log2 output channels of the weighted ops)."""
    live = live_nodes(g)
    weighted = [bool(keep) and n.op in _WEIGHTED for n, keep in zip(g.nodes, live)]
    longest = [0.0] * g.num_nodes
    for i in range(g.num_nodes):
        if live[i]:
            longest[i] = weighted[i] + max((longest[p] for p in g.predecessors[i] if live[p]), default=0.0)
    channels = [np.log2(max(n.out_shape[0] if n.out_shape else 1, 1)) for n, w in zip(g.nodes, weighted) if w]
    return (float(sum(weighted)), float(longest[-1]), float(np.mean(channels)) if channels else 0.0,
            float(max(channels, default=0.0)))


# ----------------------------------------------------------------------------------------- one-hot encodings
def _digits(encoding: Any) -> list[int]:
    text = str(encoding)
    if "-" in text:                            # TransNAS-Bench-101 macro code, e.g. "64-1242-basic"
        text = text.split("-")[1]
    return [int(c) for c in re.sub(r"\D", "", text)]


def _cells(encoding: Any, length: int, values: int) -> np.ndarray:
    """One-hot of a sequence of small ints (position-major), padded with zeros to ``length`` positions."""
    d = _digits(encoding)[:length]
    out = np.zeros((length, values))
    out[np.arange(len(d)), d] = 1.0
    return out.ravel()


def _nb101(encoding: Any) -> np.ndarray:
    adjacency, ops = encoding
    n = len(ops)
    slot = list(range(n - 1)) + [6]            # the output node always takes slot 6 of the 7x7 matrix
    adj = np.zeros((7, 7))
    for i in range(n):
        for j in range(n):
            adj[slot[i], slot[j]] = adjacency[i][j]
    kinds = ("conv3x3-bn-relu", "conv1x1-bn-relu", "maxpool3x3")
    op = np.zeros((5, 3))
    for i, name in enumerate(ops[1:-1]):
        op[i, kinds.index(name)] = 1.0
    return np.concatenate([adj[np.triu_indices(7, 1)], op.ravel()])


def _nb201(encoding: Any) -> np.ndarray:
    names = ("none", "skip_connect", "nor_conv_1x1", "nor_conv_3x3", "avg_pool_3x3")
    ops = re.findall(r"\|([a-z_0-9x]+)~\d", str(encoding))
    return _cells([names.index(o) for o in ops], 6, 5)


def _nb301(encoding: Any) -> np.ndarray:
    parts = []
    for cell in encoding:
        for node, op in cell:
            parts += [np.eye(5)[node], np.eye(7)[op]]
    return np.concatenate(parts)


def _ofa(encoding: Any) -> np.ndarray:
    if not isinstance(encoding, dict) or not {"ks", "e", "d"} <= set(encoding):
        raise TypeError(f"no one-hot encoding for OFA encodings of type {type(encoding).__name__}")
    enc = [np.eye(3)[[(3, 5, 7).index(k) for k in encoding["ks"]]].ravel(),
           np.eye(3)[[(3, 4, 6).index(e) for e in encoding["e"]]].ravel(),
           np.eye(3)[[(2, 3, 4).index(d) for d in encoding["d"]]].ravel()]
    return np.concatenate(enc)


#: One-hot encoders of the families that have one (the encoding columns of the tables).
ONE_HOT: dict[str, Callable[[Any], np.ndarray]] = {
    "nb101": _nb101, "nb201": _nb201, "nb301": _nb301, "tnb101_micro": lambda e: _cells(e, 6, 4),
    "tnb101_macro": lambda e: _cells(e, 6, 5), "nb_macro": lambda e: _cells(e, 8, 3), "ofa_mbv3": _ofa}


def one_hot(family: str, encodings: Sequence[Any]) -> np.ndarray | None:
    encode = ONE_HOT.get(family)
    return None if encode is None else np.stack([encode(e) for e in encodings])


# --------------------------------------------------------------------------------------------- fold training
@dataclass(frozen=True)
class Run:
    """What shapes the fold models: recipe variant, seed, label cap per family, share of the unlabelled pool."""

    variant: str = "base"
    seed: int = 0
    cap: int = 1500
    unlabelled: float = 0.5

    def estimator_params(self) -> dict[str, Any]:
        config = load_config(RECIPE)
        extra = {k: v for k, v in VARIANTS[self.variant].items() if k != "residual"}
        return {**config["estimator"], **extra, "seed": self.seed, "progress": False}

    def fold_dir(self, cache: Path, left_out: str, spec: dict[str, list[str | None]]) -> Path:
        train = {f: t[0] for f, t in spec.items() if f != left_out}
        key = _digest([self.estimator_params(), VARIANTS[self.variant], train, self.cap, self.unlabelled])
        return cache / "folds" / f"{self.variant}-s{self.seed}" / f"{left_out}-{key}"


def unlabelled_pool(left_out: str, run: Run, cache: Path) -> PackedGraphs:
    """The recipe's unlabelled graphs (scaled by ``run.unlabelled``) without the left-out family's space: space
    samples and generated networks, each source cached on its own."""
    spec = load_config(RECIPE)["unlabelled"]
    sources = {f"space-{s}": {"spaces": {s: round(n * run.unlabelled)}} for s, n in spec.get("spaces", {}).items()
               if s != left_out}
    generators = [f for f in family_names() if f != left_out]
    per_generator = round(spec.get("generated", 0) * run.unlabelled / len(family_names()))
    sources.update({f"generated-{f}": {"generated": per_generator, "generated_families": [f]} for f in generators})
    parts = []
    for name, source in sources.items():
        n = sum(source.get("spaces", {}).values()) + source.get("generated", 0)
        path = cache / "unlabelled" / f"{name}-{n}-s{run.seed}.npz"
        if not path.is_file():
            graphs, _ = unlabelled({"seed": run.seed, "unlabelled": source}, progress=False)
            path.parent.mkdir(parents=True, exist_ok=True)
            np.savez(path, **PackedGraphs(graphs).to_arrays())
        parts.append(PackedGraphs.from_arrays(dict(np.load(path))))
    return PackedGraphs.concat(parts)


def split_rows(n: int, seed: int, cap: int) -> tuple[np.ndarray, np.ndarray]:
    """(held-out rows, training rows) of a training family: up to :data:`HELD_OUT` (a tenth at most), then up to
    ``cap``, from one seeded permutation."""
    perm = np.random.default_rng(seed).permutation(n)
    hold = min(HELD_OUT, n // 10)
    return np.sort(perm[:hold]), np.sort(perm[hold:hold + cap])


def residual_labels(y: np.ndarray, groups: np.ndarray, size: np.ndarray) -> tuple[np.ndarray, dict[str, float]]:
    """Each family's rank-normalised labels minus their least-squares fit on the family-standardised size prior;
    and the slope per family."""
    z = FamilyScaler("rank").fit_transform(y, list(groups))
    out, slopes = np.empty_like(z), {}
    for f in np.unique(groups):
        m = groups == f
        s = zb(size[m])
        slopes[str(f)] = float(np.mean(z[m] * s))
        out[m] = z[m] - slopes[str(f)] * s
    return out, slopes


def size_prior(packed: PackedGraphs) -> np.ndarray:
    """The size member's raw form: log FLOPs plus log params of the effective graph, each standardised over
    ``packed``."""
    u = packed.to_arrays()["u"].astype(np.float64)
    return zb(u[:, 0]) + zb(u[:, 1])


def train_fold(families: dict[str, Family], spec: dict[str, list[str | None]], left_out: str, run: Run,
               cache: Path) -> Path:
    """Pretrain on every family but ``left_out``; cache the model, its outputs and a record. Returns the folder."""
    folder = run.fold_dir(cache, left_out, spec)
    if (folder / "record.json").is_file():
        return folder
    start = time.perf_counter()
    names = [f for f in families if f != left_out]
    parts, labels, groups, held, held_fam, held_y, reference = [], [], [], [], [], [], []
    for i, name in enumerate(names):
        fam = families[name]
        idx, y = fam.tasks[fam.train_task]
        hold, rows = split_rows(len(idx), run.seed, run.cap)
        parts.append(fam.packed.subset(idx[rows]))
        labels.append(y[rows])
        groups += [name] * len(rows)
        held.append(fam.packed.subset(idx[hold]))
        held_fam += [i] * len(hold)
        held_y.append(y[hold])
        pick = np.random.default_rng(run.seed).choice(len(rows), min(REFERENCE, len(rows)), replace=False)
        reference.append(parts[-1].subset(np.sort(pick)))
    packed = PackedGraphs.concat(parts)
    y = np.concatenate(labels)
    groups_a = np.array(groups)
    record: dict[str, Any] = {"left_out": left_out, "train": {n: int((groups_a == n).sum()) for n in names},
                              "run": run.__dict__, "estimator": run.estimator_params()}
    if VARIANTS[run.variant].get("residual"):
        sizes = np.concatenate([size_prior(p) for p in parts])
        y, record["residual_slopes"] = residual_labels(y, groups_a, sizes)
    pool = unlabelled_pool(left_out, run, cache)
    record["unlabelled"] = len(pool)
    est = GennapeEstimator(**run.estimator_params())
    t = time.perf_counter()
    est.fit(packed, y, groups=groups, unlabelled=pool, checkpoint_dir=str(folder / "checkpoints"))
    record["train_s"] = round(time.perf_counter() - t, 1)
    est.save(folder / "model.pt")
    seen = {row.tobytes() for row in np.round(packed.table.numpy()[np.unique(packed.node_ids)], 5)}
    target = families[left_out].packed
    t = time.perf_counter()
    out = {f"t_{k}": v for k, v in fold_outputs(est, target, seen).items()}
    record["score_s"] = round(time.perf_counter() - t, 1)
    heldout = PackedGraphs.concat(held)
    out.update({f"h_{k}": v for k, v in fold_outputs(est, heldout, seen).items()})
    out.update(h_family=np.array(held_fam), h_y=np.concatenate(held_y),
               r_emb=est.embed(PackedGraphs.concat(reference)))
    np.savez(folder / "outputs.npz", **out)
    record["total_s"] = round(time.perf_counter() - start, 1)
    (folder / "record.json").write_text(json.dumps(record, indent=1))
    return folder


def fold_outputs(est: GennapeEstimator, packed: PackedGraphs, seen: set[bytes]) -> dict[str, np.ndarray]:
    """Per graph: the package's zero-shot score, the GNN's head mixture alone (standardised units), the spread
    across heads, the embedding, the size member, and the fraction of nodes whose feature row training never had."""
    pred = est.predict(packed)
    weight = est.size_weight
    est.set_params(size_weight=0.0)
    try:
        raw, spread = est.predict(packed, return_std=True)
    finally:
        est.set_params(size_weight=weight)
    lo, hi = est.scaler_.inverse(np.array([0.0, 1.0]))
    mu, sd = est.size_stats_
    unseen = np.array([row.tobytes() not in seen for row in np.round(packed.table.numpy(), 5)], dtype=np.float64)
    per_node = unseen[packed.node_ids]
    novel = np.add.reduceat(per_node, packed.node_ptr[:-1]) / np.diff(packed.node_ptr)
    return {"pred": pred, "gnn": (raw - lo) / (hi - lo), "spread": spread / abs(hi - lo), "emb": est.embed(packed),
            "size": ((packed.to_arrays()["u"][:, :2] - mu) / sd).mean(1), "novel": novel}


@dataclass
class Fold:
    """A trained fold: its record, cached outputs and (loaded on demand) model."""

    folder: Path
    record: dict[str, Any]
    out: dict[str, np.ndarray]

    @classmethod
    def read(cls, folder: Path) -> "Fold":
        if not (folder / "record.json").is_file():
            raise SystemExit(f"no trained fold in {folder}; run `train` with the same options first")
        return cls(folder, json.loads((folder / "record.json").read_text()), dict(np.load(folder / "outputs.npz")))

    def model(self):
        return nape.load(self.folder / "model.pt")


def read_folds(spec: dict[str, list[str | None]], run: Run, cache: Path) -> dict[str, Fold]:
    return {f: Fold.read(run.fold_dir(cache, f, spec)) for f in spec}


# ------------------------------------------------------------------------------- zero-shot members and priors
def learned_prior(families: dict[str, Family], left_out: str, names: Sequence[str] = tuple(SIGNALS)
                  ) -> Callable[[dict[str, np.ndarray]], np.ndarray]:
    """A linear prior over label-free signals, fitted (ridge) on the other families' rank-normalised labels with
    each signal standardised within its family; applied to a batch standardised the same way."""
    xs, ys = [], []
    for name, fam in families.items():
        if name == left_out:
            continue
        idx, y = fam.tasks[fam.train_task]
        xs.append(np.stack([zb(fam.signals[s][idx]) for s in names], 1))
        ys.append(FamilyScaler("rank").fit_transform(y, [name] * len(y)))
    model = Ridge(alpha=1.0).fit(np.concatenate(xs), np.concatenate(ys))
    return lambda signals: model.predict(np.stack([zb(signals[s]) for s in names], 1))


def members(fam: Family, fold: Fold, idx: np.ndarray, prior: Callable | None = None) -> dict[str, np.ndarray]:
    """Zero-shot scores of graphs ``idx`` of the left-out family: the package, the GNN alone, the size member and
    every label-free signal (and the learned prior)."""
    out = {"package": fold.out["t_pred"][idx], "GNN alone": fold.out["t_gnn"][idx],
           "size member": fold.out["t_size"][idx]}
    out.update({s: v[idx] for s, v in fam.signals.items()})
    if prior is not None:
        out["learned prior"] = prior({s: v[idx] for s, v in fam.signals.items()})
    return out


# ------------------------------------------------------------------------------------ out-of-distribution
def _reference_families(fold: Fold) -> np.ndarray:
    """Training family (index) of each reference embedding, in the order ``train_fold`` drew them."""
    return np.repeat(np.arange(len(fold.record["train"])), [min(REFERENCE, n) for n in fold.record["train"].values()])


def ood_measures(fold: Fold, k: int = 10) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Per measure, (held-out graphs of training families, graphs of the left-out family); higher = farther."""
    ref = fold.out["r_emb"]
    mu, sd = ref.mean(0), ref.std(0) + 1e-6
    nn_ = NearestNeighbors(n_neighbors=k).fit((ref - mu) / sd)
    cov = np.cov(ref, rowvar=False) + 1e-3 * np.eye(ref.shape[1])
    prec = np.linalg.inv(cov)

    def knn(e):
        return nn_.kneighbors((e - mu) / sd)[0].mean(1)

    def maha(e):
        d = e - ref.mean(0)
        return np.sqrt(np.einsum("ij,jk,ik->i", d, prec, d))
    h, t = fold.out["h_emb"], fold.out["t_emb"]
    return {"k-NN distance": (knn(h), knn(t)), "Mahalanobis": (maha(h), maha(t)),
            "head spread": (fold.out["h_spread"], fold.out["t_spread"]),
            "unseen node rows": (fold.out["h_novel"], fold.out["t_novel"])}


def cross_family_distances(fold: Fold, k: int = 10) -> np.ndarray:
    """k-NN distance of each held-out training graph to the reference graphs of the *other* training families: how
    far a family the model was trained on lies from the rest, the label-free yardstick of "a new family"."""
    ref, ref_fam = fold.out["r_emb"], _reference_families(fold)
    mu, sd = ref.mean(0), ref.std(0) + 1e-6
    h, h_fam = fold.out["h_emb"], fold.out["h_family"]
    out = np.empty(len(h))
    for i in np.unique(h_fam):
        nn_ = NearestNeighbors(n_neighbors=k).fit((ref[ref_fam != i] - mu) / sd)
        out[h_fam == i] = nn_.kneighbors((h[h_fam == i] - mu) / sd)[0].mean(1)
    return out


def auroc(inside: np.ndarray, outside: np.ndarray) -> float:
    return round(float(roc_auc_score(np.r_[np.zeros(len(inside)), np.ones(len(outside))], np.r_[inside, outside])), 4)


def familiarity(inside: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``1 - q`` per value, ``q`` its quantile among the in-distribution values: 1 = closer than every held-out
    training graph, 0 = farther than all of them. Needs no labels."""
    return 1.0 - np.searchsorted(np.sort(inside), values, side="right") / len(inside)


def gate(familiar: np.ndarray, w_in: float) -> np.ndarray:
    """GNN weight per graph: ``w_in`` while a graph is at least as close as the median held-out training graph,
    falling linearly to 0 at the farthest one."""
    return w_in * np.clip(2.0 * familiar, 0.0, 1.0)


# ----------------------------------------------------------------------------------------------- few-shot
def few_shot_rows(fam: Family, fold: Fold, task: str, shots: Sequence[int], seeds: int, mode: str | None = None
                  ) -> dict[str, Any]:
    """Fine-tune the fold model on ``k`` labels of the task (evaluate.few_shot's splits of a fixed pool of up to
    :data:`FEW_SHOT_POOL` graphs), beside a random forest on one-hot encodings and the label-free signals on the
    same test graphs."""
    idx, y = fam.tasks[task]
    pool = np.sort(np.random.default_rng(0).choice(len(idx), min(FEW_SHOT_POOL, len(idx)), replace=False))
    packed, y = fam.packed.subset(idx[pool]), y[pool]
    est = fold.model()
    out: dict[str, Any] = {"pool": len(pool)}
    for k in shots:
        t = time.perf_counter()
        r = few_shot(est, packed, y, k, range(seeds), mode)
        row = {"package": {"srcc_mean": r["srcc_mean"], "srcc_std": r["srcc_std"], "fit_s_mean": r["fit_s_mean"]}}
        baselines: dict[str, list[float]] = {}
        for seed in range(seeds):                      # the same split as evaluate.few_shot
            perm = np.random.default_rng(seed).permutation(len(y))
            train, test = perm[:k], perm[k:]
            for s, v in fam.signals.items():
                baselines.setdefault(s, []).append(metrics.spearman(y[test], v[idx[pool]][test]))
            if fam.onehot is not None:
                x = fam.onehot[idx[pool]]
                rf = RandomForestRegressor(n_estimators=200, random_state=seed).fit(x[train], y[train])
                baselines.setdefault("RF on one-hot", []).append(metrics.spearman(y[test], rf.predict(x[test])))
        row.update({s: {"srcc_mean": round(float(np.mean(v)), 4), "srcc_std": round(float(np.std(v)), 4)}
                    for s, v in baselines.items()})
        out[str(k)] = row
        print(f"  {fam.name}/{task} {k}-shot: package {r['srcc_mean']:.3f} +- {r['srcc_std']:.3f}"
              + (f", RF one-hot {row['RF on one-hot']['srcc_mean']:.3f}" if "RF on one-hot" in row else "")
              + f" ({time.perf_counter() - t:.0f} s)", flush=True)
    return out


# -------------------------------------------------------------------------------------------------- score
def score(args: argparse.Namespace) -> dict[str, Any]:
    spec = parse_families(args.families)
    run = _run(args)
    families = load_families(spec, args.cache)
    folds = read_folds(spec, run, args.cache)
    result: dict[str, Any] = {"families": list(spec), "run": run.__dict__, "shots": list(args.shots),
                              "seeds": args.seeds, "mode": args.mode, "folds": {}}
    for name, fold in folds.items():
        fam = families[name]
        prior = learned_prior(families, name)
        entry: dict[str, Any] = {"train_s": fold.record["train_s"], "score_s": fold.record["score_s"],
                                 "trained_on": fold.record["train"], "tasks": {}}
        for task, (idx, y) in fam.tasks.items():
            zero = {m: srcc(y, v) for m, v in members(fam, fold, idx, prior).items()}
            entry["tasks"][task] = {"n": len(y), "zero_shot": zero}
            if args.shots:
                entry["tasks"][task]["few_shot"] = few_shot_rows(fam, fold, task, args.shots, args.seeds, args.mode)
        ood = ood_measures(fold)
        entry["ood_auroc"] = {m: auroc(*v) for m, v in ood.items()}
        held = fold.out["h_family"]
        entry["in_domain"] = {f: {"GNN alone": srcc(fold.out["h_y"][held == i], fold.out["h_gnn"][held == i]),
                                  "package": srcc(fold.out["h_y"][held == i], fold.out["h_pred"][held == i])}
                              for i, f in enumerate(fold.record["train"])}
        result["folds"][name] = entry
        print(f"{name}: " + ", ".join(f"{m} {v:.3f}" for m, v in
                                      entry["tasks"][fam.train_task]["zero_shot"].items()), flush=True)
    path = RESULTS / f"lofo-{run.variant}-s{run.seed}{'-' + args.mode if args.mode else ''}.json"
    path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path.relative_to(ROOT)}")
    return result


# -------------------------------------------------------------------------------------------------- table
def family_value(entry: dict[str, Any], get: Callable[[dict], float | None]) -> float | None:
    """The mean over a family's tasks of ``get(task entry)`` (None when a task lacks it)."""
    values = [get(t) for t in entry["tasks"].values()]
    return None if any(v is None for v in values) else float(np.mean(values))


def table(result: dict[str, Any]) -> str:
    """Markdown: per family, zero-shot and few-shot Spearman beside every label-free signal and the random forest;
    LOFO mean and worst case."""
    folds = result["folds"]
    first = next(iter(next(iter(folds.values()))["tasks"].values()))
    signals = [s for s in first["zero_shot"] if s not in ("package", "GNN alone", "learned prior")]
    cols: list[tuple[str, Callable[[dict], float | None]]] = [
        ("zero-shot", lambda t: t["zero_shot"]["package"]), ("GNN alone", lambda t: t["zero_shot"]["GNN alone"])]
    cols += [(s, lambda t, s=s: t["zero_shot"][s]) for s in signals]
    for k in result["shots"]:
        def few(t: dict, member: str, k: int = k) -> float | None:
            return t.get("few_shot", {}).get(str(k), {}).get(member, {}).get("srcc_mean")
        cols += [(f"{k} labels", lambda t, few=few: few(t, "package")),
                 (f"RF one-hot, {k}", lambda t, few=few: few(t, "RF on one-hot"))]
    lines = ["| left out | tasks | " + " | ".join(c for c, _ in cols) + " |", "|---|---:|" + "---:|" * len(cols)]
    values: dict[str, list] = {c: [] for c, _ in cols}
    for name, entry in folds.items():
        cells = []
        for c, get in cols:
            v = family_value(entry, get)
            values[c].append(v)
            cells.append("—" if v is None else f"{v:.3f}")
        lines.append(f"| {name} | {len(entry['tasks'])} | " + " | ".join(cells) + " |")
    for label, fn in (("LOFO mean", np.mean), ("LOFO worst", np.min)):
        cells = ["—" if any(v is None for v in values[c]) else f"{fn(values[c]):.3f}" for c, _ in cols]
        lines.append(f"| **{label}** | | " + " | ".join(cells) + " |")
    best = max(signals, key=lambda s: np.mean(values[s]))
    lines += ["", f"Best single label-free signal on the LOFO mean: {best} ({np.mean(values[best]):.3f}; worst "
              f"{np.min(values[best]):.3f})."]
    for name, entry in folds.items():
        if len(entry["tasks"]) > 1:
            lines.append(f"{name} per task (zero-shot / FLOPs): " + ", ".join(
                f"{t} {e['zero_shot']['package']:.3f} / {e['zero_shot']['FLOPs']:.3f}" for t, e in entry["tasks"].items()))
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------- research
def _family_srcc(fam: Family, score_of: Callable[[np.ndarray, np.ndarray], np.ndarray]) -> float:
    """Mean over the family's tasks of the Spearman of ``score_of(idx, task positions)``."""
    return float(np.mean([metrics.spearman(y, score_of(idx)) for idx, y in fam.tasks.values()]))


def _summary(per_family: dict[str, float]) -> dict[str, Any]:
    v = list(per_family.values())
    return {**{f: round(x, 4) for f, x in per_family.items()}, "mean": round(float(np.mean(v)), 4),
            "worst": round(float(np.min(v)), 4)}


def nested(grid: Sequence[float], per_weight: dict[float, dict[str, float]]) -> dict[str, Any]:
    """Nested selection: for each family, the weight with the best mean over the *other* folds, applied to it."""
    names = list(next(iter(per_weight.values())))
    chosen = {f: max(grid, key=lambda w: np.mean([per_weight[w][g] for g in names if g != f])) for f in names}
    return {**_summary({f: per_weight[chosen[f]][f] for f in names}), "chosen": chosen}


def _mix(gnn: np.ndarray, prior: np.ndarray, prior_weight: float | np.ndarray) -> np.ndarray:
    return (1 - prior_weight) * gnn + prior_weight * prior


def research(args: argparse.Namespace) -> dict[str, Any]:
    """Zero-shot design questions answered from the cached folds of ``--variants`` (no training).

    Weights below are the prior's weight in a mix ``(1 - w) * GNN + w * prior``; "batch-standardised" mixes
    standardise both over the scored family first (GENNAPE's equal-weight ensemble), the "package form" mixes the
    GNN's score and the size member in their pretraining units, as ``GennapeEstimator.predict`` does.
    """
    spec = parse_families(args.families)
    families = load_families(spec, args.cache)
    runs = {v: Run(v.split("@")[0], int(v.split("@")[1]) if "@" in v else args.seed, args.cap, args.unlabelled)
            for v in args.variants}
    folds = {v: read_folds(spec, r, args.cache) for v, r in runs.items()}
    learned = {f: learned_prior(families, f) for f in spec}
    grid = [round(float(w), 2) for w in np.linspace(0, 1, 11)]
    out: dict[str, Any] = {"families": list(spec), "variants": args.variants, "grid": grid}

    def prior(f: str, idx: np.ndarray, kind: str = "size") -> np.ndarray:
        sig = families[f].signals
        if kind == "size":
            return zb(sig["eff. FLOPs"][idx]) + zb(sig["eff. params"][idx])
        if kind == "eff. params":
            return sig["eff. params"][idx]
        return learned[f]({s: v[idx] for s, v in sig.items()})

    def per_family(score: Callable[[str, np.ndarray], np.ndarray]) -> dict[str, float]:
        return {f: _family_srcc(families[f], lambda i: score(f, i)) for f in spec}

    def sweep(score: Callable[[float, str, np.ndarray], np.ndarray]) -> dict[str, Any]:
        table_w = {w: per_family(lambda f, i: score(w, f, i)) for w in grid}
        return {"per_weight": {w: _summary(v) for w, v in table_w.items()}, "nested": nested(grid, table_w)}

    def gnn(v: str, f: str, i: np.ndarray) -> np.ndarray:
        return folds[v][f].out["t_gnn"][i]

    for v, vf in folds.items():
        res: dict[str, Any] = {"GNN alone": _summary(per_family(lambda f, i: gnn(v, f, i))),
                               "package zero-shot": _summary(per_family(lambda f, i: vf[f].out["t_pred"][i]))}
        # (b) the mix
        res["mix, package form"] = sweep(lambda w, f, i: _mix(gnn(v, f, i), vf[f].out["t_size"][i], w))
        for kind in ("size", "eff. params", "learned"):
            res[f"mix with the {kind} prior, batch-standardised"] = sweep(
                lambda w, f, i: _mix(zb(gnn(v, f, i)), zb(prior(f, i, kind)), w))
        res["1:1 with the size prior, standardised on 200 random graphs of the family"] = _summary(per_family(
            lambda f, i: _mix(*(standardise_on_sample(a, 200) for a in (gnn(v, f, i), prior(f, i))), 0.5)))
        res["GENNAPE equal weights: GNN, FLOPs, params"] = _summary(per_family(
            lambda f, i: zb(gnn(v, f, i)) + zb(families[f].signals["FLOPs"][i]) + zb(families[f].signals["params"][i])))
        # (c) out-of-distribution: separation, and gating the GNN's weight by familiarity
        ood = {f: ood_measures(vf[f]) for f in spec}
        res["OOD AUROC (held-out training graphs vs the left-out family)"] = {
            m: {f: auroc(*ood[f][m]) for f in spec} for m in next(iter(ood.values()))}
        near = {f: familiarity(*ood[f]["k-NN distance"]) for f in spec}
        cross = {f: familiarity(cross_family_distances(vf[f]), ood[f]["k-NN distance"][1]) for f in spec}
        res["familiarity of the left-out family, median (k-NN; held-out training graphs: 0.5)"] = {
            f: round(float(np.median(near[f])), 4) for f in spec}
        res["familiarity among other-family distances, median"] = {f: round(float(np.median(cross[f])), 4)
                                                                   for f in spec}
        res["agreement of the GNN with the size prior (Spearman)"] = {
            f: round(float(np.mean([metrics.spearman(gnn(v, f, i), prior(f, i)) for i, _ in
                                    families[f].tasks.values()])), 4) for f in spec}
        for name, fam_of in (("k-NN familiarity", near), ("other-family familiarity", cross)):
            for w_in in (1.0, 0.5):
                res[f"gated by {name}, GNN weight {w_in} in distribution, per graph"] = _summary(per_family(
                    lambda f, i: _mix(zb(gnn(v, f, i)), zb(prior(f, i)), 1 - gate(fam_of[f][i], w_in))))
                res[f"gated by {name}, GNN weight {w_in} in distribution, per batch"] = _summary(per_family(
                    lambda f, i: _mix(zb(gnn(v, f, i)), zb(prior(f, i)),
                                      1 - float(np.median(gate(fam_of[f][i], w_in))))))
        out[v] = res
        print(f"\n## {v}")
        _print_research(res)
    # (d) bags across variants and seeds (GENNAPE's equal-weight ensemble of variants)
    names = list(folds)
    bags = [list(c) for c in itertools.combinations(names, 2)] + ([names] if len(names) > 2 else [])
    out["bags"] = {}
    for members_ in bags:
        def bag(f: str, i: np.ndarray, members_=members_) -> np.ndarray:
            return zb(sum(zb(gnn(m, f, i)) for m in members_))
        key = " + ".join(members_)
        out["bags"][key] = {"GNNs": _summary(per_family(bag)),
                            "1:1 with the size prior": _summary(per_family(lambda f, i: _mix(bag(f, i),
                                                                                           zb(prior(f, i)), 0.5))),
                            "1:1 with eff. params": _summary(per_family(
                                lambda f, i: _mix(bag(f, i), zb(prior(f, i, "eff. params")), 0.5)))}
        print(f"bag {key}: " + "; ".join(f"{k} {s['mean']:.3f}/{s['worst']:.3f}" for k, s in out["bags"][key].items()))
    return out


def _print_research(res: dict[str, Any]) -> None:
    for key, value in res.items():
        if isinstance(value, dict) and "per_weight" in value:
            print(f"{key}: " + "  ".join(f"w{w}: {s['mean']:.3f}/{s['worst']:.3f}" for w, s in
                                         value["per_weight"].items()))
            print(f"  nested: mean {value['nested']['mean']:.3f} worst {value['nested']['worst']:.3f} "
                  f"chosen {value['nested']['chosen']}")
        else:
            print(f"{key}: {value}")


# ------------------------------------------------------------------------------------------------ proxies
def proxies(args: argparse.Namespace) -> dict[str, Any]:
    """Data-free proxies (synflow; NASWOT and jacov on a Gaussian batch) of the reference modules of a fixed random
    sample of each family, timed per architecture, beside the base run's zero-shot scores of the same graphs.

    Values go to ``--cache``/proxies/<family>-b<batch>.csv (resumable; a larger ``--n`` extends the sample); the
    Spearman correlations to benchmarks/results/lofo-proxies.json.
    """
    spec = parse_families(args.families)
    families = load_families(spec, args.cache)
    run = Run("base", args.seed, args.cap, args.unlabelled)
    published = ("synflow", "nwot", "jacov", "zen")
    out: dict[str, Any] = {"batch_size": args.batch_size}
    for name in args.only or spec:
        ds = datasets.load(name, metric=spec[name][0])
        pick = np.random.default_rng(0).permutation(len(ds))[:args.n]
        path = args.cache / "proxies" / f"{name}-b{args.batch_size}.csv"
        done = set()
        if path.is_file():
            with path.open() as fh:
                done = {int(r["row"]) for r in csv.DictReader(fh)}
        path.parent.mkdir(parents=True, exist_ok=True)
        with path.open("a", newline="") as fh:
            w = csv.DictWriter(fh, fieldnames=["row", "synflow", "nwot", "jacov", "synflow_s", "nwot_s"])
            if not done:
                w.writeheader()
            for i in pick:
                if int(ds.rows[i]) in done:
                    continue
                with torch.random.fork_rng(devices=[]):
                    torch.manual_seed(0)
                    model = ds.space.build(ds.archs[i])
                t = time.perf_counter()
                syn = compute_proxies(model, ds.space.input_shape, ["synflow"], args.batch_size)
                t1 = time.perf_counter()
                act = compute_proxies(model, ds.space.input_shape, ["nwot", "jacov"], args.batch_size)
                w.writerow({"row": int(ds.rows[i]), **syn, **act, "synflow_s": round(t1 - t, 3),
                            "nwot_s": round(time.perf_counter() - t1, 3)})
                fh.flush()
        with path.open() as fh:
            rows = list(csv.DictReader(fh))
        fam = families[name]
        pos = np.searchsorted(fam.rows, [int(r["row"]) for r in rows])
        idx, y = fam.tasks[fam.train_task]
        label = dict(zip(idx.tolist(), y))
        keep = np.array([p in label for p in pos])
        pos, rows = pos[keep], [r for r, k in zip(rows, keep) if k]
        y = np.array([label[p] for p in pos])
        scores = {p: np.array([float(r[p]) for r in rows]) for p in ("synflow", "nwot", "jacov")}
        table_rows = np.searchsorted(ds.rows, fam.rows[pos])
        scores.update({f"{p} (published, real-data batch)": ds.metadata[p][table_rows] for p in published
                       if p in ds.metadata})
        scores.update({s: fam.signals[s][pos] for s in ("FLOPs", "params", "eff. params")})
        fold_dir = run.fold_dir(args.cache, name, spec)
        if (fold_dir / "record.json").is_file():
            fold = Fold.read(fold_dir)
            scores.update({"package zero-shot (base)": fold.out["t_pred"][pos],
                           "GNN alone (base)": fold.out["t_gnn"][pos]})
        result = {"n": len(rows), "srcc": {}}
        for k, v in scores.items():
            ok = np.isfinite(v)
            result["srcc"][k] = srcc(y[ok], v[ok])
        result["median_s_per_arch"] = {p: round(float(np.median([float(r[f"{p}_s"]) for r in rows])), 3)
                                       for p in ("synflow", "nwot")}
        out[name] = result
        print(f"{name}: n={len(rows)}, " + ", ".join(f"{k} {v:.3f}" for k, v in result["srcc"].items())
              + f"; median s/arch synflow {result['median_s_per_arch']['synflow']:.2f}, nwot+jacov "
              f"{result['median_s_per_arch']['nwot']:.2f}", flush=True)
    return out


# ---------------------------------------------------------------------------------------------------- CLI
def _run(args: argparse.Namespace) -> Run:
    if args.variant not in VARIANTS:
        raise SystemExit(f"unknown variant {args.variant!r}; known: {', '.join(VARIANTS)}")
    return Run(args.variant, args.seed, args.cap, args.unlabelled)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    default_families = [f for f in ALL_FAMILIES if f in datasets.families()]
    commands = {}
    for name, help_ in (("train", "pretrain one model per left-out family (resumable)"),
                        ("score", "zero-shot and few-shot scores of the cached folds; JSON and markdown"),
                        ("table", "the markdown table of a scored run"),
                        ("research", "mixes, priors, OOD measures and gating from the cached folds"),
                        ("proxies", "data-free proxies on a sample per family, with their cost")):
        p = sub.add_parser(name, help=help_)
        p.add_argument("--families", nargs="+", default=default_families,
                       help="families (or family:metric tasks) of the LOFO run (default: those datasets knows of "
                            f"{', '.join(ALL_FAMILIES)})")
        p.add_argument("--cache", type=Path, default=ROOT / ".cache" / "lofo", help="fold models and outputs")
        p.add_argument("--seed", type=int, default=0)
        p.add_argument("--cap", type=int, default=1500, help="labels per training family")
        p.add_argument("--unlabelled", type=float, default=0.5, help="share of the recipe's unlabelled pool")
        p.add_argument("--threads", type=int, default=1, help="torch CPU threads")
        commands[name] = p
    for name in ("train", "score", "table"):
        commands[name].add_argument("--variant", default="base", help=f"one of {', '.join(VARIANTS)}")
    commands["train"].add_argument("--only", nargs="*", default=None, help="train only these folds")
    commands["score"].add_argument("--shots", type=int, nargs="*", default=list(SHOTS))
    commands["score"].add_argument("--seeds", type=int, default=5)
    for name in ("score", "table"):
        commands[name].add_argument("--mode", default=None, help="fine-tuning mode (default: the estimator's)")
    commands["research"].add_argument("--variants", nargs="+", default=["base"],
                                      help="variants (variant@seed for another seed) to compare")
    commands["research"].add_argument("--out", default="lofo-research.json", help="file under benchmarks/results")
    commands["proxies"].add_argument("--n", type=int, default=100, help="architectures per family")
    commands["proxies"].add_argument("--only", nargs="*", default=None, help="compute only these families")
    commands["proxies"].add_argument("--batch-size", type=int, default=32)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    if args.command == "train":
        spec = parse_families(args.families)
        run = _run(args)
        families = load_families(spec, args.cache)
        for name in args.only or spec:
            t = time.perf_counter()
            folder = train_fold(families, spec, name, run, args.cache)
            record = json.loads((folder / "record.json").read_text())
            print(f"fold {name} ({run.variant}, seed {run.seed}): trained on {record['train']} + "
                  f"{record['unlabelled']} unlabelled in {record['train_s']:.0f} s ({time.perf_counter() - t:.0f} s "
                  f"this call) -> {folder.relative_to(args.cache)}", flush=True)
    elif args.command == "score":
        print(table(score(args)))
    elif args.command == "table":
        path = RESULTS / f"lofo-{args.variant}-s{args.seed}{'-' + args.mode if args.mode else ''}.json"
        print(table(json.loads(path.read_text())))
    elif args.command == "research":
        result = research(args)
        path = RESULTS / args.out
        path.write_text(json.dumps(result, indent=1, default=float) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")
    else:
        result = proxies(args)
        path = RESULTS / "lofo-proxies.json"
        old = json.loads(path.read_text()) if path.is_file() else {}
        path.write_text(json.dumps({**old, **result}, indent=1) + "\n")
        print(f"wrote {path.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
