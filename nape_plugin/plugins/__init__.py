"""The plugin host: hook specifications and the pluggy manager with its registries."""
from .hookspecs import Command, hookimpl, hookspec
from .manager import (
                      BLOCK_ENV,
                      DISABLE_AUTOLOAD_ENV,
                      ENTRY_POINT_GROUP,
                      HOOKS,
                      PluginManager,
                      build_manager,
                      commands,
                      describe,
                      get_plugin_manager,
                      get_predictor,
                      predictors,
                      pretrained,
                      register,
                      registry_cache,
                      unregister,
)

__all__ = ["BLOCK_ENV", "Command", "DISABLE_AUTOLOAD_ENV", "ENTRY_POINT_GROUP", "HOOKS", "PluginManager",
           "build_manager", "commands", "describe", "get_plugin_manager", "get_predictor", "hookimpl", "hookspec",
           "predictors", "pretrained", "register", "registry_cache", "unregister"]
