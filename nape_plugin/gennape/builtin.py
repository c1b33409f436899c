"""Built-in plugin of the estimator: the pretrained models shipped in the package."""
from __future__ import annotations

from ..plugins.hookspecs import hookimpl


@hookimpl(trylast=True)
def nape_register_pretrained():
    from .pretrained import shipped
    return shipped()
