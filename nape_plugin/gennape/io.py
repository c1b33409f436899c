"""The estimator file format: what ``save`` writes, how a file is read and checked, and fitted state to and from it.

A file is a dict of tensors, numbers and strings, written atomically with ``torch.save`` and read with
``torch.load(..., weights_only=True)``: no pickled classes, so module paths never matter. It carries a format marker
and versions; a file from another nape-plugin format or feature version is refused with the version it needs.
"""
from __future__ import annotations

import io
import os
from functools import partial
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from .._version import __version__
from ..errors import WeightsError
from ..graph.features import FEATURE_VERSION, NUM_NODE_FEATURES
from ..utils.files import atomic_write
from .labels import FamilyScaler
from .model import GennapeModel

if TYPE_CHECKING:
    from .estimator import GennapeEstimator

FORMAT = "nape-plugin/estimator"
FORMAT_VERSION = 1
BAG_FORMAT = f"{FORMAT}/bagged"


def write(blob: dict[str, Any], path: str | os.PathLike) -> None:
    """``torch.save`` of ``blob`` to ``path``, atomically."""
    atomic_write(path, partial(torch.save, blob))


def read(path: str | os.PathLike | io.BytesIO) -> dict[str, Any]:
    """The contents of a nape-plugin weight file, checked for its marker and versions."""
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise
    except Exception as e:
        raise WeightsError(f"cannot read estimator weights from {path}: {type(e).__name__}: {e}. The file is "
                           "corrupted, truncated or not a nape-plugin estimator; re-download or re-save it") from None
    if not isinstance(blob, dict) or not str(blob.get("format", "")).startswith(FORMAT):
        raise WeightsError(f"{path} is not a nape-plugin estimator file (no '{FORMAT}' marker); save estimators "
                           "with est.save(path)")
    if blob.get("format_version") != FORMAT_VERSION or blob.get("feature_version") != FEATURE_VERSION:
        raise WeightsError(f"{path} was written with estimator format {blob.get('format_version')} / features "
                           f"{blob.get('feature_version')}; this nape-plugin {__version__} reads format "
                           f"{FORMAT_VERSION} / features {FEATURE_VERSION}: retrain or use a matching version")
    return blob


def params(blob: dict[str, Any]) -> dict[str, Any]:
    """The estimator parameters a blob stores (``seed`` in files written before it was named ``random_state``)."""
    return {("random_state" if k == "seed" else k): v for k, v in blob["params"].items()}


def saved_params(est: Any, *leave_out: str) -> dict[str, Any]:
    """The parameters ``save`` writes: all but the start (``pretrained``; a loaded file is its own start) and
    ``leave_out``."""
    return {k: v for k, v in est.get_params(deep=False).items() if k not in ("pretrained", *leave_out)}


def header(fmt: str) -> dict[str, Any]:
    """The marker and versions every file starts with."""
    return {"format": fmt, "format_version": FORMAT_VERSION, "feature_version": FEATURE_VERSION}


def to_blob(est: GennapeEstimator, card: dict | None = None) -> dict[str, Any]:
    """The fitted state of ``est`` as a blob: tensors, numbers and strings only."""
    m = est.model_
    pre = getattr(est, "pretrained_", None)
    ensemble = getattr(est, "ensemble_", None)
    blob = {**header(FORMAT), "nape_version": __version__, "params": saved_params(est),
            "adapter_width": m.adapter.embed_dim if m.adapter is not None else 0,
            "state_dict": {k: v.cpu() for k, v in m.state_dict().items()}, "centers": est.centers_.cpu(),
            "pretrained_state_dict": None if pre is None else {k: v.cpu() for k, v in pre.state_dict().items()},
            "ensemble": None if ensemble is None else
            {k: (torch.as_tensor(v) if isinstance(v, np.ndarray) else v) for k, v in ensemble.items()},
            "finetune_mode": getattr(est, "finetune_mode_", None),
            "scaler": {"standardise": est.scaler_.standardise, "flops_aware": est.scaler_.flops_aware,
                       "stats": {k: list(v) for k, v in est.scaler_.stats_.items()}},
            "size_stats": [torch.tensor(a) for a in est.size_stats_], "family": est.family_,
            "card": card or getattr(est, "card_", {})}
    return blob


def restore(est: GennapeEstimator, blob: dict[str, Any], path: Any = "<blob>") -> GennapeEstimator:
    """Give ``est`` (new, with the blob's parameters) the fitted state stored in ``blob``; returns it."""
    params = est.get_params(deep=False)
    model = GennapeModel.from_params(params)
    if blob["adapter_width"]:
        model.attach_adapter(blob["adapter_width"])
    try:
        model.load_state_dict(blob["state_dict"])
    except RuntimeError as e:
        raise WeightsError(f"weights in {path} do not fit the architecture in its parameters: {e}") from None
    est.model_ = model
    est.pretrained_ = None
    if blob.get("pretrained_state_dict") is not None:
        est.pretrained_ = GennapeModel.from_params(params)
        est.pretrained_.load_state_dict(blob["pretrained_state_dict"])
    est.ensemble_ = None if blob.get("ensemble") is None else \
        {k: (v.numpy() if isinstance(v, torch.Tensor) else v) for k, v in blob["ensemble"].items()}
    if blob.get("finetune_mode") is not None:
        est.finetune_mode_ = blob["finetune_mode"]
    est.centers_ = blob["centers"]
    sc = blob["scaler"]
    est.scaler_ = FamilyScaler(sc["standardise"], sc["flops_aware"], {k: tuple(v) for k, v in sc["stats"].items()})
    est.size_stats_ = tuple(t.numpy() for t in blob["size_stats"])
    est.family_ = blob["family"]
    est.card_ = blob["card"]
    est.n_features_in_ = NUM_NODE_FEATURES
    return est
