"""Refused items counted by rule, with the first few kept as samples."""

from __future__ import annotations

from collections import Counter


class RejectTally:
    """What a run refused: items, problems by rule, and up to ``samples`` problems to show.

    One item can break several rules (an import line with two bad fields), so ``items`` and the
    sum of ``by_rule`` differ; a long job's failures are one problem per item.
    """

    def __init__(self, samples: int = 0):
        self.items = 0
        self.by_rule: Counter = Counter()
        self.samples: list[dict] = []
        self._room = samples

    def add(self, *problems: dict) -> None:
        """One item refused, for ``problems``: dicts with at least a ``rule``."""
        self.items += 1
        for problem in problems:
            self.by_rule[problem["rule"]] += 1
            if len(self.samples) < self._room:
                self.samples.append(problem)

    def rules(self) -> dict[str, int]:
        """Problems by rule, in the order the rules were first seen."""
        return dict(self.by_rule)

    def most_common(self, n: int = 3) -> str:
        """``"rule 12, other 3"``: the ``n`` commonest rules, for a message."""
        return ", ".join(f"{rule} {count}" for rule, count in self.by_rule.most_common(n))
