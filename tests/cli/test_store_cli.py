"""``mmdata store init`` and ``mmdata store info`` against a real PostgreSQL and moto's S3 server."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from mmdata.cli import app
from mmdata.store.address import write_descriptor
from tests.conftest import SAMPLES
from tests.servers import PG_PASSWORD, S3_SECRET

runner = CliRunner()


@pytest.fixture(autouse=True)
def secret_password(monkeypatch):
    """A password libpq would send (the test cluster trusts everyone and ignores it): no output may show it."""
    monkeypatch.setenv("PGPASSWORD", PG_PASSWORD)


@pytest.fixture
def addresses(postgres, s3) -> dict:
    bucket = s3.bucket()
    return {"catalog": f"postgres:{postgres.database()}", "data": f"s3://{bucket}/lake/", "bucket": bucket}


def mmdata(*args: str):
    result = runner.invoke(app, list(args))
    assert PG_PASSWORD not in result.output and S3_SECRET not in result.output
    assert "Traceback" not in result.output
    return result


def init(root, addresses: dict, *extra: str):
    return mmdata("--store", str(root), "store", "init", "--catalog", addresses["catalog"], "--data", addresses["data"], *extra)


def test_init_then_info(tmp_path, addresses):
    root = tmp_path / "team"
    made = init(root, addresses)
    assert made.exit_code == 0, made.output
    assert (root / "store.yaml").is_file() and f"team store at {root}" in made.output
    info = mmdata("--store", str(root), "store", "info")
    assert info.exit_code == 0, info.output
    assert "team store" in info.output and all(part in info.output for part in ("catalog", "data", "media", "reachable"))
    as_json = json.loads(mmdata("--store", str(root), "store", "info", "--json").output)
    assert as_json["ok"] is True and [c["part"] for c in as_json["checks"]] == ["catalog", "data", "media"]
    assert as_json["checks"][0]["detail"].startswith("0 datasets, 0 versions")


def test_init_takes_the_folder_as_an_argument_and_again_is_fine(tmp_path, addresses):
    root = tmp_path / "team"
    assert init(root, addresses).exit_code == 0
    again = mmdata("store", "init", str(root), "--catalog", addresses["catalog"], "--data", addresses["data"], "--json")
    assert again.exit_code == 0, again.output
    assert json.loads(again.output)["data"] == addresses["data"]


def test_init_with_other_addresses_is_refused(tmp_path, addresses, postgres):
    root = tmp_path / "team"
    assert init(root, addresses).exit_code == 0
    other = {**addresses, "catalog": f"postgres:{postgres.database()}"}
    refused = init(root, other)
    assert refused.exit_code == 1 and refused.output.startswith("error:") and "already names another store" in refused.output


def test_init_over_a_local_store_is_refused(tmp_path, addresses):
    root = tmp_path / "local"
    assert mmdata("--store", str(root), "import", str(SAMPLES / "audio_instructions.jsonl"), "--into", "talk").exit_code == 0
    refused = init(root, addresses)
    assert refused.exit_code == 1 and "is a local store" in refused.output
    assert not (root / "store.yaml").exists()


def test_a_catalog_with_a_password_is_refused(tmp_path, addresses):
    refused = init(tmp_path / "team", {**addresses, "catalog": addresses["catalog"] + f" password={PG_PASSWORD}"})
    assert refused.exit_code == 1 and "holds a password" in refused.output
    assert not (tmp_path / "team" / "store.yaml").exists()


def test_info_with_the_bucket_gone_is_one_red_line(tmp_path, addresses, s3):
    import boto3

    root = tmp_path / "team"
    assert init(root, addresses).exit_code == 0
    client = boto3.client("s3", endpoint_url=s3.endpoint, region_name="us-east-1")
    for key in s3.keys(addresses["bucket"]):
        client.delete_object(Bucket=addresses["bucket"], Key=key)
    client.delete_bucket(Bucket=addresses["bucket"])
    info = mmdata("--store", str(root), "store", "info")
    assert info.exit_code == 1
    error = [line for line in info.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "data: cannot reach s3://" in error[0] and "does not exist" in error[0]


def test_info_with_a_wrong_database_is_one_red_line(tmp_path, addresses):
    root = tmp_path / "team"
    assert init(root, addresses).exit_code == 0
    wrong = addresses["catalog"].replace("dbname=lake_", "dbname=nolake_")
    write_descriptor(root, wrong, addresses["data"])
    info = mmdata("--store", str(root), "store", "info")
    assert info.exit_code == 1
    error = [line for line in info.output.splitlines() if line.startswith("error:")]
    assert len(error) == 1 and "catalog: cannot open the store catalog" in error[0] and "nolake_" in error[0]


def test_info_on_a_local_store(tmp_path):
    info = mmdata("--store", str(tmp_path / "fresh"), "store", "info", "--json")
    assert info.exit_code == 0 and json.loads(info.output)["kind"] == "local"
