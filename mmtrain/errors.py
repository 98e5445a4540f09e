"""mmtrain's error family. Only the command line turns these into a red line and an exit code."""


class MmtrainError(Exception):
    """Base of every error a user can cause or fix. The message is one line: what, where, how to fix."""

    exit_code = 1


class ConfigError(MmtrainError):
    """A training config, a key=value override or a model folder that makes no sense."""


class DataError(MmtrainError):
    """A training record that cannot be used (names the file, line and record id)."""
