"""Step 3, plan: how many records to draw from each source, from its mode and the rows left after
the filters; weights that cannot be met are an error saying which and by how much."""

from __future__ import annotations

import math

from mmdata.errors import InputError
from mmdata.mix.spec import MixSpec
from mmdata.mix.state import SourcePlan


def plan_sizes(spec: MixSpec, plans: list[SourcePlan]) -> None:
    """Set each plan's ``planned`` records."""
    fixed = 0
    for plan in plans:
        mode, amount, n = plan.source.mode, plan.source.amount, plan.available
        if mode == "take":
            if amount > n:
                raise InputError(
                    f"{spec.path}:{plan.source.line}: {plan.ref} has {n} rows after filters; "
                    f"take {int(amount)} is short by {int(amount) - n} (use repeat to upsample)"
                )
            plan.planned = int(amount)
        elif mode in ("fraction", "repeat"):
            plan.planned = round(n * amount)
        if mode != "weight":
            fixed += plan.planned
    weighted = [p for p in plans if p.source.mode == "weight"]
    if not weighted:
        return
    total_weight = sum(p.source.amount for p in weighted)
    if spec.size is not None:
        room = spec.size - fixed
        if room < 0:
            raise InputError(
                f"{spec.path}: size {spec.size} is smaller than the {fixed} rows the take/fraction/repeat sources give"
            )
    else:  # the largest mixture the weights allow without repeating a row
        for plan in weighted:
            if not plan.available:
                raise InputError(
                    f"{spec.path}:{plan.source.line}: {plan.ref} has no rows after filters, so no mixture "
                    f"can give it weight {plan.source.amount:g}; drop it, loosen its filters, or set a size"
                )
        room = min(math.floor(p.available * total_weight / p.source.amount) for p in weighted)
    for plan in weighted:
        plan.planned = round(room * plan.source.amount / total_weight)
        if plan.planned > plan.available:
            raise InputError(
                f"{spec.path}:{plan.source.line}: weight {plan.source.amount:g} of size {spec.size} needs "
                f"{plan.planned} rows from {plan.ref}, which has {plan.available} after filters "
                f"(short by {plan.planned - plan.available}); lower the weight or the size"
            )
