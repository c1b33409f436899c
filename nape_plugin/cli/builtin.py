"""Built-in plugin of the command line: the ``nape`` subcommands, in the order ``nape --help`` lists them."""
from __future__ import annotations

from ..plugins.hookspecs import Command, hookimpl

#: name -> ("module[:attribute]", help)
COMMANDS = {
    "demo": ("nape_plugin.cli.demo", "score the shipped labelled sample with a pretrained model and plot it"),
    "predict": ("nape_plugin.cli.predict:Predict", "predict the accuracy of architectures"),
    "evaluate": ("nape_plugin.cli.evaluate", "zero-shot and few-shot metrics of a model on a benchmark family"),
    "finetune": ("nape_plugin.cli.predict:Finetune", "fine-tune a pretrained model on labelled architectures"),
    "pretrain": ("nape_plugin.cli.pretrain", "train an estimator from a config (reproduces the shipped models)"),
    "convert": ("nape_plugin.cli.convert:Convert", "a network (space encoding, module factory, graph JSON) to a CG"),
    "plugins": ("nape_plugin.cli.plugins:Plugins", "list plugins, where they come from, and what they register"),
    "search": ("nape_plugin.cli.search:Search", "predictor-guided architecture search (regularised evolution)"),
    "surrogate": ("nape_plugin.cli.search:Surrogate", "fit, apply and evaluate a registered surrogate predictor"),
}


@hookimpl(trylast=True)
def nape_register_commands():
    return {name: Command(target, text) for name, (target, text) in COMMANDS.items()}
