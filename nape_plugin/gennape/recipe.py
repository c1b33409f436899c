"""Config-driven pretraining: train an estimator from a config file and write its weights and JSON card.

A config (``nape_plugin/gennape/configs/<name>.json``) names the labelled families to train on, the unlabelled graphs
of the contrastive stage, the estimator's parameters and the seed; every field is checked before any work starts. The
same command with the same config and seed reproduces the shipped weights; ``--checkpoint-dir`` makes an interrupted
run resumable. Models are written to the user's folder (:func:`~.pretrained.registry.user_dir`) unless told
otherwise, and never over a shipped model.
"""
from __future__ import annotations

import json
import math
import platform
import random
import subprocess
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import torch

from .. import metrics
from .._version import __version__
from ..data import datasets
from ..errors import DataError, PathError, UnknownNameError
from ..graph.core import CompGraph
from ..utils.files import atomic_write, is_file, is_safe_name, writable_file
from ..utils.progress import progress_bar
from .bagging import BaggedEstimator
from .estimator import GennapeEstimator
from .pretrained.registry import HERE, user_dir

CONFIG_DIR = Path(__file__).resolve().parent / "configs"


def load_config(name_or_path: str) -> dict[str, Any]:
    """A config by shipped name (``gennape-nb101``) or by path to a JSON file, checked (:func:`check_config`)."""
    path = Path(name_or_path)
    if not is_file(path):
        path = CONFIG_DIR / f"{name_or_path}.json"
    if not is_file(path):
        shipped = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.json")))
        raise UnknownNameError(f"no config {name_or_path!r:.200}: give a JSON file or one of: {shipped}")
    try:
        config = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, RecursionError) as e:          # not JSON, not UTF-8, absurdly nested
        raise DataError(f"config {path} is not valid JSON ({type(e).__name__}: {str(e)[:200]})") from None
    return check_config(config, str(path))


def check_config(config: Any, source: str = "config") -> dict[str, Any]:
    """``config`` when every field has the type and range :func:`pretrain` needs, else a DataError naming the field."""
    def need(ok: bool, field: str, what: str) -> None:
        if not ok:
            raise DataError(f"{source}: {field} must be {what}")

    def count(v: Any) -> bool:
        return type(v) is int and v >= 0

    need(isinstance(config, dict), "the config", "a JSON object")
    known = {"name", "description", "seed", "train", "exclude", "zero_shot", "unlabelled", "estimator", "bagging"}
    need(set(config) <= known, f"key(s) {sorted(set(config) - known)!r:.120}", f"among {sorted(known)}")
    need(isinstance(config.get("name"), str) and is_safe_name(config["name"]), "'name'",
         "a plain file name (letters, digits, '.', '_', '-'; no folder)")
    need(count(config.get("seed")), "'seed'", "an int >= 0")
    need(isinstance(config.get("description", ""), str), "'description'", "a string")
    train = config.get("train")
    need(isinstance(train, list) and len(train) > 0, "'train'", "a non-empty list of {\"family\": ...} entries")
    for i, spec in enumerate(train):
        need(isinstance(spec, dict) and spec.get("family") in datasets.families(), f"train[{i}]",
             f"an object whose 'family' is one of {', '.join(datasets.families())}")
        need(set(spec) <= {"family", "metric", "scale", "limit", "group"}, f"train[{i}]",
             "an object with keys among family, metric, scale, limit, group")
        need(isinstance(spec.get("metric", ""), str) and isinstance(spec.get("group", ""), str), f"train[{i}]",
             "an object whose metric and group are strings")
        scale = spec.get("scale", 1.0)
        need(type(scale) in (int, float) and math.isfinite(scale), f"train[{i}].scale", "a finite number")
        need(spec.get("limit") is None or (count(spec["limit"]) and spec["limit"] > 0), f"train[{i}].limit",
             "a positive int")
    for key in ("exclude", "zero_shot", "unlabelled", "estimator"):
        need(isinstance(config.get(key, {}), dict), f"'{key}'", "an object")
    need(all(isinstance(v, list) and all(isinstance(x, str) for x in v) for v in config.get("exclude", {}).values()),
         "'exclude'", "an object of lists of names (\"demo\")")
    need(all(f in datasets.families() and (v is None or count(v)) for f, v in config.get("zero_shot", {}).items()),
         "'zero_shot'", "an object mapping families to a sample size or null")
    unlabelled = config.get("unlabelled", {})
    need(set(unlabelled) <= {"spaces", "generated", "generated_families"}, "'unlabelled'",
         "an object with keys among spaces, generated, generated_families")
    need(isinstance(unlabelled.get("spaces", {}), dict) and all(
        isinstance(k, str) and count(v) for k, v in unlabelled.get("spaces", {}).items()), "'unlabelled.spaces'",
         "an object mapping space names to counts")
    need(count(unlabelled.get("generated", 0)), "'unlabelled.generated'", "an int >= 0")
    params = set(GennapeEstimator().get_params())
    need(set(config.get("estimator", {})) <= params, f"'estimator' key(s) "
         f"{sorted(set(config.get('estimator', {})) - params)!r:.120}", "estimator parameters")
    bagging = config.get("bagging")
    need(bagging is None or (isinstance(bagging, dict) and count(bagging.get("members")) and bagging["members"] > 0
                             and set(bagging) <= {"members", "subsample"}), "'bagging'",
         "an object with a positive int 'members' (and 'subsample')")
    return config


