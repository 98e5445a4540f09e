import json

import pytest
from typer.testing import CliRunner

from mmtrain.chat import chat, parse_turn
from mmtrain.cli import app as train_app
from mmtrain.errors import DataError


def test_packed_row_gives_each_sample_the_loss_it_has_alone(tiny_dir, mixture_dir):
    from mmtrain.data.dataset import PackedDataset
    from mmtrain.data.records import read_records
    from mmtrain.evaluate import _per_sample_losses
    from mmtrain.model.modeling import load_parts

    model, tokenizer, images, audio = load_parts(tiny_dir)
    records = read_records(mixture_dir, "train")[:3]  # multi (2 images, 2 clips), text, long (3 audio windows)
    packed = PackedDataset(records, tokenizer, images, audio, model.config.media_layout(), max_length=4096)
    assert len(packed) == 1
    together = _per_sample_losses(model, packed[0], "cpu")
    for record in records:
        alone = PackedDataset([record], tokenizer, images, audio, model.config.media_layout(), max_length=4096)
        ((loss, tokens),) = _per_sample_losses(model, alone[0], "cpu").values()
        assert together[record.id][1] == tokens > 0
        assert together[record.id][0] == pytest.approx(loss, rel=1e-4, abs=1e-4)


def test_parse_turn_places_media_where_they_stand(mixture_dir):
    text, images, audios = parse_turn(
        f"compare @image:{mixture_dir}/media/red.png and @audio:{mixture_dir}/media/three.wav please"
    )
    assert text == "compare <image> and <audio> please"
    assert images == [f"{mixture_dir}/media/red.png"] and audios == [f"{mixture_dir}/media/three.wav"]
    with pytest.raises(DataError, match="no such image file"):
        parse_turn("@image:/nowhere.png hi")


def test_chat_keeps_the_conversation_and_its_media(tiny_dir, mixture_dir):
    lines = [f"@image:{mixture_dir}/media/red.png What colour?", f"And @audio:{mixture_dir}/media/long.ogg this?", "", "Thanks"]
    answers = list(chat(tiny_dir, lines, temperature=0, max_new_tokens=4))
    assert len(answers) == 3 and all(isinstance(a, str) for a in answers)


def test_cli_chat_eval_and_errors(tiny_dir, mixture_dir, tmp_path):
    runner = CliRunner()
    result = runner.invoke(
        train_app,
        ["chat", "--model", str(tiny_dir), "--temperature", "0", "--max-new-tokens", "3"],
        input=f"@image:{mixture_dir}/media/blue.png hello\n/exit\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("model>") == 1
    result = runner.invoke(
        train_app,
        ["eval", "--model", str(tiny_dir), "--data", str(mixture_dir), "--samples", "1", "--out", str(tmp_path / "ev"), "--json"],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.output)
    assert report["records"] == 2 and {r["value"] for r in report["by_language"]} == {"en", "ms"}
    assert sum(r["tokens"] for r in report["by_kind"]) == report["tokens"] > 0
    assert json.loads((tmp_path / "ev" / "report.json").read_text())["perplexity"] == report["perplexity"]
    result = runner.invoke(train_app, ["chat", "--model", str(tmp_path)], input="hi\n")
    assert result.exit_code == 1 and "not a model folder" in result.output and "Traceback" not in result.output
    result = runner.invoke(train_app, ["run", "--config", "tiny/finetune", "traning.x=1"])
    assert result.exit_code == 1 and "unknown key 'traning'" in result.output


def test_cli_run_and_build_tiny(mixture_dir, tmp_path):
    runner = CliRunner()
    result = runner.invoke(train_app, ["build-tiny", "--out", str(tmp_path / "base"), "--family", "llama"])
    assert result.exit_code == 0, result.output
    result = runner.invoke(
        train_app,
        [
            "run",
            "--config",
            "tiny/align-audio",
            f"model.from={tmp_path / 'base'}",
            f"data.mixture={mixture_dir}",
            f"output_dir={tmp_path / 'out'}",
            "training.max_steps=2",
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["steps"] == 2
    assert json.loads((tmp_path / "out" / "config.json").read_text())["text_config"]["model_type"] == "llama"


def test_the_deepspeed_launchers_local_rank_argument_is_dropped(tmp_path, monkeypatch):
    from mmtrain.cli import main as train_main

    # `deepspeed --module mmtrain run ...` runs `python -m mmtrain --local_rank=0 run ...`
    monkeypatch.setattr("sys.argv", ["mmtrain", "--local_rank=0", "build-tiny", "--out", str(tmp_path / "t")])
    with pytest.raises(SystemExit) as done:
        train_main()
    assert done.value.code == 0 and (tmp_path / "t" / "config.json").exists()


def test_without_the_train_extra_every_command_says_what_to_install(monkeypatch):
    import sys

    from typer.testing import CliRunner

    monkeypatch.setitem(sys.modules, "transformers", None)  # what an import finds when the package is missing
    for args in (["run", "--config", "tiny/finetune"], ["build-tiny", "--out", "x"]):
        result = CliRunner().invoke(train_app, args)
        assert result.exit_code == 1, result.output
        assert "pip install 'mmdata[train]'" in result.output and "Traceback" not in result.output
