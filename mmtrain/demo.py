"""``mmdata demo``'s last steps: hand the demo mixture to mmtrain, train the tiny random model, chat with it.

mmdata's demo builds the store and the mixture; these steps run after it (``mmtrain.cli.demo_steps``
is the ``mmdata.demo`` entry point), so mmdata needs no import of mmtrain.
"""

from __future__ import annotations

from collections.abc import Iterator

from mmdata.demo_store import DemoStep
from mmdata.store.lake import Store


def steps(store: Store) -> Iterator[DemoStep]:
    """Export ``demo_mix`` for training, train the tiny model 20 steps on it, ask it one question."""
    from mmdata.exporters import export

    out = store.root / "exports" / "demo_mix-mmtrain"
    command = f"mmdata export demo_mix --format mmtrain --out {out}"
    if not out.exists():
        result = export("demo_mix", format="mmtrain", out=out, store=store)
        yield DemoStep(
            "Export the mixture for training",
            command,
            f"{result['records']} records -> {out} (train {result['splits']['train']}, test {result['splits']['test']})",
        )
    else:
        yield DemoStep("Export the mixture for training", command, f"already exported to {out}")
    try:
        import torch  # noqa: F401
        import transformers  # noqa: F401
    except ImportError:
        yield DemoStep(
            "Train the tiny model",
            "mmtrain run --config tiny/finetune ...",
            "skipped: needs the train extra (pip install 'mmdata[train]')",
        )
        return
    from mmtrain.chat import chat
    from mmtrain.run import run
    from mmtrain.tiny import build_tiny_model

    runs = store.root / "runs" / "tiny"
    if not (runs / "base" / "config.json").exists():
        build_tiny_model(runs / "base")
    overrides = [
        f"model.from={runs / 'base'}",
        f"data.mixture={out}",
        f"output_dir={runs / 'finetune'}",
        "model.projectors_from={}",
        "training.max_steps=20",
    ]
    result = run("tiny/finetune", overrides=overrides)
    yield DemoStep(
        "Train the tiny model on the mixture (stage 2, 20 steps, CPU)",
        f"mmtrain build-tiny --out {runs / 'base'} && mmtrain run --config tiny/finetune " + " ".join(overrides),
        f"{result.message}; mmtrain.json traces it to {result.mixture}",
    )
    images = sorted((out / "media").glob("*.png")) + sorted((out / "media").glob("*.jp*g"))
    question = (f"@image:{images[0]} " if images else "") + "What is in this picture?"
    answer = next(chat(runs / "finetune", [question], temperature=0, max_new_tokens=24))
    yield DemoStep(
        "Chat with it (a tiny random model: it has learnt the format, not the world)",
        f'echo "{question}" | mmtrain chat --model {runs / "finetune"}',
        f"model> {answer}",
    )