def excluded(config: dict[str, Any], family: str) -> set[str]:
    """``arch_id``s the config keeps out of training for ``family`` (e.g. the demo sample)."""
    from ..data.demo import demo_sample
    names = config.get("exclude", {}).get(family, [])
    return {a for n in names for a in (demo_sample().arch_ids if n == "demo" else [])}


HELD_OUT = 3000   # rows of a training family left out of training that the card reports in-domain metrics on


def labelled(config: dict[str, Any], root: str | None
             ) -> tuple[list[CompGraph], np.ndarray, list[str], list[dict], dict[str, datasets.Dataset]]:
    """Graphs, labels (in percent), family names and a provenance record per family of the config's ``train``, and
    up to :data:`HELD_OUT` rows of each family that training left out (for in-domain metrics)."""
    held_out: dict[str, datasets.Dataset] = {}
    graphs: list[CompGraph] = []
    labels: list[np.ndarray] = []
    groups: list[str] = []
    record = []
    for spec in config["train"]:
        ds = datasets.load(spec["family"], metric=spec.get("metric"), root=root)
        keep, rest = training_rows(config, spec, ds)
        if rest is not None:
            held_out[spec["family"]] = ds.subset(rest)
        ds = ds.subset(keep)
        graphs += ds.graphs
        labels.append(ds.labels * spec.get("scale", 1.0))
        groups += [spec.get("group", spec["family"])] * len(ds)
        record.append({"family": spec["family"], "metric": ds.metric, "n": len(ds),
                       "excluded": len(excluded(config, spec["family"]))})
    return graphs, np.concatenate(labels), groups, record, held_out


def training_rows(config: dict[str, Any], spec: dict[str, Any], ds: datasets.Dataset
                  ) -> tuple[np.ndarray, np.ndarray | None]:
    """Rows of ``ds`` that the ``train`` entry ``spec`` trains on, and (with a ``limit``) up to :data:`HELD_OUT` of
    the others for in-domain metrics, drawn with the config's seed."""
    keep = np.arange(len(ds))
    skip = excluded(config, spec["family"])
    if skip:
        keep = np.array([i for i, a in enumerate(ds.archs) if ds.space.arch_id(a) not in skip])
    if not spec.get("limit"):
        return keep, None
    rng = np.random.default_rng(config["seed"])
    chosen = np.sort(rng.choice(keep, spec["limit"], replace=False))
    rest = np.setdiff1d(keep, chosen)
    return chosen, np.sort(rng.choice(rest, min(HELD_OUT, len(rest)), replace=False))


def unlabelled(config: dict[str, Any], progress: bool | None = None) -> tuple[list[CompGraph], dict[str, int]]:
    """Unlabelled graphs for the contrastive stage: samples of spaces and generated networks."""
    from .. import spaces
    spec = config.get("unlabelled", {})
    rng = random.Random(config["seed"])
    graphs: list[CompGraph] = []
    counts: dict[str, int] = {}
    for name, n in spec.get("spaces", {}).items():
        space = spaces.get(name)
        bar = progress_bar(total=n, desc=f"sample {name}", enabled=progress)
        for _ in range(n):
            graphs.append(space.to_graph(space.sample(rng)))
            bar.update(1)
        bar.close()
        counts[name] = n
    if spec.get("generated"):
        from ..data.generators import random_graphs
        gen = random_graphs(spec["generated"], families=spec.get("generated_families"), seed=config["seed"],
                            progress=progress)
        graphs += gen
        counts["generated"] = len(gen)
    return graphs, counts


