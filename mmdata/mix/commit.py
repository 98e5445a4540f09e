"""Step 7b, commit: the written mixture becomes the dataset's next version (or nothing, when it is
the same as the last), its lineage naming the spec and the exact source versions."""

from __future__ import annotations

from pathlib import Path

from mmdata.errors import InputError
from mmdata.progress import ProgressCallback
from mmdata.store.versions import Lineage


def check_target(con, spec) -> None:
    """A mixture replaces all the rows of the dataset it is named after: refuse a name that holds
    anything but an earlier mixture (a source's rows would be lost from its latest version)."""
    from mmdata.store.versions import list_versions

    versions = list_versions(con, spec.name)
    if versions and versions[-1]["command"] != "mix":
        raise InputError(
            f"{spec.path}: name: {spec.name} already holds rows made by `{versions[-1]['command']}` "
            f"({spec.name}@{versions[-1]['version']}); a mixture replaces its dataset's rows, so give it another name"
        )


def commit_mixture(
    store,
    spec,
    spec_path,
    plan: list[dict],
    rows: int,
    out: Path,
    in_data_path: bool,
    unique: bool,
    journal,
    wait: float | None,
    progress: ProgressCallback,
):
    """Commit the file ``out`` as the dataset ``spec.name``; the store's commit result."""
    from mmdata.store.commit import commit_staged

    lineage = Lineage(
        "mix",
        {"spec": str(spec_path), "spec_hash": spec.hash, "seed": spec.seed},
        parents=[row["source"] for row in plan],
        inputs=[{"path": str(spec_path), "sha256": spec.hash, "spec": spec.text}],
    )
    adopt = in_data_path and unique  # repeated keys go through the upsert, which copies the rows
    committed = None
    try:
        committed = commit_staged(
            store,
            spec.name,
            "conversation",
            {"records": out, "media": None, "rejects": None},
            lineage,
            journal.run_id,
            counts={"rows": rows, "plan": plan},
            replace=True,
            wait=wait,
            unique_keys=unique,
            adopt=adopt,
            progress=progress,
        )
    finally:
        if in_data_path and not (adopt and committed and committed.version):
            out.unlink(missing_ok=True)  # not adopted: nothing in the catalog points at it
    journal.remove()
    return committed
