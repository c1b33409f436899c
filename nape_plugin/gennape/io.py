"""The estimator file format: what ``save`` writes, how a file is read and checked, and fitted state to and from it.

A file is a dict of tensors, numbers and strings, written atomically with ``torch.save`` and read with
``torch.load(..., weights_only=True)``: no pickled classes, so module paths never matter. It carries a format marker,
versions and a checksum (a BLAKE2b digest of every tensor's bytes and every other value), so a flipped byte is
refused rather than silently changing predictions; a file from another nape-plugin format or feature version is
refused with the version it needs, and one holding NaN or infinite weights as unusable.
"""
from __future__ import annotations

import contextlib
import hashlib
import io
import math
import numbers
import os
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import numpy as np
import torch

from .._version import __version__
from ..errors import PathError, WeightsError
from ..graph.builder import GraphBuilder
from ..graph.core import CompGraph
from ..graph.features import FEATURE_VERSION, NUM_NODE_FEATURES
from ..utils.files import atomic_write, input_file
from .labels import FamilyScaler
from .model import GennapeModel

if TYPE_CHECKING:
    from .estimator import GennapeEstimator

FORMAT = "nape-plugin/estimator"
#: 2: files carry a checksum (format 1 files had none; :func:`upgrade` rewrites one).
FORMAT_VERSION = 2
BAG_FORMAT = f"{FORMAT}/bagged"
CHECKSUM = "checksum"
#: Parts of a file that are descriptions, not numbers a prediction uses (never checked for NaN).
_NOT_WEIGHTS = ("card", "params")


def write(blob: dict[str, Any], path: str | os.PathLike) -> None:
    """``torch.save`` of ``blob`` with its checksum to ``path``, atomically."""
    atomic_write(path, partial(torch.save, {**blob, CHECKSUM: checksum(blob)}))


def read(path: str | os.PathLike | io.BytesIO) -> dict[str, Any]:
    """The contents of a nape-plugin weight file, checked for its marker, versions, checksum and finite weights."""
    blob = _load(path)
    if blob.get("format_version") == 1 and blob.get("feature_version") == FEATURE_VERSION:
        raise WeightsError(f"{path} has estimator format 1, which had no checksum; if you trust the file, rewrite it "
                           "with nape_plugin.gennape.io.upgrade(path), which checks and adds one")
    _check_versions(blob, path)
    if blob.get(CHECKSUM) != checksum(blob):
        raise WeightsError(f"{path} fails its checksum: the file was changed or damaged after it was saved; "
                           "re-download it or save the estimator again")
    bad = next(non_finite(blob), None)
    if bad is not None:
        raise WeightsError(f"{path} holds NaN or infinite weights ({bad}); the training diverged or the file was "
                           "edited: retrain or re-download it")
    return blob


def upgrade(path: str | os.PathLike, out: str | os.PathLike | None = None) -> Path:
    """Rewrite a format-1 estimator file (no checksum) at ``out`` (default: in place) as the current format with its
    checksum; its tensors and every other value stay exactly as they were. Returns the written path."""
    blob = _load(path)
    if blob.get("format_version") != 1:
        raise WeightsError(f"{path} is not a format-1 estimator file (format {blob.get('format_version')!r:.40})")
    blob = {**blob, "format_version": FORMAT_VERSION}
    _check_versions(blob, path)
    bad = next(non_finite(blob), None)
    if bad is not None:
        raise WeightsError(f"{path} holds NaN or infinite weights ({bad}); it cannot be upgraded")
    target = Path(path if out is None else out)
    write(blob, target)
    return target


def _load(path: str | os.PathLike | io.BytesIO) -> dict[str, Any]:
    if not isinstance(path, io.IOBase):
        path = input_file(path, "estimator file")
    try:
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except OSError as e:
        raise PathError(f"cannot read {path}: {e.strerror or e}") from None
    except Exception as e:
        raise WeightsError(f"cannot read estimator weights from {path}: {type(e).__name__}: {str(e)[:200]}. The "
                           "file is corrupted, truncated or not a nape-plugin estimator; re-download or re-save it") \
            from None
    if not isinstance(blob, dict) or not str(blob.get("format", "")).startswith(FORMAT):
        raise WeightsError(f"{path} is not a nape-plugin estimator file (no '{FORMAT}' marker); save estimators "
                           "with est.save(path)")
    return blob


def params(blob: dict[str, Any]) -> dict[str, Any]:
    """The estimator parameters a blob stores (``seed`` in files written before it was named ``random_state``)."""
    return {("random_state" if k == "seed" else k): v for k, v in blob["params"].items()}


