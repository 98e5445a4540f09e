"""Trainer callbacks: progress reported through a plain function, lineage written beside every checkpoint."""

from __future__ import annotations

from pathlib import Path

from transformers import TrainerCallback

from mmtrain.lineage import write_lineage
from mmtrain.model.modeling import AUDIO_SUBFOLDER


class ProgressCallback(TrainerCallback):
    """Forwards steps and logged metrics to ``progress(task, done, total, note)`` (the CLI draws it)."""

    def __init__(self, progress):
        self.progress, self.note = progress, None

    def on_step_end(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            self.progress("training", state.global_step, state.max_steps, self.note)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if state.is_world_process_zero and logs:
            shown = {k: v for k, v in logs.items() if k in ("loss", "eval_loss", "learning_rate", "grad_norm")}
            self.note = " ".join(f"{k} {v:.4g}" for k, v in shown.items()) or self.note
            self.progress("training", state.global_step, state.max_steps, self.note)


class LineageCallback(TrainerCallback):
    """Makes every ``checkpoint-N`` folder a complete model folder: processors and ``mmtrain.json`` beside the weights."""

    def __init__(self, lineage: dict, image_processor, feature_extractor):
        self.lineage, self.image_processor, self.feature_extractor = lineage, image_processor, feature_extractor

    def save(self, folder: str | Path, **extra) -> None:
        folder = Path(folder)
        self.image_processor.save_pretrained(str(folder))
        self.feature_extractor.save_pretrained(str(folder / AUDIO_SUBFOLDER))
        write_lineage(folder, self.lineage, **extra)

    def on_save(self, args, state, control, **kwargs):
        if state.is_world_process_zero:
            folder = Path(args.output_dir) / f"checkpoint-{state.global_step}"
            if folder.is_dir():
                self.save(folder, step=state.global_step)
