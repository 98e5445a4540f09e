"""Older imports of ``mmtrain``'s command line (``from cli_train import train_app``); it is ``mmtrain.cli``. Not installed."""

from mmtrain.cli import app as train_app
from mmtrain.cli import main, quiet_transformers

__all__ = ["main", "quiet_transformers", "train_app"]
