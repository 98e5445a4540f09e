"""``mmtrain``: train a SigLIP + Whisper-encoder + causal-LM model on an ``mmdata`` mixture.

It reads what ``mmdata export --format mmtrain`` writes (``specs/schemas/training-record.json``):
the two tools meet at that format. From the ``mmdata`` library it uses only what that format
needs (export from a store, the 16 kHz audio decoder, the shipped schemas) and its progress
convention.
"""

from mmdata.progress import silent  # the default ``progress`` callback of mmtrain's long functions

__all__ = ["__version__", "silent"]
__version__ = "0.1.0"
