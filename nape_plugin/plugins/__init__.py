"""The plugin host: hook specifications and the pluggy manager with its registries."""
from .hookspecs import hookimpl, hookspec
from .manager import (
                      DISABLE_AUTOLOAD_ENV,
                      ENTRY_POINT_GROUP,
                      HOOKS,
                      PluginManager,
                      build_manager,
                      describe,
                      get_plugin_manager,
                      get_predictor,
                      hook,
                      predictors,
                      pretrained,
                      register,
                      registry_cache,
                      unregister,
)

__all__ = ["DISABLE_AUTOLOAD_ENV", "ENTRY_POINT_GROUP", "HOOKS", "PluginManager", "build_manager", "describe",
           "get_plugin_manager", "get_predictor", "hook", "hookimpl", "hookspec", "predictors", "pretrained",
           "register", "registry_cache", "unregister"]
