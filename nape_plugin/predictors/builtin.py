"""Built-in plugin of the predictors: gradient-boosted trees, a random forest, learning curves, zero-cost proxies."""
from __future__ import annotations

from ..plugins.hookspecs import hookimpl


@hookimpl(trylast=True)
def nape_register_predictors():
    from functools import partial

    from .gbdt import GBDTPredictor
    from .learning_curves import LearningCurvePredictor
    from .zero_cost import PROXIES, ZeroCostProxy
    return {"gbdt": GBDTPredictor, "random_forest": partial(GBDTPredictor, backend="rf"),
            "lcsvr": LearningCurvePredictor, **{p: partial(ZeroCostProxy, proxy=p) for p in PROXIES}}
