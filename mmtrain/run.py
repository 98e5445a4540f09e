"""``run``: one training stage from a config, on transformers' Trainer (DeepSpeed when the config names it).

Stage 1 (``align-vision`` / ``align-audio``) trains one projector with the encoders and the LLM
frozen; stage 2 (``finetune``) loads the stage-1 projectors named in its config and trains the
LLM and both projectors. The same code runs on the CPU, one GPU, or many GPUs and nodes under
``torchrun`` / ``deepspeed`` launchers (the Trainer reads the launcher's environment).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from mmtrain import silent
from mmtrain.config import RunConfig, load_config
from mmtrain.errors import ConfigError

Progress = Callable[..., None]  # progress(task, done, total=None, note=None)


@dataclass
class RunResult:
    output_dir: str
    stage: str
    mixture: str | None
    trainable: dict = field(default_factory=dict)  # part -> parameters
    samples: int = 0
    rows: int = 0  # packed rows
    packing_efficiency: float = 0.0
    skipped: list = field(default_factory=list)  # ids over max_length
    no_loss: int = 0
    steps: int = 0
    train_loss: float | None = None
    eval_loss: float | None = None
    seconds: float = 0.0
    tokens_per_second: float = 0.0
    world_size: int = 1
    message: str = ""


def build_model(cfg: RunConfig):
    """``(model, tokenizer, image_processor, feature_extractor)`` for a run: from an mmtrain folder, or
    composed from the LLM / SigLIP / Whisper named in the config; stage-1 projectors loaded on top."""
    from transformers import WhisperFeatureExtractor

    from mmtrain.model.modeling import MmForCausalLM, image_processor_class, load_parts, load_projectors

    if cfg.model.start_from and not (Path(cfg.model.start_from) / "config.json").is_file():
        raise ConfigError(f"{cfg.source}: model.from: {cfg.model.start_from} is not a model folder (no config.json)")
    _check_tokenizer(cfg.model.start_from or cfg.model.llm, f"model.{'from' if cfg.model.start_from else 'llm'}", cfg.source)
    kwargs = {k: v for k, v in (("dtype", cfg.model.dtype), ("attn_implementation", cfg.model.attn_implementation)) if v}
    try:
        if cfg.model.start_from:
            model, tokenizer, images, audio = load_parts(cfg.model.start_from, **kwargs)
        else:
            model, tokenizer = MmForCausalLM.from_components(
                cfg.model.llm, cfg.model.vision, cfg.model.audio, **kwargs, **cfg.model.options
            )
            images = image_processor_class().from_pretrained(cfg.model.vision)
            audio = WhisperFeatureExtractor.from_pretrained(cfg.model.audio)
    except (OSError, ValueError, KeyError) as exc:  # a folder that is not a model, an id that is not cached
        raise ConfigError(f"{cfg.source}: cannot load the model: {' '.join(str(exc).split())[:300]}") from None
    for name, folder in cfg.model.projectors_from.items():
        if not Path(folder).is_dir():
            raise ConfigError(f"{cfg.source}: model.projectors_from.{name}: no folder {folder} (run its stage-1 config first)")
        load_projectors(model, folder, {name})
    return model, tokenizer, images, audio


def _check_tokenizer(folder: str | None, key: str, source: str) -> None:
    """A local folder's tokenizer.json must be one: transformers reports a broken one as a KeyError or
    a bare Exception from the Rust side, far from saying which file is wrong."""
    file = Path(folder) / "tokenizer.json" if folder else None
    if file is None or not file.is_file():
        return
    from tokenizers import Tokenizer

    try:
        Tokenizer.from_file(str(file))
    except Exception as exc:  # the Rust side raises plain Exception for every kind of bad file
        raise ConfigError(f"{source}: {key}: {file} is not a tokenizer ({' '.join(str(exc).split())[:200]})") from None


def _training_arguments(cfg: RunConfig):
    import torch
    from transformers import TrainingArguments

    options = {
        "report_to": "none",
        "disable_tqdm": True,
        "logging_steps": 10,
        "save_strategy": "no",
        "per_device_train_batch_size": 1,
        "per_device_eval_batch_size": 1,
        **cfg.training,
    }
    if not torch.cuda.is_available():
        options.setdefault("use_cpu", True)
    try:
        return TrainingArguments(output_dir=cfg.output_dir, remove_unused_columns=False, label_names=["labels"], **options)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{cfg.source}: training: {' '.join(str(exc).split())[:300]}") from None


def run(config: str | RunConfig, overrides: list[str] | tuple = (), progress: Progress = silent) -> RunResult:
    """Train one stage; the model, its processors and ``mmtrain.json`` (lineage) land in ``output_dir``.

    For example ``run("specs/train/tiny/finetune.yaml", ["training.max_steps=20"])`` trains the tiny
    stage for 20 steps and returns its loss and packing efficiency.
    """
    from transformers import PrinterCallback, Trainer

    from mmtrain.data.dataset import PackedDataset, collate
    from mmtrain.data.records import read_manifest, read_records
    from mmtrain.data.source import mixture_folder
    from mmtrain.lineage import build_lineage
    from mmtrain.model.modeling import set_trainable
    from mmtrain.progress import LineageCallback, ProgressCallback

    cfg = config if isinstance(config, RunConfig) else load_config(config, overrides)
    args = _training_arguments(cfg)
    with args.main_process_first(desc="mixture export"):  # one rank exports a store's mixture, the others read it
        folder = mixture_folder(cfg.data.mixture, cfg.data.store, Path(cfg.output_dir) / "mixture")
    progress("reading mixture", 0, None, str(folder))
    train_records = read_records(folder, "train")
    eval_records = read_records(folder, cfg.data.eval_split) if cfg.data.eval_split else []
    if not train_records:
        raise ConfigError(f"{folder}: train.jsonl holds no records")
    lineage = build_lineage(cfg.to_dict(), read_manifest(folder), folder)

    progress("loading model", 0, None, cfg.model.start_from or cfg.model.llm)
    model, tokenizer, image_processor, feature_extractor = build_model(cfg)
    trainable = set_trainable(model, set(cfg.trainable))
    layout = model.config.media_layout()
    lengths: dict[str, int] = {}
    cache = Path(cfg.output_dir) / "cache"

    def packed(records: list[dict]) -> PackedDataset:
        return PackedDataset(
            records,
            tokenizer,
            image_processor,
            feature_extractor,
            layout,
            max_length=cfg.data.max_length,
            train_on=cfg.data.train_on,
            chat_template=cfg.data.chat_template,
            overlong=cfg.data.overlong,
            audio_lengths=lengths,
            cache_dir=cache,
            progress=progress,
        )

    # One rank tokenizes and measures the audio; the others read its cache.
    with args.main_process_first(desc="tokenizing"):
        train = packed(train_records)
        evaluation = packed(eval_records) if eval_records else None
    if len(train) == 0:
        raise ConfigError(f"{folder}: no training sample fits max_length={cfg.data.max_length} with a reply to learn")

    def collator(rows):
        batch = collate(rows, tokenizer.pad_token_id)
        batch.pop("sample_ids")
        return batch

    keeper = LineageCallback(lineage, image_processor, feature_extractor)
    trainer = Trainer(
        model=model,
        args=args,
        train_dataset=train,
        eval_dataset=evaluation,
        data_collator=collator,
        processing_class=tokenizer,
        callbacks=[ProgressCallback(progress), keeper],
    )
    trainer.remove_callback(PrinterCallback)  # progress goes through the callback, not print()
    start = time.perf_counter()
    output = trainer.train(resume_from_checkpoint=cfg.training.get("resume_from_checkpoint"))
    seconds = time.perf_counter() - start
    result = RunResult(
        cfg.output_dir,
        cfg.stage,
        lineage["mixture"],
        trainable,
        samples=len(train_records),
        rows=len(train),
        packing_efficiency=round(train.efficiency, 4),
        skipped=train.skipped,
        no_loss=len(train.no_loss),
        steps=output.global_step,
        train_loss=output.training_loss,
        seconds=round(seconds, 2),
        world_size=args.world_size,
    )
    if evaluation is not None and len(evaluation):
        result.eval_loss = trainer.evaluate().get("eval_loss")
    rows_seen = output.global_step * args.per_device_train_batch_size * args.gradient_accumulation_steps * args.world_size
    tokens_per_row = sum(train.lengths[i] for b in train.bins for i in b) / len(train)  # real tokens, no padding
    result.tokens_per_second = round(tokens_per_row * rows_seen / seconds, 1) if seconds else 0.0
    trainer.save_model(cfg.output_dir)
    if trainer.is_world_process_zero():
        keeper.save(cfg.output_dir, result=_summary(result))
    result.message = (
        f"{cfg.stage}: {result.steps} steps on {result.rows} packed rows ({result.samples} samples, "
        f"packing {result.packing_efficiency:.0%}), train loss {result.train_loss:.4f}"
        + (f", eval loss {result.eval_loss:.4f}" if result.eval_loss is not None else "")
        + f" -> {cfg.output_dir}"
    )
    return result


def _summary(result: RunResult) -> dict:
    return {
        k: getattr(result, k)
        for k in (
            "steps",
            "train_loss",
            "eval_loss",
            "samples",
            "rows",
            "packing_efficiency",
            "seconds",
            "tokens_per_second",
            "world_size",
        )
    } | {"skipped": len(result.skipped)}
