"""Import paths of modules that moved when the package was grouped by concern, and an import hook that keeps them
working: ``import nape_plugin.estimator`` gives the module ``nape_plugin.gennape.estimator`` itself (not a copy) and a
DeprecationWarning naming the new path.
"""
from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from types import ModuleType

#: old import path -> new import path
MOVED: dict[str, str] = {
    "nape_plugin._cache": "nape_plugin.data.cache",
    "nape_plugin.bagging": "nape_plugin.gennape.bagging",
    "nape_plugin.builder": "nape_plugin.graph.builder",
    "nape_plugin.builtins": "nape_plugin.convert.builtin",
    "nape_plugin.cli_search": "nape_plugin.cli.search",
    "nape_plugin.contrastive": "nape_plugin.gennape.contrastive",
    "nape_plugin.datasets": "nape_plugin.data.datasets",
    "nape_plugin.demo": "nape_plugin.data.demo",
    "nape_plugin.estimator": "nape_plugin.gennape.estimator",
    "nape_plugin.estimator_cli": "nape_plugin.cli.predict",
    "nape_plugin.evaluate": "nape_plugin.cli.evaluate",
    "nape_plugin.features": "nape_plugin.graph.features",
    "nape_plugin.generators": "nape_plugin.data.generators",
    "nape_plugin.hookspecs": "nape_plugin.plugins.hookspecs",
    "nape_plugin.labels": "nape_plugin.gennape.labels",
    "nape_plugin.learning_curves": "nape_plugin.predictors.learning_curves",
    "nape_plugin.losses": "nape_plugin.gennape.losses",
    "nape_plugin.nn": "nape_plugin.gennape.nn",
    "nape_plugin.nn.dag_conv": "nape_plugin.gennape.nn.dag_conv",
    "nape_plugin.nn.encoder": "nape_plugin.gennape.nn.encoder",
    "nape_plugin.nn.fcm": "nape_plugin.gennape.clustering",
    "nape_plugin.nn.heads": "nape_plugin.gennape.nn.heads",
    "nape_plugin.onnx": "nape_plugin.convert.onnx",
    "nape_plugin.opmap": "nape_plugin.convert.opmap",
    "nape_plugin.ops": "nape_plugin.graph.ops",
    "nape_plugin.pretrain": "nape_plugin.gennape.recipe",
    "nape_plugin.pretrained": "nape_plugin.gennape.pretrained",
    "nape_plugin.progress": "nape_plugin.utils.progress",
    "nape_plugin.proxies": "nape_plugin.predictors.zero_cost",
    "nape_plugin.surrogates": "nape_plugin.predictors.gbdt",
    "nape_plugin.tensorize": "nape_plugin.graph.packed",
    "nape_plugin.trace": "nape_plugin.convert.trace",
    "nape_plugin.training": "nape_plugin.gennape.training",
}


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds the old paths of :data:`MOVED` and loads them as the module at the new path."""

    def find_spec(self, fullname: str, path: object = None,
                  target: object = None) -> importlib.machinery.ModuleSpec | None:
        if fullname not in MOVED:
            return None
        return importlib.machinery.ModuleSpec(fullname, self)

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType:
        new = MOVED[spec.name]
        warnings.warn(f"{spec.name} moved to {new}; import it from there", DeprecationWarning, stacklevel=2)
        module = importlib.import_module(new)
        # the import system records the old spec on the module; the module keeps its own
        self._specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module: ModuleType) -> None:
        spec = self._specs.pop(module.__spec__.name if module.__spec__ else "", None)
        if spec is not None:
            module.__spec__ = spec

    def __init__(self) -> None:
        self._specs: dict[str, importlib.machinery.ModuleSpec | None] = {}


def install() -> None:
    """Put the finder first on ``sys.meta_path`` (once): an old path inside a moved package (``nape_plugin.nn.heads``)
    must not be found by the path finder in the new folder, which would load a second copy of the module."""
    if not any(isinstance(f, MovedModuleFinder) for f in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())
