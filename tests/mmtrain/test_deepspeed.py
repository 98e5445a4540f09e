"""Two CPU ranks under DeepSpeed ZeRO-2 with CPU optimizer offload: the shipped DeepSpeed config, launched by torchrun.

The first run JIT-compiles DeepSpeed's CPU Adam and shared-memory ops (about 1.5 minutes on two
cores, then cached in $TORCH_EXTENSIONS_DIR); later runs take about 15 s.
"""

import json
import os
import subprocess
import sys

import pytest

pytest.importorskip("deepspeed")


@pytest.mark.slow
def test_two_rank_zero2_offload_run_on_the_cpu(tiny_dir, mixture_dir, tmp_path):
    from safetensors.torch import load_file

    out = tmp_path / "ds"
    command = [
        sys.executable,
        "-m",
        "torch.distributed.run",
        "--nproc_per_node",
        "2",
        "-m",
        "mmtrain",
        "run",
        "--config",
        "tiny/finetune",
        f"model.from={tiny_dir}",
        f"data.mixture={mixture_dir}",
        f"output_dir={out}",
        "model.projectors_from={}",
        "training.max_steps=3",
        "training.deepspeed=../deepspeed/zero2-offload.json",
        "--json",
    ]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, timeout=900, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    lineage = json.loads((out / "mmtrain.json").read_text())
    assert lineage["result"]["world_size"] == 2 and lineage["result"]["steps"] == 3
    assert lineage["config"]["training"]["deepspeed"].endswith("zero2-offload.json")
    before, after = load_file(str(tiny_dir / "model.safetensors")), load_file(str(out / "model.safetensors"))
    changed = {k.split(".")[0] for k in before if not (before[k] == after[k]).all()}
    assert changed == {"language_model", "vision_projector", "audio_projector"}  # encoders frozen
