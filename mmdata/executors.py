"""Run one job as n shards: one after another here, as local processes, or as tasks on a Ray cluster.

Every shard is the job's own library function called with ``shard="i/n"`` (crawl, transcribe,
synthesize, ``importing.import_each``): it keeps its own journal under ``store.runs`` and commits into
the store itself, idempotently. What this module adds is the bookkeeping of a whole run: when a
shard's function returns, a row lands in the store's ``_shards`` table (after the shard's own
commit, so a recorded shard is a committed one). A run is named by a hash of the function and the
job's arguments, so the same command run again skips the shards already recorded, whichever
process, machine or driver died in between; a shard that died half way resumes from its journal.

A shard that fails (an error, or a worker process that died) never stops the others: all run to
their end, then one ``ShardsFailed`` names the failed ones. The executors never print or exit;
they report ``("shards", done, total)`` through ``progress``.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from mmdata.errors import InputError, MmdataError, ShardsFailed
from mmdata.extras import import_extra
from mmdata.progress import ProgressCallback, silent
from mmdata.shard import parse_shard
from mmdata.store.lake import Store

EXECUTORS = ("inline", "local", "ray")

# Arguments that change how a job runs, not what it makes: a rerun that changes them is the same run.
_NOT_THE_JOB = frozenset({"store", "shard", "progress", "wait", "checkpoint"})
# Figures of a shard's result that are not counts: summing them over shards means nothing.
_NOT_ADDITIVE = frozenset({"real_time_factor"})

DIED = "its worker process died (killed, or out of memory)"


@dataclass
class ShardedResult:
    """What a sharded run did: the shards it ran, those an earlier run had finished, and their counts."""

    command: str  # the job's function, e.g. "crawl"
    dataset: str | None
    run: str  # the run's id in the _shards table
    shards: int
    ran: list[int] = field(default_factory=list)  # finished by this run
    skipped: list[int] = field(default_factory=list)  # finished by an earlier run: not redone
    versions: list[int] = field(default_factory=list)  # the versions the shards run now made
    totals: dict = field(default_factory=dict)  # the shards' numeric figures summed (those run now)
    message: str = ""

    @property
    def version(self) -> int | None:
        """The latest version this run made, if any."""
        return max(self.versions, default=None)


def run_id(fn: Callable, kwargs: dict) -> str:
    """The stable id of running ``fn`` with ``kwargs``: the function's name, the dataset and the job's
    arguments; not the executor's options, nor ``wait``, ``checkpoint`` or ``progress``."""
    job = {key: value for key, value in kwargs.items() if key not in _NOT_THE_JOB}
    text = json.dumps([_name(fn), job], sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def finished_shards(store: Store, run: str, shards: int) -> dict[int, dict]:
    """The shards of ``run`` (split ``shards`` ways) that have finished: index -> the result recorded."""
    import duckdb

    if not store.exists:
        return {}
    try:
        with store.reader() as con:
            rows = con.execute(
                "SELECT shard, result FROM lake._shards WHERE run = ? AND shards = ? ORDER BY finished_at", [run, shards]
            ).fetchall()
    except duckdb.CatalogException:  # a store no transaction has touched since _shards was added
        return {}
    return {index: json.loads(result) for index, result in rows}


def run_shards(
    fn: Callable,
    store: Store | str | None,
    kwargs: dict,
    *,
    shards: int,
    executor: str = "local",
    workers: int | None = None,
    address: str | None = None,
    gpus_per_shard: float = 0,
    cpus_per_shard: float = 1,
    retries: int = 1,
    progress: ProgressCallback = silent,
) -> ShardedResult:
    """Run ``fn(store=store, **kwargs, shard=f"{i}/{shards}")`` for every shard ``i`` not finished yet.

    ``executor``: ``inline`` (one after another in this process), ``local`` (``workers`` spawned
    processes at once, default one per CPU; with ``gpus_per_shard`` each process sees its own
    GPUs through ``CUDA_VISIBLE_DEVICES``) or ``ray`` (one task per shard asking for
    ``cpus_per_shard`` and ``gpus_per_shard``, on the cluster at ``address``, else the one
    ``RAY_ADDRESS`` names or a new local one). ``retries``: how many times a shard whose worker
    process died (a lost node, the OOM killer) is started again before it counts as failed; it
    resumes from its journal. An error the function raises is not retried (it would fail again).

    Raises ``ShardsFailed`` after every shard has ended if some failed; a bug (an exception that is
    not an ``MmdataError``) in a shard is raised as itself, with a note naming the failed shards.
    """
    if executor not in EXECUTORS:
        raise InputError(f"--executor {executor!r}: choose one of {', '.join(EXECUTORS)}")
    if kwargs.get("shard"):
        raise InputError("--shard i/n runs one shard of a job; --executor local or ray runs all of them: give one or the other")
    _positive(shards=shards, workers=workers)
    if gpus_per_shard < 0 or cpus_per_shard < 0 or retries < 0:
        raise InputError("--gpus-per-shard, --cpus-per-shard and --shard-retries must be at least 0")
    store = Store.of(store)
    kwargs = {key: value for key, value in kwargs.items() if key not in ("store", "shard", "progress")}
    run = run_id(fn, kwargs)
    earlier = finished_shards(store, run, shards)
    todo = [index for index in range(shards) if index not in earlier]
    result = ShardedResult(_name(fn).rpartition(".")[2], kwargs.get("into"), run, shards, skipped=sorted(earlier))
    results: dict[int, dict] = {}
    failures: dict[int, BaseException | str] = {}
    note = f"{len(earlier)} finished earlier, not redone" if earlier else None
    progress("shards", len(earlier), shards, note=note)

    def finished(index: int, summary: dict) -> None:
        results[index] = summary
        progress("shards", len(earlier) + len(results), shards, note=note)

    task = (fn, store, kwargs, run, shards, kwargs.get("wait"))
    if executor == "inline":
        _inline(task, todo, finished, failures)
    elif executor == "local":
        _local(task, todo, workers or min(os.cpu_count() or 1, max(len(todo), 1)), gpus_per_shard, retries, finished, failures)
    else:
        _ray(task, todo, address, cpus_per_shard, gpus_per_shard, retries, finished, failures)

    result.ran = sorted(results)
    combined = _combine([results[i] for i in result.ran])
    result.versions = sorted(set(combined.pop("versions", [])))
    result.totals = combined
    result.message = _message(result)
    if failures:
        raise _failed(result, failures)
    return result


def _name(fn: Callable) -> str:
    return f"{fn.__module__}.{fn.__qualname__}"


def _positive(**values: int | None) -> None:
    for name, value in values.items():
        if value is not None and value < 1:
            raise InputError(f"--{name} must be at least 1, not {value}")


def run_shard(fn: Callable, store: Store, kwargs: dict, run: str, shards: int, wait: float | None, index: int) -> dict:
    """One shard, where it runs (a worker process, a Ray task): the job's function, then its row in
    ``_shards``. The row is written only after the function returned, so only after its commit."""
    shard = f"{index}/{shards}"
    parse_shard(shard)
    summary = _summary(fn(store=store, **kwargs, shard=shard))
    with store.transaction(wait, locks=["_shards"]) as con:  # a team store locks by what changes
        con.execute(
            "INSERT INTO lake._shards VALUES (?, ?, ?, ?, ?)",
            [run, index, shards, datetime.now(UTC).replace(tzinfo=None), json.dumps(summary, default=str)],
        )
    return summary


def _summary(result) -> dict:
    """A shard's result as JSON-ready data: a dataclass's fields, or several results combined."""
    if isinstance(result, list | tuple):
        return _combine([_summary(item) for item in result])
    if dataclasses.is_dataclass(result):
        return dataclasses.asdict(result)
    return dict(result or {})


def _combine(summaries: list[dict]) -> dict:
    """Numeric figures summed (also inside dicts: failures by reason, tokens), the versions made
    gathered under ``versions``; strings and lists (messages, prompt previews) left out."""
    totals: dict = {"versions": []}
    for summary in summaries:
        for key, value in summary.items():
            if key == "version":
                totals["versions"] += [value] if value is not None else []
            elif key == "versions":
                totals["versions"] += list(value or [])
            elif key in _NOT_ADDITIVE or isinstance(value, bool):
                continue
            elif isinstance(value, int | float):
                totals[key] = _add(totals.get(key, 0), value)
            elif isinstance(value, dict) and all(_number(v) for v in value.values()):
                inner = totals.setdefault(key, {})
                for name, count in value.items():
                    inner[name] = _add(inner.get(name, 0), count)
    return totals


def _number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _add(a: float, b: float) -> float:
    total = a + b
    return round(total, 6) if isinstance(total, float) else total


def _message(result: ShardedResult) -> str:
    where = f" into {result.dataset}" if result.dataset else ""
    text = f"{result.command}{where}: {len(result.ran)} of {result.shards} shards run"
    if result.skipped:
        text += f", {len(result.skipped)} finished by an earlier run and not redone"
    figures = ", ".join(f"{key} {value}" for key, value in result.totals.items() if _number(value))
    if figures:
        text += f"; {figures}"
    if result.versions and result.dataset:
        text += " -> " + ", ".join(f"{result.dataset}@{v}" for v in result.versions)
    return text


def _describe(failure: BaseException | str) -> str:
    if isinstance(failure, str):
        return failure
    if isinstance(failure, MmdataError):
        return " ".join(str(failure).split())
    return f"{type(failure).__name__}: {failure}"


def _failed(result: ShardedResult, failures: dict[int, BaseException | str]) -> BaseException:
    """The one error of a run with failed shards: which, why (the first few), and that a rerun resumes."""
    names = ", ".join(f"{i}/{result.shards}" for i in sorted(failures))
    reasons = "; ".join(f"shard {i}/{result.shards}: {_describe(failures[i])}" for i in sorted(failures)[:3])
    done = len(result.ran) + len(result.skipped)
    text = (
        f"{len(failures)} of {result.shards} shards of {result.command} failed ({names}): {reasons}. "
        f"Rerun the same command to resume: the {done} finished shards are not redone"
    )
    bugs = [f for f in failures.values() if isinstance(f, BaseException) and not isinstance(f, MmdataError)]
    if bugs:  # a bug stays a bug (the CLI writes its crash report); the note says what else happened
        bugs[0].add_note(text)
        return bugs[0]
    error = ShardsFailed(text)
    error.result = result
    return error


Task = tuple  # (fn, store, kwargs, run, shards, wait): what every shard of one run shares


def _inline(task: Task, todo: list[int], finished, failures: dict) -> None:
    for index in todo:
        try:
            finished(index, run_shard(*task, index))
        except Exception as exc:  # one shard's error does not stop the others
            failures[index] = exc


def _pin_gpus(devices: str | None) -> None:
    """A local worker's initializer: the GPUs it may use (before any CUDA library is imported)."""
    if devices is not None:
        os.environ["CUDA_VISIBLE_DEVICES"] = devices


def _local(task: Task, todo: list[int], workers: int, gpus: float, retries: int, finished, failures: dict) -> None:
    """``workers`` spawned processes. Each slot is a pool of one process: when a worker dies,
    ProcessPoolExecutor breaks the whole pool and kills its other workers, so one pool for all
    would lose every shard in flight and could not say which one died. Per slot, a death costs only
    that shard (and the slot gets a fresh process)."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait
    from concurrent.futures.process import BrokenProcessPool

    context = multiprocessing.get_context("spawn")  # fork would copy the driver's DuckDB instances and threads
    queue, attempts = list(todo), dict.fromkeys(todo, 0)
    pools: list[ProcessPoolExecutor | None] = [None] * min(workers, max(len(todo), 1))
    running: dict = {}  # future -> (slot, shard)

    def pool(slot: int) -> ProcessPoolExecutor:
        if pools[slot] is None:
            per = int(gpus) if gpus >= 1 else 0
            devices = ",".join(str(slot * per + k) for k in range(per)) if per else None
            pools[slot] = ProcessPoolExecutor(1, mp_context=context, initializer=_pin_gpus, initargs=(devices,))
        return pools[slot]

    try:
        while queue or running:
            busy = {slot for slot, _ in running.values()}
            for slot in range(len(pools)):
                if queue and slot not in busy:
                    index = queue.pop(0)
                    running[pool(slot).submit(run_shard, *task, index)] = (slot, index)
            done, _ = wait(list(running), return_when=FIRST_COMPLETED)
            for future in done:
                slot, index = running.pop(future)
                try:
                    finished(index, future.result())
                except BrokenProcessPool:
                    pools[slot].shutdown(wait=False, cancel_futures=True)
                    pools[slot] = None
                    if attempts[index] < retries:
                        attempts[index] += 1
                        queue.insert(0, index)
                    else:
                        failures[index] = DIED
                except Exception as exc:
                    failures[index] = exc
    finally:
        for each in pools:
            if each is not None:
                each.shutdown(wait=not running, cancel_futures=True)


def _ray(task: Task, todo: list[int], address: str | None, cpus: float, gpus: float, retries: int, finished, failures) -> None:
    """One Ray task per shard. Ray itself restarts a task whose worker died (``max_retries``);
    an exception the job raises is not retried (Ray's default), since it would fail the same way."""
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")  # before ray is imported: no usage reporting
    ray = import_extra("ray", "ray", "--executor ray")
    import logging

    started = not ray.is_initialized()
    if started:
        if address:
            ray.init(address=address, logging_level=logging.WARNING)
        else:  # RAY_ADDRESS when set (a job on a cluster), else a new local cluster
            ray.init(include_dashboard=False, logging_level=logging.WARNING)
    try:
        remote = ray.remote(num_cpus=cpus, num_gpus=gpus, max_retries=retries)(run_shard)
        refs = {remote.remote(*task, index): index for index in todo}
        while refs:
            ready, _ = ray.wait(list(refs), num_returns=1)
            for ref in ready:
                index = refs.pop(ref)
                try:
                    finished(index, ray.get(ref))
                except ray.exceptions.RayTaskError as exc:  # the job raised: its own exception is the cause
                    failures[index] = exc.cause if isinstance(exc.cause, BaseException) else exc
                except ray.exceptions.RayError as exc:  # the worker or its node died, retries spent
                    failures[index] = f"{DIED}: {type(exc).__name__}"
    finally:
        if started:
            ray.shutdown()