def saved_params(est: Any, *leave_out: str) -> dict[str, Any]:
    """The parameters ``save`` writes: all but the start (``pretrained``; a loaded file is its own start) and
    ``leave_out``."""
    return {k: v for k, v in est.get_params(deep=False).items() if k not in ("pretrained", *leave_out)}


def _check_versions(blob: dict[str, Any], path: Any) -> None:
    if blob.get("format_version") != FORMAT_VERSION or blob.get("feature_version") != FEATURE_VERSION:
        raise WeightsError(f"{path} was written with estimator format {blob.get('format_version')!r:.40} / features "
                           f"{blob.get('feature_version')!r:.40}; this nape-plugin {__version__} reads format "
                           f"{FORMAT_VERSION} / features {FEATURE_VERSION}: retrain or use a matching version")


def checksum(blob: dict[str, Any]) -> str:
    """The digest of everything in ``blob`` but its checksum: tensors by dtype, shape and bytes, other values by type
    and value, dicts in key order."""
    h = hashlib.blake2b(digest_size=32)
    _feed(h, {k: v for k, v in blob.items() if k != CHECKSUM})
    return f"blake2b:{h.hexdigest()}"


def _feed(h: Any, v: Any) -> None:
    def tag(t: bytes, body: bytes) -> None:
        h.update(t + len(body).to_bytes(8, "little") + body)

    if isinstance(v, torch.Tensor):
        t = v.detach().cpu().contiguous()
        tag(b"T", f"{t.dtype}{tuple(t.shape)}".encode())
        tag(b"t", t.reshape(-1).view(torch.uint8).numpy().tobytes())
    elif isinstance(v, dict):
        tag(b"D", str(len(v)).encode())
        for k in sorted(v, key=repr):
            _feed(h, k)
            _feed(h, v[k])
    elif isinstance(v, (list, tuple)):
        tag(b"L" if isinstance(v, list) else b"U", str(len(v)).encode())
        for x in v:
            _feed(h, x)
    elif isinstance(v, str):
        tag(b"S", v.encode("utf-8", "surrogatepass"))
    elif v is None:
        tag(b"N", b"")
    elif isinstance(v, (bool, np.bool_)):
        tag(b"B", b"1" if v else b"0")
    elif isinstance(v, numbers.Integral):
        tag(b"I", str(int(v)).encode())
    elif isinstance(v, numbers.Real):
        tag(b"F", float(v).hex().encode())
    else:
        raise WeightsError(f"an estimator file cannot hold a {type(v).__name__}; only tensors, numbers, strings, "
                           "lists and dicts")


def non_finite(v: Any, where: str = "") -> Iterator[str]:
    """Where ``v`` (a blob or part of one) holds NaN or infinite numbers, skipping its card and parameters."""
    if isinstance(v, torch.Tensor):
        if v.is_floating_point() and not bool(torch.isfinite(v).all()):
            yield where
    elif isinstance(v, dict):
        for k, x in v.items():
            if k not in _NOT_WEIGHTS:
                yield from non_finite(x, f"{where}.{k}" if where else str(k))
    elif isinstance(v, (list, tuple)):
        for i, x in enumerate(v):
            yield from non_finite(x, f"{where}[{i}]")
    elif isinstance(v, float) and not math.isfinite(v):
        yield where


@contextlib.contextmanager
def restoring(path: Any) -> Iterator[None]:
    """Report any failure to rebuild an estimator from a file that passed :func:`read` as a WeightsError naming it:
    the file is well-formed but its contents do not fit this nape-plugin (a crafted or hand-edited file)."""
    try:
        yield
    except WeightsError:
        raise
    except Exception as e:
        raise WeightsError(f"{path} is not a usable estimator: {type(e).__name__}: {str(e)[:300]}. Its contents do "
                           "not fit this nape-plugin (a hand-made or edited file); re-save or re-download it") from e


def check_usable(est: Any) -> None:
    """Predict one small network with a restored estimator: every part read from a file (weights, cluster centres,
    scalers, ensemble) must fit the others and give a finite score. Use inside :func:`restoring`."""
    est.predict([_probe(width) for width in (2, 4, 8)])       # several graphs: shapes broadcast for one


def _probe(width: int) -> CompGraph:
    """A small network ``width`` channels wide."""
    b = GraphBuilder((3, 8, 8))
    return b.build(b.linear(b.flatten(b.global_pool(b.relu(b.conv(b.input, width, 3)))), 2))


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
