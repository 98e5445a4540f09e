"""``mmtrain``: train a SigLIP + Whisper-encoder + causal-LM model on an ``mmdata`` mixture.

It reads what ``mmdata export --format mmtrain`` writes (``specs/schemas/training-record.json``)
and never imports ``mmdata`` internals: the two tools meet at that format.
"""

__version__ = "0.1.0"


def silent(task: str, done: int, total: int | None = None, note: str | None = None) -> None:
    """The default ``progress`` callback of every long function: reports nothing (the CLI passes one that draws)."""
