"""The one error family. Only the CLI (``mmdata.cli``) turns these into a red line and an exit code."""


class MmdataError(Exception):
    """Base of every error a user can cause or fix. The message is one line: what, where, how to fix."""

    exit_code = 1


class NotFoundError(MmdataError):
    """An unknown dataset, version, tag or media id."""


class InputError(MmdataError):
    """Malformed input: a file, a line, a field, or an argument that makes no sense."""


class MediaError(MmdataError):
    """A media file that is missing or does not decode."""


class QueryError(MmdataError):
    """SQL that DuckDB rejects, or a query that would write."""


class StoreBusyError(MmdataError):
    """Another process holds the store's write lock longer than we were willing to wait."""


class ValidationFailed(MmdataError):
    """Validation found invalid records (the report has the details)."""


class MediaMissing(MediaError):
    """A media file or id that cannot be found."""


class ShardsFailed(MmdataError):
    """Some shards of a sharded job failed (an error, or a worker that died); the others finished and
    are recorded, so rerunning the same command resumes with only the failed ones."""


class StoreUnavailable(MmdataError):
    """A part of a team store (its bucket, its catalog) cannot be reached: the whole run stops,
    rather than every record that needed it being rejected one by one."""
