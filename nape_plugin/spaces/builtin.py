"""Built-in plugin of the search spaces: the benchmark spaces, and benchmark encodings as computation graphs."""
from __future__ import annotations

import importlib
from typing import Any

from ..errors import ConversionError, EncodingError
from ..graph import CompGraph
from ..plugins.hookspecs import hookimpl

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
    ("nape_plugin.spaces.nb_macro", "NBMacroSpace"),
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
def nape_to_graph(obj: Any, context: dict[str, Any]):
    return _from_encoding(obj, context)


def _from_encoding(obj: Any, context: dict[str, Any]) -> CompGraph | None:
    from .. import spaces
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
