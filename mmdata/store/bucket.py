"""Object storage (S3 and everything that speaks its protocol: GCS, R2, MinIO) for a team store.

boto3 is the one client: it resolves credentials, region and endpoint the way the AWS CLI does
(environment, ``~/.aws/config`` and ``credentials``, SSO, instance roles; ``AWS_ENDPOINT_URL``
for a non-AWS server), so a store descriptor never holds any of them. DuckDB reads and writes
the lake's Parquet files through its own httpfs extension; ``configure_duckdb`` hands it the
credentials boto3 resolved, as a temporary in-memory secret that is never written anywhere.
"""

from __future__ import annotations

import threading
from urllib.parse import urlparse

from mmdata.errors import InputError
from mmdata.extras import import_extra
from mmdata.store.sql import sql_string

_local = threading.local()  # boto3 clients are thread-safe, sessions are not: one of each per thread


def is_url(location: str) -> bool:
    """Whether ``location`` names an object store (``s3://bucket/prefix``) rather than a folder."""
    return "://" in str(location)


def split_url(url: str) -> tuple[str, str]:
    """``s3://bucket/a/b/`` -> ("bucket", "a/b/"); the prefix ends with "/" unless empty."""
    parsed = urlparse(url)
    if parsed.scheme != "s3" or not parsed.netloc:
        # gs:// and r2:// would make DuckDB go to those providers' own APIs past our S3 secret; their
        # S3-compatible endpoints take s3:// with AWS_ENDPOINT_URL.
        raise InputError(f"{url!r} is not an s3://bucket/prefix/ URL (GCS, R2 and MinIO: write s3:// and set AWS_ENDPOINT_URL)")
    if "@" in parsed.netloc:
        raise InputError("an object-store URL must not hold credentials: set them in the environment (AWS_ACCESS_KEY_ID, ...)")
    prefix = parsed.path.lstrip("/")
    return parsed.netloc, (prefix if not prefix or prefix.endswith("/") else prefix + "/")


def _session():
    if getattr(_local, "session", None) is None:
        boto3 = import_extra("boto3", "team", "a team store on object storage")
        _local.session = boto3.session.Session()
        _local.client = _local.session.client("s3")
    return _local.session


def client():
    """This thread's S3 client (credentials, region and endpoint from the standard AWS chain)."""
    _session()
    return _local.client


def configure_duckdb(con) -> None:
    """Load httpfs into ``con`` and give it the credentials boto3 resolves (a temporary secret)."""
    from mmdata.store.extensions import load_extension

    load_extension(con, "httpfs")
    credentials = _session().get_credentials()  # None: anonymous access (a public bucket)
    s3 = client()
    options = ["TYPE s3", f"REGION {sql_string(s3.meta.region_name or 'us-east-1')}"]
    if credentials is not None:
        frozen = credentials.get_frozen_credentials()
        options += [f"KEY_ID {sql_string(frozen.access_key)}", f"SECRET {sql_string(frozen.secret_key)}"]
        if frozen.token:
            options.append(f"SESSION_TOKEN {sql_string(frozen.token)}")
    endpoint = urlparse(s3.meta.endpoint_url)
    if not (endpoint.hostname or "").endswith("amazonaws.com"):
        # MinIO, moto, R2, GCS's interoperability endpoint: path-style addressing works on all of them.
        options += [
            f"ENDPOINT {sql_string(endpoint.netloc)}",
            "URL_STYLE 'path'",
            f"USE_SSL {'true' if endpoint.scheme == 'https' else 'false'}",
        ]
    con.execute(f"CREATE OR REPLACE TEMPORARY SECRET mmdata_s3 ({', '.join(options)})")
