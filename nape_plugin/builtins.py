"""Built-in plugins: the torch tracer, graph files, benchmark encodings, the built-in spaces and op mappings."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

from .errors import ConversionError, EncodingError
from .graph import CompGraph
from .hookspecs import hookimpl

#: (module, class) of every built-in search space.
BUILTIN_SPACES = (
    ("nape_plugin.spaces.nb101", "NB101Space"),
    ("nape_plugin.spaces.nb201", "NB201Space"),
    ("nape_plugin.spaces.nb301", "NB301Space"),
    ("nape_plugin.spaces.tnb101", "TNB101MicroSpace"),
    ("nape_plugin.spaces.tnb101", "TNB101MacroSpace"),
    ("nape_plugin.spaces.ofa", "OFAMobileNetV3Space"),
    ("nape_plugin.spaces.ofa", "OFAProxylessSpace"),
    ("nape_plugin.spaces.ofa", "OFAResNetSpace"),
)


@hookimpl(trylast=True)
def nape_register_spaces():
    spaces = []
    for module, cls in BUILTIN_SPACES:
        try:
            mod = importlib.import_module(module)
        except ModuleNotFoundError as e:
            if e.name != module:
                raise
            continue
        spaces.append(getattr(mod, cls)())
    return spaces


@hookimpl(trylast=True)
def nape_op_mappings():
    from .opmap import FUNCTIONS, METHODS, MODULES
    return {**MODULES, **FUNCTIONS, **METHODS}


@hookimpl(trylast=True)
def nape_register_predictors():
    from functools import partial

    from .learning_curves import LearningCurvePredictor
    from .proxies import PROXIES, ZeroCostProxy
    from .surrogates import GBDTPredictor
    return {"gbdt": GBDTPredictor, "random_forest": partial(GBDTPredictor, backend="rf"),
            "lcsvr": LearningCurvePredictor, **{p: partial(ZeroCostProxy, proxy=p) for p in PROXIES}}


@hookimpl(trylast=True)
def nape_register_pretrained():
    from .pretrained import shipped
    return shipped()


@hookimpl(trylast=True)
def nape_to_graph(obj: Any, context: dict[str, Any]):
    from torch import nn
    if isinstance(obj, nn.Module):
        if context.get("input_shape") is None:
            raise ConversionError(f"to_graph({type(obj).__name__}) needs input_shape=(C, H, W), the shape of one input "
                                  "without the batch dimension")
        from .trace import trace
        return trace(obj, context["input_shape"], **{k: v for k, v in context.items() if k in ("input_dtype", "name")})
    from .onnx import from_onnx, is_onnx
    if is_onnx(obj):
        return from_onnx(obj, **{k: v for k, v in context.items() if k in ("input_shape", "name")})
    if isinstance(obj, dict) and "nodes" in obj and "edges" in obj:
        return CompGraph.from_dict(obj)
    if isinstance(obj, Path) or (isinstance(obj, str) and obj.endswith(".json")):
        return CompGraph.from_json(obj)
    return _from_encoding(obj, context)


def _from_encoding(obj: Any, context: dict[str, Any]) -> CompGraph | None:
    from . import spaces
    if "space" in context:
        return spaces.get(context["space"]).to_graph(obj)
    if not isinstance(obj, str):
        return None
    matches, errors = [], {}
    for name in spaces.names():
        try:
            spaces.get(name).parse(obj)
            matches.append(name)
        except (EncodingError, TypeError, ValueError) as e:
            errors[name] = " ".join(str(e).split())
    if len(matches) > 1:
        raise ConversionError(f"{obj!r} is a valid encoding in several spaces ({', '.join(matches)}); pass space=...")
    if not matches and errors:       # the last converter: no plugin took the string, and no space parses it
        import difflib

        def likeness(name: str) -> float:
            """How much ``obj`` looks like the encodings space ``name`` samples (0 to 1)."""
            try:
                examples = [str(spaces.get(name).sample(seed)) for seed in range(3)]
            except Exception:        # a plugin space that cannot sample: no evidence either way
                return 0.0
            return max(difflib.SequenceMatcher(None, obj, ex, autojunk=False).ratio() for ex in examples)
        closest = max(errors, key=likeness)
        raise ConversionError(f"no registered space parses {obj!r}; the closest, {closest}, says: {errors[closest]} "
                              "(pass space=... to choose one; `nape plugins` lists the spaces)")
    return spaces.get(matches[0]).to_graph(obj) if matches else None
