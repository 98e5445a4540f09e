"""One resumable job: the bookkeeping that crawl, transcribe and synthesize share.

A job turns items into records of one kind in one dataset. Every item has a stable key (crawl:
yt-dlp's archive key, transcribe: the audio's media id, synthesize: the item id), and the job's
whole state is its journal ``runs/<command>-<dataset>[-shard-i-of-n]/``: records, media and
failures as JSONL, and the keys finished, one a line, in its marker file. A command supplies
the items and a worker that turns one item into an ``Outcome``; the job does the rest: the
shard's share, what earlier runs finished, journaling outcomes, the failure tally, a commit
every ``checkpoint`` items and the last one.

Commits are idempotent (``commit_staged`` upserts by key and skips known rejects), so the same
journal may be committed any number of times: that is what makes kill-and-resume safe, and what
a runner spreading the items of one job over many machines can rely on. Workers are plain
functions of one item returning data (``Made`` / ``Failed``), so such a runner only has to move
items out and outcomes back; ``settle`` and ``commit`` stay here.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from mmdata.shard import in_shard, parse_shard
from mmdata.store.journal import JobJournal
from mmdata.store.lake import Store
from mmdata.store.versions import Lineage, check_name
from mmdata.tally import RejectTally

Item = TypeVar("Item")


@dataclass
class Made:
    """An item's records (none: its work showed it is filtered out) and the stored media they use."""

    records: list[dict] = field(default_factory=list)
    media: list[dict] = field(default_factory=list)  # MediaInfo.row() of each file the records name
    stats: dict[str, float] = field(default_factory=dict)  # figures the command adds up (audio seconds)


@dataclass
class Failed:
    """Why an item failed; it joins the dataset's rejects at the next commit."""

    reason: str  # the reject rule, e.g. "not-found"
    message: str
    record: dict  # what the reject keeps of the item
    file: str  # where the item came from: a URL, a dataset version
    field_path: str = "$"
    line: int | None = None
    retry: bool = False  # not marked done, so the next run tries it again (crawl: network faults pass)
    stats: dict[str, float] = field(default_factory=dict)


Outcome = Made | Failed


class Job:
    """The bookkeeping of one job; see the module's docstring.

    Use: ``Job(...)`` (checks the name and ``--shard``, touches nothing), ``mine(key)`` while
    listing items, ``start(lineage, counts)`` (opens the journal), ``pending(items, key)``, then
    ``run`` or ``run_async`` with the worker, then ``commit()`` once more at the end.
    """

    def __init__(
        self,
        store: Store,
        command: str,
        dataset: str,
        record_kind: str,
        *,
        shard: str | None = None,
        checkpoint: int = 0,
        wait: float | None = None,
        marker: str = "done.txt",
    ):
        check_name(dataset)
        self.store, self.command, self.dataset, self.record_kind = store, command, dataset, record_kind
        self.shard = parse_shard(shard)
        self.checkpoint, self.wait = checkpoint, wait
        self.marker = marker  # crawl keeps yt-dlp's archive.txt, so an archive from yt-dlp itself reads the same
        self.failures = RejectTally()
        self.finished = 0  # items this run finished (made or failed for good)
        self.version: int | None = None  # the last version this run committed
        self.journal: JobJournal | None = None
        self.done: set[str] = set()
        self._lineage: Lineage | None = None
        self._counts: Callable[[], dict] = dict

    def mine(self, key: str) -> bool:
        """Whether the item ``key`` is this shard's."""
        return in_shard(key, self.shard)

    def start(self, lineage: Lineage, counts: Callable[[], dict]) -> None:
        """Open the journal and read what earlier runs finished. ``counts`` gives the figures each
        version's lineage records (they differ by command)."""
        self._lineage, self._counts = lineage, counts
        self.journal = JobJournal.for_job(self.store.runs, self.command, self.dataset, self.shard)
        self.done = set(self.journal.lines(self.marker))

    def pending(self, items: Iterable[Item], key: Callable[[Item], str]) -> list[Item]:
        """``items`` that no run has finished."""
        return [item for item in items if key(item) not in self.done]

    def fail(self, failed: Failed) -> None:
        """Record a failure (an item's, or one that happened before there were items: a listing)."""
        self.journal.fail(
            failed.file, failed.reason, failed.message, failed.record, field_path=failed.field_path, line=failed.line
        )
        self.failures.add({"rule": failed.reason})

    def settle(self, key: str, outcome: Outcome) -> bool:
        """Journal one item's outcome; whether a checkpoint commit is now due."""
        if isinstance(outcome, Failed):
            self.fail(outcome)
            if outcome.retry:
                return False
        else:
            for row in outcome.media:
                self.journal.append("media.jsonl", row)
            for record in outcome.records:
                self.journal.append("records.jsonl", record)
        self.journal.append(self.marker, key)  # last: an item killed before this line is done again, not lost
        self.done.add(key)
        self.finished += 1
        return bool(self.checkpoint) and self.finished % self.checkpoint == 0

    def commit(self) -> int | None:
        """Commit everything journaled so far (idempotent); the latest version this run made."""
        committed = self.journal.commit(self.store, self.dataset, self.record_kind, self._lineage, self._counts(), self.wait)
        self.version = committed.version or self.version
        return self.version

    def run(
        self,
        items: list[Item],
        key: Callable[[Item], str],
        work: Callable[[Item], Outcome],
        report: Callable[[Item, Outcome], None] | None = None,
    ) -> None:
        """Work through ``items`` in order; ``report`` is told of each outcome (progress)."""
        for item in items:
            outcome = work(item)
            due = self.settle(key(item), outcome)
            if report:
                report(item, outcome)
            if due:
                self.commit()

    async def run_async(
        self,
        items: list[Item],
        key: Callable[[Item], str],
        work: Callable[[Item], Awaitable[Outcome]],
        concurrency: int,
        report: Callable[[Item, Outcome], None] | None = None,
    ) -> None:
        """``run`` with ``concurrency`` workers and no batch barriers: each takes the next item the
        moment it is free, so one slow item holds only its own slot. An exception from ``work``
        stops every worker and comes out here; what was settled stays journaled."""
        queue = iter(items)

        async def worker() -> None:
            for item in queue:
                outcome = await work(item)
                due = self.settle(key(item), outcome)
                if report:
                    report(item, outcome)
                if due:
                    await asyncio.to_thread(self.commit)  # a commit takes seconds; the other workers go on

        workers = [asyncio.create_task(worker()) for _ in range(min(concurrency, max(len(items), 1)))]
        try:
            await asyncio.gather(*workers)
        finally:
            for task in workers:
                task.cancel()

    def summary(self, text: str) -> str:
        """The job's closing message: ``text`` and the version it made, if any."""
        return text + (f" -> {self.dataset}@{self.version}" if self.version else "")
