"""Which of NNI 3.0's hub model spaces convert to computation graphs, and how fast (docs/nni.md, "Hub spaces").

For every space in ``nni.nas.hub.pytorch``: draw random samples, freeze the space with each (on the meta device where
the space's code allows), trace the frozen model with the adapter's tracer, and check that the graph's parameters plus
the parameters the network never uses equal PyTorch's count. Where a fast path exists, also build the graph straight
from the sample and check that it equals the traced one.

    python benchmarks/nni_hub_spaces.py [--samples 3] [--seed 0]
"""
from __future__ import annotations

import argparse
import logging
import time
import warnings

import numpy as np
import torch

SPACES = [  # (class name, constructor arguments, input shape)
    ("NasBench101", {}, (3, 32, 32)),
    ("NasBench201", {}, (3, 32, 32)),
    ("DARTS", {}, (3, 32, 32)),
    ("NASNet", {}, (3, 32, 32)),
    ("ENAS", {}, (3, 32, 32)),
    ("AmoebaNet", {}, (3, 32, 32)),
    ("PNAS", {}, (3, 32, 32)),
    ("ProxylessNAS", {}, (3, 224, 224)),
    ("MobileNetV3Space", {}, (3, 224, 224)),
    ("ShuffleNetSpace", {}, (3, 224, 224)),
    ("AutoFormer", {}, (3, 224, 224)),
]


def _draw(space, rs: np.random.RandomState, device: str):
    """A valid (sample, frozen model), redrawing rejected samples as NNI's strategies do."""
    from nni.mutable import SampleValidationError
    while True:
        sample: dict = {}
        try:
            with torch.device(device):
                return sample, space.random(memo=sample, random_state=rs)
        except SampleValidationError:
            continue


def survey_space(name: str, kwargs: dict, shape: tuple[int, ...], n_samples: int, seed: int) -> dict:
    import nni.nas.hub.pytorch as hub
    from nape_nni import hub as nape_hub
    from nape_nni.trace import trace_model
    row: dict = {"space": name, "input": "x".join(map(str, shape))}
    try:
        try:
            with torch.device("meta"):
                space = getattr(hub, name)(**kwargs)
                _draw(space, np.random.RandomState(seed), "meta")
            device = "meta"
        except (RuntimeError, NotImplementedError):        # construction code that reads tensor values
            space, device = getattr(hub, name)(**kwargs), "cpu"
        info = nape_hub.identify(space)
        rs = np.random.RandomState(seed)
        nodes, freeze, trace, fast_ms, fast_equal, params_ok, oov = [], [], [], [], [], [], set()
        for _ in range(n_samples):
            t0 = time.perf_counter()
            sample, model = _draw(space, rs, device)
            t1 = time.perf_counter()
            g = trace_model(model, shape)
            t2 = time.perf_counter()
            params_ok.append(g.params + g.meta.get("unused_params", 0) == sum(p.numel() for p in model.parameters()))
            oov |= set(g.oov)
            nodes.append(g.num_nodes)
            freeze.append(t1 - t0)
            trace.append(t2 - t1)
            fast = info.graph(sample) if info is not None else None
            if fast is not None:
                t3 = time.perf_counter()
                fast = info.graph(sample)
                fast_ms.append(1e3 * (time.perf_counter() - t3))
                fast_equal.append(fast == g)
        row.update(status="traces", device=device, nodes=f"{min(nodes)}-{max(nodes)}", params_ok=all(params_ok),
                   oov=", ".join(sorted(oov)) or "none", freeze_s=float(np.mean(freeze)),
                   trace_s=float(np.mean(trace)), fast_ms=float(np.mean(fast_ms)) if fast_ms else None,
                   fast_equal=all(fast_equal) if fast_equal else None)
    except Exception as e:  # noqa: BLE001 - the survey reports every failure
        row.update(status=f"fails: {type(e).__name__}: {str(e).strip().splitlines()[0][:200]}")
    return row


def markdown(rows: list[dict]) -> str:
    lines = ["| space | input | traces | nodes | params check | oov ops | freeze (s) | trace (s) | fast path |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] != "traces":
            lines.append(f"| {r['space']} | {r['input']} | {r['status']} | | | | | | |")
            continue
        fast = "none" if r["fast_ms"] is None else \
            f"{r['fast_ms']:.1f} ms, {'equal' if r['fast_equal'] else 'DIFFERENT'}"
        lines.append(f"| {r['space']} | {r['input']} | yes ({r['device']}) | {r['nodes']} | "
                     f"{'ok' if r['params_ok'] else 'MISMATCH'} | {r['oov']} | {r['freeze_s']:.2f} | "
                     f"{r['trace_s']:.2f} | {fast} |")
    return "\n".join(lines)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--samples", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    args = ap.parse_args()
    warnings.filterwarnings("ignore")
    logging.getLogger("nni").setLevel(logging.WARNING)
    rows = []
    for name, kwargs, shape in SPACES:
        rows.append(survey_space(name, kwargs, shape, args.samples, args.seed))
        print(rows[-1], flush=True)
    print(markdown(rows))


if __name__ == "__main__":
    main()
