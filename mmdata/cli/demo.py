"""``demo``: mmdata's walk-through, then the steps other packages add to it (mmtrain's training)."""

from __future__ import annotations

# Packages that extend the demo name a function ``steps(store) -> Iterator[DemoStep]`` under this
# entry-point group; mmtrain does (pyproject.toml). So the demo can end in training while mmdata
# never imports mmtrain: the dependency goes one way only.
DEMO_STEPS_GROUP = "mmdata.demo"


def demo():
    """Build a demo store from the bundled samples and walk through the main commands."""
    from importlib.metadata import entry_points
    from itertools import chain

    from mmdata import demo as run
    from mmdata.cli.base import store
    from mmdata.render import console, key_values, table

    the_store = store()
    more = [entry.load() for entry in sorted(entry_points(group=DEMO_STEPS_GROUP), key=lambda entry: entry.name)]
    for step in chain(run(the_store), *(steps(the_store) for steps in more)):
        console.rule(f"[bold]{step.title}")
        console.print(f"$ {step.command}", style="dim", markup=False, highlight=False, soft_wrap=True)
        if step.text:
            console.print(step.text, markup=False)
        if step.rows:
            table(None, step.rows)
        if step.fields:
            key_values(step.title, step.fields)
