"""``nape.to_graph``: anything that describes a network -> CompGraph, through the ``nape_to_graph`` hook."""
from __future__ import annotations

from typing import Any

from ..errors import ConversionError, NapeError, PluginError
from ..graph.core import CompGraph
from ..plugins.manager import get_plugin_manager


def to_graph(obj: Any, **context: Any) -> CompGraph:
    """The computation graph of ``obj``.

    ``obj`` may be a ``torch.nn.Module`` (pass ``input_shape=(C, H, W)``), a benchmark encoding (pass ``space="nb201"``;
    unambiguous strings are recognised without it), a CompGraph dict or JSON file, an ONNX model (with the ``onnx``
    extra), or anything a plugin converts (NNI samples and models, NASLib graphs with the adapters installed).
    """
    if isinstance(obj, CompGraph):
        return obj
    try:
        graph = get_plugin_manager().to_graph(obj, context)
    except NapeError:
        raise
    except Exception as e:     # a converter's own failure: say which hook and what, keep the cause for debugging
        raise ConversionError(f"a nape_to_graph converter failed on {type(obj).__module__}.{type(obj).__qualname__}:"
                              f" {type(e).__name__}: {str(e)[:300]} (`nape plugins` lists the converters)") from e
    if graph is not None and not isinstance(graph, CompGraph):
        raise PluginError(f"a nape_to_graph converter returned a {type(graph).__module__}.{type(graph).__qualname__}"
                          " instead of a CompGraph or None; fix that plugin (`nape plugins` lists the converters)")
    if graph is None:
        raise ConversionError(
            f"no converter accepts {type(obj).__module__}.{type(obj).__qualname__}"
            f"{' with ' + ', '.join(f'{k}=' for k in context) if context else ''}. Pass a torch.nn.Module with "
            "input_shape=(C, H, W), an encoding with space=<name> (see nape.spaces.names()), a graph JSON, or install "
            "the adapter for your framework (pip install 'nape-plugin[nni]'); `nape plugins` lists the converters")
    return graph
