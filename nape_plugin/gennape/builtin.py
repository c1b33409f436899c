"""Built-in plugin of the estimator: the pretrained models shipped in the package, and those in the user's folder."""
from __future__ import annotations

from ..plugins.hookspecs import hookimpl


@hookimpl(trylast=True)
def nape_register_pretrained():
    from .pretrained import shipped, user_models
    return {**user_models(), **shipped()}
