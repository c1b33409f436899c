"""A NASLib BANANAS search on NAS-Bench-201 with the nape estimator as its predictor.

This is NASLib's usual search script; the two lines marked ``nape`` are the whole change (docs/naslib.md). Two more
lines keep it fast and working on a current Python: ``load_naslib()`` before NASLib's imports, and ``model_free`` on
the search space (nothing here trains a network, so none is built or copied). Run it where NASLib is on the path
(docs/naslib.md), with NASLib's NAS-Bench-201 data files, or with a NAS-Bench-201 table in nape's CSV layout::

    python examples/naslib_bananas.py --labels ../shared/data/nb201/nb201.csv --queries 30
    python examples/naslib_bananas.py --naslib-data --queries 100      # NASLib's nb201_cifar10_full_training.pickle
"""
from __future__ import annotations

import argparse
import logging
import os
import tempfile

from nape_naslib import load_naslib, model_free

load_naslib()             # NASLib on a current Python, without torchvision (nape_naslib.compat); before its imports

from fvcore.common.config import CfgNode  # noqa: E402
from naslib.defaults.trainer import Trainer  # noqa: E402
from naslib.search_spaces import NasBench201SearchSpace  # noqa: E402
from naslib.search_spaces.core.query_metrics import Metric  # noqa: E402
from naslib.search_spaces.nasbench201.conversions import convert_op_indices_to_str  # noqa: E402
from naslib.utils import get_dataset_api, set_seed  # noqa: E402

from nape_naslib import NapeBananas  # noqa: E402         nape: instead of `from naslib.optimizers import Bananas`
from nape_naslib.data import nb201_dataset_api  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    src = ap.add_mutually_exclusive_group(required=True)
    src.add_argument("--labels", help="NAS-Bench-201 table with arch_str and accuracies (nape's nb201.csv layout)")
    src.add_argument("--naslib-data", action="store_true", help="NASLib's own NAS-Bench-201 data files")
    ap.add_argument("--queries", type=int, default=100, help="architectures to train (query), NASLib's epochs")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--estimator", default="default", help="pretrained name or a file saved with est.save")
    ap.add_argument("--threads", default=None, help="torch CPU threads for the estimator (default: $NAPE_THREADS, "
                                                    "else 1; 'torch' keeps torch's setting)")
    args = ap.parse_args()
    logging.getLogger("naslib").setLevel(logging.WARNING)

    with tempfile.TemporaryDirectory() as out:
        os.makedirs(os.path.join(out, "search"))                  # NASLib's Trainer checkpoints there
        config = CfgNode(dict(
            dataset="cifar10", seed=args.seed, search_space="nasbench201", optimizer="bananas", out_dir=out, save=out,
            search=CfgNode(dict(seed=args.seed, epochs=args.queries, checkpoint_freq=1000, fidelity=200, k=10,
                                num_init=10, num_ensemble=3, predictor_type="bananas", acq_fn_type="its",
                                acq_fn_optimization="mutation", encoding_type="path", num_arches_to_mutate=2,
                                max_mutations=1, num_candidates=100))))
        dataset_api = get_dataset_api("nasbench201", "cifar10") if args.naslib_data \
            else nb201_dataset_api(args.labels, "cifar10")

        set_seed(args.seed)
        search_space = model_free(NasBench201SearchSpace())     # architectures only: nothing here trains a network
        optimizer = NapeBananas(config, estimator=args.estimator,    # nape: instead of `Bananas(config)`
                                threads=args.threads)
        optimizer.adapt_search_space(search_space, dataset_api=dataset_api)
        trainer = Trainer(optimizer, config, lightweight_output=True)
        trainer.search(report_incumbent=False)

    best = optimizer.get_final_architecture()
    accuracies = [m.accuracy for m in optimizer.train_data]
    print(f"queried {len(accuracies)} architectures; best found at query {accuracies.index(max(accuracies)) + 1}")
    print(f"best architecture: {convert_op_indices_to_str(best.get_op_indices())} "
          f"(op indices {[int(i) for i in best.get_op_indices()]})")
    print(f"its validation accuracy: {best.query(Metric.VAL_ACCURACY, 'cifar10', dataset_api=dataset_api):.2f}%")


if __name__ == "__main__":
    main()
