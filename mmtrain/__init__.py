"""``mmtrain``: train a SigLIP + Whisper-encoder + causal-LM model on an ``mmdata`` mixture.

It reads what ``mmdata export --format mmtrain`` writes (``specs/schemas/training-record.json``)
and never imports ``mmdata`` internals: the two tools meet at that format.
"""

__version__ = "0.1.0"
