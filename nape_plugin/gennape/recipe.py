"""Config-driven pretraining: train an estimator from a config file and write its weights and JSON card.

A config (``nape_plugin/gennape/configs/<name>.json``) names the labelled families to train on, the unlabelled graphs
of the
contrastive stage, the estimator's parameters and the seed. The same command with the same config and seed
reproduces the shipped weights; ``--checkpoint-dir`` makes an interrupted run resumable.
"""
from __future__ import annotations

import json
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
from ..errors import DataError, UnknownNameError
from ..graph.core import CompGraph
from ..utils.files import is_safe_name
from ..utils.progress import progress_bar
from .bagging import BaggedEstimator
from .estimator import GennapeEstimator

CONFIG_DIR = Path(__file__).resolve().parent / "configs"
PRETRAINED_DIR = Path(__file__).resolve().parent / "pretrained"


def load_config(name_or_path: str) -> dict[str, Any]:
    """A config by shipped name (``gennape-nb101``) or by path to a JSON file."""
    path = Path(name_or_path)
    if not path.is_file():
        path = CONFIG_DIR / f"{name_or_path}.json"
    if not path.is_file():
        shipped = ", ".join(sorted(p.stem for p in CONFIG_DIR.glob("*.json")))
        raise UnknownNameError(f"no config {name_or_path!r}: give a JSON file or one of: {shipped}")
    return json.loads(path.read_text())


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


def pretrain(config: dict[str, Any], out_dir: str | Path = PRETRAINED_DIR, root: str | None = None,
             checkpoint_dir: str | None = None, progress: bool | None = None, command: str | None = None) -> Path:
    """Train the estimator a config describes; writes ``<name>.pt`` and ``<name>.json`` to ``out_dir``."""
    if not is_safe_name(str(config.get("name", ""))):
        raise DataError(f"config name {config.get('name')!r} cannot name the output files; use letters, digits, "
                        "'.', '_' and '-'")
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
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    est.save(out / f"{config['name']}.pt", card=card)
    (out / f"{config['name']}.json").write_text(json.dumps(card, indent=1) + "\n")
    return out / f"{config['name']}.pt"
