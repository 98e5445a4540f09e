"""Talking to an OpenAI-compatible endpoint: cache, rate limits, retries with backoff, and when to give up."""

from __future__ import annotations

import asyncio
import hashlib
import json
import random
import sqlite3
import time
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from mmdata.errors import MmdataError


class ItemFailed(Exception):
    """One item could not be made; ``reason`` is the reject rule, ``raw`` the last answer seen."""

    def __init__(self, reason: str, message: str, raw: str | None = None):
        super().__init__(message)
        self.reason, self.raw = reason, raw


class EndpointDown(MmdataError):
    """The endpoint answered nothing useful for too long: stop the run, keep what was made."""


@dataclass
class Reply:
    content: str
    prompt_tokens: int
    completion_tokens: int
    latency_s: float
    attempts: int
    cached: bool
    key: str = ""


class RequestCache:
    """Answers already received, keyed by (model, messages, parameters): paid once, reused on re-runs."""

    def __init__(self, path: Path):
        path.parent.mkdir(parents=True, exist_ok=True)
        # Shards in other processes open the same cache at the same moment: wait for each other's
        # locks, and retry the switch to WAL, which SQLite refuses at once (no busy wait) while
        # another connection is opening.
        self.db = sqlite3.connect(path, isolation_level=None, check_same_thread=False, timeout=60)
        for attempt in range(100):
            try:
                self.db.execute("PRAGMA journal_mode=WAL")
                break
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) or attempt == 99:
                    raise
                time.sleep(0.1)
        self.db.execute("PRAGMA synchronous=NORMAL")  # survives a killed process; fsync per answer would cap throughput
        self.db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, reply TEXT)")

    @staticmethod
    def key(model: str, messages: list, params: dict) -> str:
        text = json.dumps([model, messages, params], sort_keys=True, ensure_ascii=False)
        return hashlib.sha256(text.encode()).hexdigest()

    def get(self, key: str) -> dict | None:
        row = self.db.execute("SELECT reply FROM replies WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else None

    def put(self, key: str, reply: dict) -> None:
        self.db.execute("INSERT OR REPLACE INTO replies VALUES (?, ?)", [key, json.dumps(reply)])

    def delete(self, key: str) -> None:
        self.db.execute("DELETE FROM replies WHERE key = ?", [key])

    def close(self) -> None:
        self.db.close()


class RateLimiter:
    """Requests per minute (evenly spaced) and tokens per minute (a sliding one-minute window)."""

    def __init__(self, rpm: int | None, tpm: int | None, window: float = 60.0):
        self.interval = 60.0 / rpm if rpm else 0.0
        self.tpm, self.window = tpm, window
        self.next_slot = 0.0
        self.spent: deque[tuple[float, int]] = deque()

    async def acquire(self) -> None:
        if self.interval:
            now = time.monotonic()
            slot = max(now, self.next_slot)
            self.next_slot = slot + self.interval
            if slot > now:
                await asyncio.sleep(slot - now)
        while self.tpm:
            now = time.monotonic()
            while self.spent and now - self.spent[0][0] > self.window:
                self.spent.popleft()
            if sum(tokens for _, tokens in self.spent) < self.tpm:
                return
            await asyncio.sleep(self.window - (now - self.spent[0][0]) + 0.01)

    def charge(self, tokens: int) -> None:
        if self.tpm:
            self.spent.append((time.monotonic(), tokens))


@dataclass
class Stats:
    sent: int = 0
    cached: int = 0
    retries: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    errors: dict = field(default_factory=dict)


class Endpoint:
    """An OpenAI-compatible chat endpoint, used through the ``openai`` client with our own retries.

    Retried with exponential backoff and jitter (429 honours Retry-After): 408/409/429/5xx,
    timeouts, connection errors, empty answers and truncated ones (``finish_reason: length``).
    Other 4xx fail the item at once. With no success for ``give_up_after`` seconds while
    requests keep failing, ``EndpointDown`` stops the run.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None,
        cache: RequestCache,
        concurrency: int = 16,
        rpm: int | None = None,
        tpm: int | None = None,
        timeout: float = 120.0,
        max_attempts: int = 6,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        give_up_after: float = 300.0,
    ):
        from openai import AsyncOpenAI

        self.client = AsyncOpenAI(base_url=base_url, api_key=api_key or "not-needed", max_retries=0, timeout=timeout)
        self.host = urlparse(base_url).netloc or base_url  # lineage keeps the host, never a key
        self.model, self.cache = model, cache
        self.slots = asyncio.Semaphore(concurrency)
        self.limiter = RateLimiter(rpm, tpm)
        self.max_attempts, self.backoff, self.max_backoff = max_attempts, backoff, max_backoff
        self.give_up_after = give_up_after
        self.last_success = time.monotonic()
        self.stats = Stats()

    async def close(self) -> None:
        await self.client.close()

    def _error(self, kind: str) -> None:
        self.stats.errors[kind] = self.stats.errors.get(kind, 0) + 1

    def _check_alive(self, last_error: str) -> None:
        if time.monotonic() - self.last_success > self.give_up_after:
            raise EndpointDown(
                f"the endpoint {self.host} gave no usable answer for {self.give_up_after:g} s "
                f"(last error: {last_error}); stopped, everything made so far is kept — rerun to resume"
            )

    def forget(self, reply: Reply) -> None:
        """Drop an answer we could not use, so a later run asks again instead of reusing it."""
        self.cache.delete(reply.key)

    async def chat(self, messages: list, sampling: dict, seed: int) -> Reply:
        """One answer for ``messages`` (from the cache when this exact request was answered before)."""
        import openai

        params = {**sampling, "seed": seed}
        key = RequestCache.key(self.model, messages, params)
        hit = self.cache.get(key)
        if hit is not None:
            self.stats.cached += 1
            return Reply(hit["content"], hit["prompt_tokens"], hit["completion_tokens"], hit["latency_s"], 0, True, key)
        extra = {"top_k": params.pop("top_k")} if "top_k" in params else None
        last_error = "none"
        for attempt in range(1, self.max_attempts + 1):
            retry_after = None
            async with self.slots:
                await self.limiter.acquire()
                started = time.monotonic()
                self.stats.sent += 1
                try:
                    response = await self.client.chat.completions.create(
                        model=self.model, messages=messages, extra_body=extra, **params
                    )
                    choice = response.choices[0] if response.choices else None
                    content = (choice.message.content or "") if choice else ""
                    usage = response.usage
                    tokens = (usage.prompt_tokens, usage.completion_tokens) if usage else (0, 0)
                    self.limiter.charge(sum(tokens))
                    if choice is not None and choice.finish_reason == "length":
                        last_error = "truncated answer (finish_reason: length)"
                        self._error("truncated")
                    elif not content.strip():
                        last_error = "empty answer"
                        self._error("empty")
                    else:
                        self.last_success = time.monotonic()
                        reply = {
                            "content": content,
                            "prompt_tokens": tokens[0],
                            "completion_tokens": tokens[1],
                            "latency_s": round(self.last_success - started, 3),
                        }
                        self.cache.put(key, reply)
                        self.stats.prompt_tokens += tokens[0]
                        self.stats.completion_tokens += tokens[1]
                        return Reply(content, tokens[0], tokens[1], reply["latency_s"], attempt, False, key)
                except openai.RateLimitError as exc:
                    last_error, retry_after = "429 rate limited", _retry_after(exc)
                    self._error("429")
                except openai.APITimeoutError:
                    last_error = "timeout"
                    self._error("timeout")
                except openai.APIConnectionError as exc:
                    last_error = f"connection error ({exc.__cause__ or exc})"
                    self._error("connection")
                except openai.APIStatusError as exc:
                    if exc.status_code in (408, 409) or exc.status_code >= 500:
                        last_error = f"HTTP {exc.status_code}"
                        self._error(str(exc.status_code))
                    elif exc.status_code in (401, 403, 404):
                        raise EndpointDown(
                            f"the endpoint {self.host} refused the request (HTTP {exc.status_code}: "
                            f"{exc.message}); check --endpoint, --model and the API key"
                        ) from None
                    else:
                        raise ItemFailed(f"http-{exc.status_code}", exc.message) from None
            self._check_alive(last_error)
            if attempt < self.max_attempts:
                self.stats.retries += 1
                delay = min(self.max_backoff, self.backoff * 2 ** (attempt - 1)) * random.uniform(0.5, 1.5)
                await asyncio.sleep(max(delay, retry_after or 0))
        raise ItemFailed("endpoint-error", f"gave up after {self.max_attempts} attempts: {last_error}")


def _retry_after(exc) -> float | None:
    try:
        return float(exc.response.headers.get("retry-after"))
    except (AttributeError, TypeError, ValueError):
        return None
