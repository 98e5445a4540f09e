from typer.testing import CliRunner

from mmdata.cli import app


def test_demo_runs_end_to_end_and_again(tmp_path):
    runner = CliRunner()
    first = runner.invoke(app, ["--store", str(tmp_path / "demo"), "demo"])
    assert first.exit_code == 0, first.output
    for expected in (
        "audio_chat@1: 2 imported, 1 rejected",
        "content-ms-null",
        "content-ms-ui-text",
        "audio_chat@2",
        "changed",
        "crawled: 3 downloaded",
        # the bundled pages crawled on loopback into image records, then template conversations
        "pages: 4 images from 5 pages",
        "Nasi Lemak Sambal Bilis",
        "pages_chat: 4 items -> 4 conversations from templates",
        "Ini ialah Nasi Lemak Sambal Bilis.",  # the answer is fixed; the question is drawn from the template
        "Picture 1:",
        "demo_mix@1",
        "audio_chat@stable -> audio_chat@2",
        "records ->",
        "browse audio_chat@stable",
    ):
        assert expected in first.output, expected
    # the hand-off to mmtrain: the mixture exported, the tiny model trained on it, a chat turn
    output = " ".join(first.output.split())
    assert "(train 8, test 2)" in output and "finetune: 20 steps" in output and "traces it to demo_mix@1" in output
    assert "model> " in output
    second = runner.invoke(app, ["--store", str(tmp_path / "demo"), "demo"])
    assert second.exit_code == 0 and "already imported" in second.output
    assert "pages: 0 images from" in second.output  # the pages are done (or, on another port, their pictures known)
