"""Run the Scrapy child process and stream its events back to the parent, one dict at a time."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

from mmdata.errors import MmdataError


class CrawlFailed(MmdataError):
    """The Scrapy child process died without finishing the crawl."""


def run_spider(config: dict, workdir: Path, poll: float = 0.05) -> Iterator[dict]:
    """Start the spider on ``config`` in a child process and yield its events as they arrive.

    The events file is fresh for each run (named by the parent's pid, so a child orphaned by an
    earlier killed parent can never write into ours). Closing the generator early (Ctrl-C in the
    parent, an error) stops the child: SIGINT first, Scrapy's own clean shutdown, then SIGKILL."""
    workdir.mkdir(parents=True, exist_ok=True)
    events = workdir / f"events-{os.getpid()}.jsonl"
    events.write_text("", encoding="utf-8")
    config = {**config, "events": str(events), "workdir": str(workdir), "parent_pid": os.getpid()}
    config_path = workdir / "spider.json"
    config_path.write_text(json.dumps(config), encoding="utf-8")
    stderr = open(workdir / "spider-stderr.log", "wb")  # noqa: SIM115 (the child's, closed below)
    # Its own session: a Ctrl-C in the terminal reaches only the parent, which stops the child itself.
    child = subprocess.Popen(
        [sys.executable, "-m", "mmdata.crawl.pages.spider", str(config_path)],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=stderr,
        start_new_session=True,
    )
    finished = False
    try:
        with open(events, encoding="utf-8") as fh:
            buffer = ""
            while True:
                chunk = fh.readline()
                if chunk:
                    buffer += chunk
                    if not buffer.endswith("\n"):
                        continue  # half a line: the child is still writing it
                    event, buffer = json.loads(buffer), ""
                    if event.get("kind") == "end":
                        finished = True
                        continue
                    yield event
                    continue
                if child.poll() is not None:
                    rest = fh.read()
                    if not rest:
                        break
                    buffer += rest
                    for line in buffer.splitlines():
                        event = json.loads(line)
                        if event.get("kind") == "end":
                            finished = True
                        else:
                            yield event
                    break
                time.sleep(poll)
        if child.wait() != 0 or not finished:
            tail = (workdir / "spider-stderr.log").read_text(encoding="utf-8", errors="replace")[-2000:]
            raise CrawlFailed(f"the crawler stopped with exit code {child.returncode}: {tail.strip() or 'see ' + str(workdir)}")
    finally:
        _stop(child)
        stderr.close()
        events.unlink(missing_ok=True)


def _stop(child: subprocess.Popen) -> None:
    if child.poll() is not None:
        return
    child.send_signal(signal.SIGINT)  # Scrapy closes the spider cleanly on the first SIGINT
    try:
        child.wait(timeout=10)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
