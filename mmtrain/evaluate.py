"""``evaluate``: loss and perplexity of a model on a mixture's test split, per kind and language,
plus a few sample generations, written to a report (JSON and Markdown)."""

from __future__ import annotations

import json
import math
import tempfile
from dataclasses import asdict, dataclass, field
from pathlib import Path

from mmtrain import silent
from mmtrain.errors import ConfigError
from mmtrain.tokens import AUDIO, IMAGE


@dataclass
class EvalResult:
    model: str
    mixture: str | None
    split: str
    records: int = 0
    tokens: int = 0
    loss: float | None = None
    perplexity: float | None = None
    by_kind: list = field(default_factory=list)  # {value, records, tokens, loss, perplexity}
    by_language: list = field(default_factory=list)
    samples: list = field(default_factory=list)  # {id, prompt, reference, generated}
    skipped: list = field(default_factory=list)
    report: str | None = None
    message: str = ""


def _per_sample_losses(model, row: dict, device) -> dict[str, tuple[float, int]]:
    """Summed token loss and token count of every sample in one packed row."""
    import torch

    inputs = {
        k: v.unsqueeze(0).to(device) if k in ("input_ids", "position_ids") else v.to(device)
        for k, v in row.items()
        if k not in ("labels", "sample_ids")
    }
    with torch.no_grad():
        logits = model(**inputs, use_cache=False).logits[0, :-1].float()
    targets = row["labels"][1:].to(device)
    losses = torch.nn.functional.cross_entropy(logits, targets.clamp(min=0), reduction="none") * (targets >= 0)
    sample = (row["position_ids"] == 0).long().cumsum(0)[1:].to(device) - 1  # the sample each target belongs to
    out = {}
    for index, sample_id in enumerate(row["sample_ids"]):
        mine = sample == index
        out[sample_id] = (float(losses[mine].sum()), int(((targets >= 0) & mine).sum()))
    return out


def _groups(records, losses, key) -> list[dict]:
    groups: dict[str, list] = {}
    for rec in records:
        if rec.id in losses:
            groups.setdefault(getattr(rec, key), []).append(losses[rec.id])
    return [_summary(value, parts) for value, parts in sorted(groups.items())]


def _summary(value, parts) -> dict:
    total, tokens = sum(p[0] for p in parts), sum(p[1] for p in parts)
    loss = total / tokens if tokens else None
    return {
        "value": value,
        "records": len(parts),
        "tokens": tokens,
        "loss": round(loss, 4) if loss is not None else None,
        "perplexity": round(math.exp(min(loss, 50)), 3) if loss is not None else None,
    }


def evaluate(
    model_dir: str | Path,
    data: str,
    store: str | None = None,
    split: str = "test",
    samples: int = 3,
    out: str | Path | None = None,
    max_length: int = 8192,
    max_new_tokens: int = 64,
    device: str | None = None,
    progress=silent,
) -> EvalResult:
    """Loss / perplexity on ``split`` of ``data`` (a store's NAME[@V] or an export folder), per kind and
    language (token-weighted), and ``samples`` generations against the reference answers.
    The report goes to ``out`` (default: ``<model_dir>/eval``) as ``report.json`` and ``report.md``.

    For example ``evaluate("runs/qwen2-0.5b/finetune", "stage2@3").by_language`` gives the loss and
    perplexity of the English and the Malay turns.
    """
    from mmtrain.chat import ChatModel, Conversation
    from mmtrain.data.dataset import PackedDataset
    from mmtrain.data.records import read_manifest, read_records
    from mmtrain.data.source import mixture_folder

    for option, value, least in (
        ("--samples", samples, 0),
        ("--max-length", max_length, 1),
        ("max_new_tokens", max_new_tokens, 1),
    ):
        if not value >= least:
            raise ConfigError(f"{option} must be at least {least}, not {value}")
    out = Path(out) if out else Path(model_dir) / "eval"
    chat = ChatModel(model_dir, device)
    with tempfile.TemporaryDirectory() as cache:
        folder = mixture_folder(data, store, cache)
        records = read_records(folder, split)
        manifest = read_manifest(folder)
        if not records:
            raise ConfigError(f"{folder}: {split}.jsonl holds no records to evaluate")
        dataset = PackedDataset(
            records, chat.tokenizer, chat.image_processor, chat.feature_extractor, chat.layout, max_length=max_length
        )
        losses: dict[str, tuple[float, int]] = {}
        for index in range(len(dataset)):
            losses.update(_per_sample_losses(chat.model, dataset[index], chat.device))
            progress("evaluating", index + 1, len(dataset))
        result = EvalResult(str(model_dir), manifest.get("ref"), split, records=len(losses), skipped=dataset.skipped)
        overall = _summary("all", list(losses.values()))
        result.tokens, result.loss, result.perplexity = overall["tokens"], overall["loss"], overall["perplexity"]
        result.by_kind, result.by_language = _groups(records, losses, "kind"), _groups(records, losses, "language")
        for n, rec in enumerate(records[:samples]):
            last = max(i for i, m in enumerate(rec.messages) if m["role"] == "assistant")
            prompt = rec.messages[:last]
            conversation = Conversation(prompt, rec.images[: _count(prompt, IMAGE)], rec.audios[: _count(prompt, AUDIO)])
            generated = chat.reply(conversation, max_new_tokens=max_new_tokens, temperature=0)
            result.samples.append(
                {
                    "id": rec.id,
                    "prompt": prompt[-1]["content"],
                    "reference": rec.messages[last]["content"],
                    "generated": generated,
                }
            )
            progress("generating", n + 1, min(samples, len(records)))
    out.mkdir(parents=True, exist_ok=True)
    result.report = str(out / "report.json")
    (out / "report.json").write_text(json.dumps(asdict(result), indent=2, ensure_ascii=False) + "\n")
    (out / "report.md").write_text(_markdown(result))
    result.message = (
        f"{result.records} {split} records, {result.tokens} tokens: loss {result.loss}, perplexity {result.perplexity} -> {out}"
    )
    return result


def _count(messages, placeholder: str) -> int:
    return sum(m["content"].count(placeholder) for m in messages)


def _markdown(result: EvalResult) -> str:
    lines = [
        f"# Evaluation of {result.model}",
        "",
        f"Data: {result.mixture} ({result.split} split), {result.records} records, {result.tokens} scored tokens.",
        "",
        f"Loss **{result.loss}**, perplexity **{result.perplexity}**.",
        "",
    ]
    for title, rows in (("By kind", result.by_kind), ("By language", result.by_language)):
        lines += [f"## {title}", "", "| value | records | tokens | loss | perplexity |", "|---|---|---|---|---|"]
        lines += [f"| {r['value']} | {r['records']} | {r['tokens']} | {r['loss']} | {r['perplexity']} |" for r in rows]
        lines.append("")
    lines += ["## Sample generations", ""]
    for s in result.samples:
        lines += [
            f"**{s['id']}** — prompt: {s['prompt']}",
            "",
            f"- reference: {s['reference']}",
            f"- generated: {s['generated']}",
            "",
        ]
    return "\n".join(lines)