def git_revision() -> str | None:
    """The repository's HEAD commit, or None outside a checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
        return out.stdout.strip() or None if out.returncode == 0 else None
    except (OSError, subprocess.SubprocessError):
        return None


#: What a card's ``check`` promises on any machine, as absolute differences (predictions in the model's output units).
#: Float arithmetic differs across CPUs and BLAS builds: rank metrics moved by up to 2e-4 between two x86 CPUs
#: (near-tied predictions swap), and a one-ulp relative change of every weight moves predictions by under 1e-5; a wrong
#: model moves them by more: the other shipped weights by up to 10, one weight tensor scaled by 1.01 by 1.8e-3 to 0.08
#: for 23 of the 24 tensors of ``default`` that reach the prediction (docs/estimator.md).
CHECK_PRECISION = {"srcc": 1e-3, "kendall_tau": 1e-3, "predictions": 1e-3}
#: How many predictions (the first cells of the demo sample) a card's ``check`` records.
CHECK_PREDICTIONS = 20


def check_metrics(est: GennapeEstimator | BaggedEstimator) -> dict[str, Any]:
    """Metrics on the demo sample shipped in the package, with the first predictions and the precision promised
    (what the card records and :func:`check_mismatches` compares)."""
    from ..data.demo import demo_sample
    sample = demo_sample()
    pred = est.predict(sample.graphs())
    return {"sample": sample.name, "n": len(sample), "srcc": metrics.spearman(sample.labels, pred),
            "kendall_tau": metrics.kendall_tau(sample.labels, pred),
            "predictions": [round(float(p), 6) for p in pred[:CHECK_PREDICTIONS]], "precision": dict(CHECK_PRECISION)}


def check_mismatches(measured: dict[str, Any], card_check: dict[str, Any]) -> list[str]:
    """Where ``measured`` (:func:`check_metrics`) differs from a card's ``check`` by more than the card's precision;
    empty when the model reproduces its card."""
    precision = card_check.get("precision", CHECK_PRECISION)
    out = [f"{key}: {measured[key]} instead of {card_check[key]}" for key in ("sample", "n")
           if measured[key] != card_check[key]]
    for key in ("srcc", "kendall_tau"):
        if abs(measured[key] - card_check[key]) > precision[key]:
            out.append(f"{key}: {measured[key]:.6f} instead of {card_check[key]:.6f} (precision {precision[key]:g})")
    a, b = np.asarray(measured["predictions"]), np.asarray(card_check["predictions"])
    worst = float(np.max(np.abs(a - b))) if a.shape == b.shape else float("inf")
    if worst > precision["predictions"]:
        out.append(f"predictions differ by up to {worst:.6f} (precision {precision['predictions']:g})")
    return out


def zero_shot(est: GennapeEstimator | BaggedEstimator, families: dict[str, int | None], root: str | None, seed: int = 0
              ) -> dict[str, dict[str, float]]:
    """SRCC and Kendall tau on ``{family: sample size or None for all}``."""
    out = {}
    for fam, limit in families.items():
        ds = datasets.load(fam, root=root)
        if limit is not None and limit < len(ds):
            ds = ds.subset(np.sort(np.random.default_rng(seed).choice(len(ds), limit, replace=False)))
        out[fam] = _metrics(ds.labels, est.predict(ds.graphs))
    return out


def _metrics(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return {"n": len(y), "srcc": round(metrics.spearman(y, pred), 4),
            "kendall_tau": round(metrics.kendall_tau(y, pred), 4)}


def pretrain(config: dict[str, Any], out_dir: str | Path | None = None, root: str | None = None,
             checkpoint_dir: str | None = None, progress: bool | None = None, command: str | None = None) -> Path:
    """Train the estimator a config describes; writes ``<name>.pt`` and ``<name>.json`` to ``out_dir`` (default: the
    user's pretrained folder, where ``nape.load_pretrained`` finds them). Refuses a config :func:`check_config`
    rejects and a target that is a shipped model, before any training."""
    config = check_config(config)
    out = user_dir() if out_dir is None else Path(out_dir)
    target = out / f"{config['name']}.pt"
    shipped = {p.resolve() for p in HERE.glob("*.pt")} | {p.resolve() for p in HERE.glob("*.json")}
    if {target.resolve(), target.with_suffix(".json").resolve()} & shipped:
        raise PathError(f"refusing to overwrite the shipped model {config['name']!r} in {HERE}; write it elsewhere "
                        f"(the default is {user_dir()})")
    writable_file(target)
    writable_file(target.with_suffix(".json"))
    start = time.time()
    torch.manual_seed(config["seed"])
    graphs, y, groups, record, held_out = labelled(config, root)
    extra, counts = unlabelled(config, progress)
    est = GennapeEstimator(**{**config.get("estimator", {}), "random_state": config["seed"], "progress": progress})
    if config.get("bagging"):
        bag = config["bagging"]
        est = BaggedEstimator(est, bag["members"], bag.get("subsample"), random_state=config["seed"])
    est.fit(graphs, y, groups=groups, unlabelled=extra, checkpoint_dir=checkpoint_dir)
    trained_on = {s["family"] for s in config["train"]}
    unseen = config.get("zero_shot", {f: None for f in datasets.families() if f not in trained_on})
    card = {"name": config["name"], "description": config.get("description", ""),
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"), "nape_version": __version__,
            "git_revision": git_revision(), "command": command, "seed": config["seed"], "config": config,
            "training_data": record, "unlabelled": counts, "train_seconds": round(time.time() - start, 1),
            "machine": f"{platform.machine()} {torch.get_num_threads()} threads, torch {torch.__version__}",
            "zero_shot": zero_shot(est, unseen, root, config["seed"]),
            "held_out": {fam: _metrics(ds.labels, est.predict(ds.graphs)) for fam, ds in held_out.items()},
            "check": check_metrics(est)}
    est.card_ = card
    est.save(target, card=card)
    atomic_write(target.with_suffix(".json"), (json.dumps(card, indent=1) + "\n").encode())
    return target
