"""NASLib's BANANAS and NPENAS searching with the nape estimator instead of NASLib's predictor ensemble.

Two lines change in a NASLib search script::

    from nape_naslib import NapeBananas          # instead of: from naslib.optimizers import Bananas
    optimizer = NapeBananas(config)              # instead of: optimizer = Bananas(config)

Everything else (``config``, ``search_space``, ``dataset_api``, NASLib's ``Trainer``) stays as it is. The optimizers
override ``_get_ensemble`` to return one :class:`~nape_naslib.predictor.NapePredictor` in ensemble mode (its heads are
the ensemble members, re-fine-tuned from the pretrained weights each time NASLib refits), and score all candidates of
a round in one batched ``query`` instead of NASLib's one-candidate-per-call acquisition loop. The acquisition
functions are those of NASLib's ``acquisition_functions.py`` (ITS, UCB, EI, exploit-only) with NASLib's constants.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .compat import load_naslib

load_naslib()           # NASLib on a current Python (nape_naslib.compat); a one-line error where it cannot import

from naslib.optimizers import Bananas, Npenas  # noqa: E402

from . import predictor as _predictor  # noqa: E402
from .acquisition import acquisition_values  # noqa: E402


class _NapeSearch:
    """What BANANAS and NPENAS share: the estimator as the ensemble, and batched acquisition."""

    acq_fn_type: str

    def __init__(self, config: Any, zc_api: Any = None, predictor: Any = None, **predictor_kwargs: Any):
        super().__init__(config, zc_api=zc_api)
        if self.zc:
            raise ValueError("zero-cost proxies in the search (config.search.zc / zc_ensemble) are NASLib-predictor "
                             "features; the nape estimator reads architectures only: switch them off")
        self.semi = False                   # the estimator needs no unlabelled architectures
        if predictor is None:
            predictor = _predictor.NapePredictor(dataset=config.dataset, **predictor_kwargs)
        elif predictor_kwargs:
            raise TypeError("pass either a predictor or keyword arguments for a new NapePredictor, not both")
        predictor.ensemble = True
        self.predictor = predictor

    def _get_ensemble(self):
        self.predictor.set_ss_type(self.ss_type)
        return self.predictor

    def get_model_size(self) -> float:
        """Parameters of the history in millions (NASLib's version calls ``np.sum`` on a generator, which numpy 2
        rejects, so its ``Trainer`` cannot even be constructed)."""
        return sum(int(np.prod(v.size())) for name, v in self.history.named_parameters()
                   if "auxiliary" not in name) / 1e6

    def _get_best_candidates(self, candidates: list, acq_fn: Any) -> list:
        predictions = self.predictor.query([m.arch for m in candidates])
        best_y = max(m.accuracy for m in self.train_data) if self.train_data else None
        values = acquisition_values(predictions, self.acq_fn_type, best_y)
        order = np.argsort(values)
        return [candidates[i] for i in order[-self.k:]]


class NapeBananas(_NapeSearch, Bananas):
    """NASLib's BANANAS with the nape estimator as its predictor (acquisition from ``config.search.acq_fn_type``).

    Args:
        config: NASLib's config (``config.search``: num_init, k, acq_fn_type, acq_fn_optimization, num_candidates,
            num_arches_to_mutate, max_mutations; ``num_ensemble``, ``predictor_type`` and ``encoding_type`` are unused).
        zc_api: NASLib's; zero-cost proxies are not supported.
        predictor: a :class:`~nape_naslib.predictor.NapePredictor` to use; or keyword arguments for a new one
            (``estimator="gennape-nb101"``, ``finetune=False`` ...).
    """


class NapeNpenas(_NapeSearch, Npenas):
    """NASLib's NPENAS with the nape estimator as its predictor (exploit-only acquisition, as NPENAS uses)."""

    acq_fn_type = "exploit_only"
