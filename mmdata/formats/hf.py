"""``hf``: a Hugging Face dataset saved with ``save_to_disk`` (or its Parquet files), rows in any layout we read.

Rows are read with pyarrow; ``Image`` / ``Audio`` columns carry the media bytes, which are stored
without decoding through ``datasets``. Each row is converted by its own layout (ours, sharegpt, LLaVA, ...).
"""

from __future__ import annotations

from pathlib import Path

from mmdata.formats.base import FormatError
from mmdata.formats.containers import first_row, input_files, is_hf_disk, rows_of
from mmdata.formats.format import ImportFormat, LayoutOf, Reading, converted
from mmdata.formats.native import record_kind


def _claims(path: Path, layout_of: LayoutOf) -> bool:
    return is_hf_disk(path) and layout_of(first_row(path)) is not None


def _open(path: Path, layout_of: LayoutOf) -> Reading:
    def by_layout(obj: dict) -> dict:
        layout = layout_of(obj)
        if layout is None:
            raise FormatError("$", "record matches no known format")
        return layout.convert(obj)

    return Reading(record_kind(path, layout_of), converted(rows_of(path), by_layout), input_files(path))


FORMAT = ImportFormat(
    name="hf",
    reads="a Hugging Face dataset saved with `save_to_disk` (or Parquet) whose rows are ours, sharegpt or LLaVA shaped",
    open=_open,
    claims=_claims,
)
