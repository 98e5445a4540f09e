"""Quality signals of a pseudo-label, and the default filter that decides which ones are worth using.

The bounds, and why:
- ``min_words`` 10: shorter chunks give the synthesis step too little context to ask about
  (the reference kept >= 70 words per 30 s chunk; VAD chunks are often shorter, so we count
  words per chunk and leave longer minimums to the query).
- ``max_compression_ratio`` 2.4: Whisper's own threshold for "repetitive, likely hallucinated"
  text (gzip ratio of the text); faster-whisper uses the same default.
- ``repeated_ngram`` false: the reference's flag (more than one word 3-gram seen more than 3
  times), which catches the looping outputs Whisper produces on music and noise.
- ``min_avg_logprob`` -1.0: Whisper's default log-probability threshold below which it treats
  a decode as failed; a real probability, unlike the reference's mean max-logit score.
- ``max_no_speech_prob`` 0.6: Whisper's own no-speech threshold.
"""

from __future__ import annotations

import gzip
from collections import Counter
from dataclasses import asdict, dataclass


def compression_ratio(text: str) -> float:
    data = text.encode("utf-8")
    return len(data) / len(gzip.compress(data)) if data else 0.0


def repeated_ngram(text: str, n: int = 3, times: int = 3) -> bool:
    """The reference's hallucination flag: more than one word n-gram occurring more than ``times`` times."""
    words = text.split()
    counts = Counter(tuple(words[i : i + n]) for i in range(len(words) - n + 1))
    return sum(1 for c in counts.values() if c > times) > 1


@dataclass(frozen=True)
class QualityFilter:
    min_words: int = 10
    max_compression_ratio: float = 2.4
    min_avg_logprob: float = -1.0
    max_no_speech_prob: float = 0.6

    def sql(self, language: str = "ms") -> str:
        """A WHERE condition for a transcript dataset, using ``language``'s text and scores
        (``mmdata.query(f"SELECT * FROM talks_tx WHERE {DEFAULT_FILTER.sql('ms')}")``).

        >>> QualityFilter(min_words=5).sql("en")  # doctest: +ELLIPSIS
        "text_en IS NOT NULL AND len(string_split(trim(text_en), ' ')) >= 5 AND compression_ratio_en <= 2.4 AND ..."
        """
        if language not in ("ms", "en"):
            raise ValueError("language must be ms or en")
        return (
            f"text_{language} IS NOT NULL"
            f" AND len(string_split(trim(text_{language}), ' ')) >= {self.min_words}"
            f" AND compression_ratio_{language} <= {self.max_compression_ratio}"
            f" AND NOT coalesce(repeated_ngram_{language}, false)"
            f" AND avg_logprob_{language} >= {self.min_avg_logprob}"
            f" AND coalesce(no_speech_prob, 0) <= {self.max_no_speech_prob}"
        )

    def as_dict(self) -> dict:
        return asdict(self)


DEFAULT_FILTER = QualityFilter()
