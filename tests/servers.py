"""Real servers for team-store tests: a throwaway PostgreSQL cluster and an S3-compatible server.

PostgreSQL comes from the system package (``apt-get install postgresql``; ``make test`` installs it
when root). ``initdb`` refuses to run as root, so as root the cluster runs as the ``postgres``
user; it listens only on a unix socket in a temp folder. The S3 server is moto in server mode on
127.0.0.1; the code under test reaches it through the standard AWS environment variables
(``AWS_ENDPOINT_URL`` and the keys), as it would reach AWS or MinIO.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

# Fake credentials: a test scans the catalog, lineage and logs for these strings.
S3_KEY_ID = "AKIATESTKEYID0000000"
S3_SECRET = "test-secret-0xDEADBEEF-never-stored"
PG_PASSWORD = "pg-password-0xFEEDFACE-never-stored"


def postgres_bin() -> Path | None:
    """The folder of the system PostgreSQL's server programs, or None."""
    for candidate in sorted(glob.glob("/usr/lib/postgresql/*/bin"), reverse=True):
        if Path(candidate, "initdb").exists():
            return Path(candidate)
    found = shutil.which("pg_ctl")
    return Path(found).parent if found else None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@dataclass
class Postgres:
    """A running cluster; ``database()`` makes a fresh database and returns its libpq conninfo."""

    folder: Path
    port: int
    bin: Path
    user: str
    made: list[str] = field(default_factory=list)

    def conninfo(self, dbname: str) -> str:
        return f"dbname={dbname} host={self.folder} port={self.port} user=postgres"

    def database(self) -> str:
        import psycopg

        name = f"lake_{uuid.uuid4().hex[:10]}"
        with psycopg.connect(self.conninfo("postgres"), autocommit=True) as con:
            con.execute(f"CREATE DATABASE {name}")
        self.made.append(name)
        return self.conninfo(name)

    def dump(self, conninfo: str) -> str:
        """Every row of a database as SQL (what a backup would hold)."""
        out = subprocess.run(
            [str(self.bin / "pg_dump"), "-d", conninfo], check=True, capture_output=True, text=True, env=_pg_env()
        )
        # pg_dump marks each dump with a random \restrict key: drop it, so equal data dumps equal.
        return "\n".join(line for line in out.stdout.splitlines() if not line.startswith(("\\restrict", "\\unrestrict")))


def _pg_env() -> dict:
    env = dict(os.environ)
    env.pop("PGPASSWORD", None)  # trust auth; the tests set a fake one to check it never leaks
    return env


def _as_postgres_user(args: list[str], user: str) -> list[str]:
    if os.geteuid() != 0:
        return args
    import shlex

    return ["su", user, "-s", "/bin/sh", "-c", shlex.join(args)]


def start_postgres() -> Postgres:
    """initdb + pg_ctl start in a temp folder; raises RuntimeError with the reason when it cannot."""
    bin_dir = postgres_bin()
    if bin_dir is None:
        raise RuntimeError("PostgreSQL is not installed (apt-get install postgresql)")
    user = "postgres" if os.geteuid() == 0 else os.environ.get("USER", "postgres")
    folder = Path(tempfile.mkdtemp(prefix="mmdata-pg-"))
    os.chmod(folder, 0o777)  # the postgres user writes its data and socket here
    port = free_port()
    run = dict(check=True, capture_output=True, text=True)
    subprocess.run(
        _as_postgres_user(
            [str(bin_dir / "initdb"), "-D", str(folder / "data"), "-A", "trust", "-U", "postgres", "--no-sync"], user
        ),
        **run,
    )
    options = f"-k {folder} -p {port} -c listen_addresses='' -c fsync=off -c max_connections=200"
    subprocess.run(
        _as_postgres_user(
            [str(bin_dir / "pg_ctl"), "-D", str(folder / "data"), "-l", str(folder / "log"), "-w", "-o", options, "start"], user
        ),
        **run,
    )
    return Postgres(folder, port, bin_dir, user)


def stop_postgres(server: Postgres) -> None:
    subprocess.run(
        _as_postgres_user(
            [str(server.bin / "pg_ctl"), "-D", str(server.folder / "data"), "-m", "immediate", "stop"], server.user
        ),
        capture_output=True,
    )
    shutil.rmtree(server.folder, ignore_errors=True)


@dataclass
class S3Server:
    endpoint: str
    process: subprocess.Popen

    def bucket(self) -> str:
        """A fresh, empty bucket's name."""
        import boto3

        name = f"mmdata-{uuid.uuid4().hex[:12]}"
        boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1").create_bucket(Bucket=name)
        return name

    def keys(self, bucket: str) -> list[str]:
        import boto3

        client = boto3.client("s3", endpoint_url=self.endpoint, region_name="us-east-1")
        return [
            o["Key"] for page in client.get_paginator("list_objects_v2").paginate(Bucket=bucket) for o in page.get("Contents", [])
        ]


S3_ENV = {
    "AWS_ACCESS_KEY_ID": S3_KEY_ID,
    "AWS_SECRET_ACCESS_KEY": S3_SECRET,
    "AWS_REGION": "us-east-1",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def start_s3() -> S3Server:
    """moto's S3 server on a free loopback port (raises RuntimeError when moto is missing)."""
    try:
        import moto.server  # noqa: F401
    except ImportError as exc:
        raise RuntimeError(f"moto[server] is not installed ({exc})") from exc
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **S3_ENV},
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return S3Server(f"http://127.0.0.1:{port}", process)
        except OSError:
            if process.poll() is not None:
                raise RuntimeError("moto server exited at start") from None
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("moto server did not start in 30 s")
