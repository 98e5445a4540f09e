"""A dataset's history: its versions with counts and arguments, and the lineage graph of one version
(where it came from, across datasets, and what was made from it), drawn as an inline SVG."""

from __future__ import annotations

from starlette.routing import Route

from mmdata.browse.view import page
from mmdata.inspect import log
from mmdata.store.versions import list_versions, resolve, split_ref

DEPTH = 8  # layers drawn each way: a dataset's own versions chain back to @1, which can be long
NODE_W, NODE_H, GAP_X, GAP_Y = 170, 38, 56, 14


def _key(version: dict) -> str:
    return f"{version['dataset']}@{version['version']}"


def _parent_key(parent: str, by_key: dict, tags: dict) -> str:
    """A parent as lineage names it (``name@N``; a tag or a bare name from older tools) as ``name@N``."""
    name, selector = parent.partition("@")[::2]
    if selector.isdigit() or parent in by_key:
        return parent
    return tags.get((name, selector or None), parent)


def lineage_graph(versions: list[dict], focus: str, depth: int = DEPTH) -> dict:
    """The graph around ``focus`` (``name@N``) over ``versions`` (every version in the store):
    its ancestors (parents, recursively) and descendants (versions naming it as a parent,
    recursively), each up to ``depth`` steps; nodes laid out in layers, ancestors to the left."""
    by_key = {_key(v): v for v in versions}
    tags = {(v["dataset"], t): _key(v) for v in versions for t in v["tags"]}
    for v in versions:  # a bare name means the newest version; versions come oldest first
        tags[(v["dataset"], None)] = _key(v)
    parents = {k: [_parent_key(p, by_key, tags) for p in v["parents"] or []] for k, v in by_key.items()}
    children: dict[str, list[str]] = {}
    for child, named in parents.items():
        for parent in named:
            children.setdefault(parent, []).append(child)

    def walk(start: str, step: dict) -> dict[str, int]:
        # the longest path from the focus, so that every edge points one way (left to right)
        layer, frontier = {start: 0}, [start]
        for distance in range(1, depth + 1):
            frontier = sorted({n for f in frontier for n in step.get(f, [])})
            for node in frontier:
                layer[node] = distance
        return layer

    up, down = walk(focus, parents), walk(focus, children)
    truncated = any(parents.get(n) for n, d in up.items() if d == depth) or any(
        children.get(n) for n, d in down.items() if d == depth
    )
    layers: dict[str, int] = {**{n: -d for n, d in up.items()}, **down}
    edges = sorted(
        {(p, c) for c in layers for p in parents.get(c, []) if p in layers and layers[p] < layers[c]}
        | {(p, c) for p in layers for c in children.get(p, []) if c in layers and layers[p] < layers[c]}
    )
    return {**_layout(layers, edges, by_key, focus, truncated), "depth": depth}


def _layout(layers: dict[str, int], edges: list, by_key: dict, focus: str, truncated: bool) -> dict:
    first = min(layers.values())
    columns: dict[int, list[str]] = {}
    for node, layer in sorted(layers.items(), key=lambda item: (item[1], item[0])):
        columns.setdefault(layer - first, []).append(node)
    tallest = max(len(nodes) for nodes in columns.values())
    height = tallest * (NODE_H + GAP_Y) + GAP_Y
    nodes = {}
    for column, names in columns.items():
        top = (height - len(names) * (NODE_H + GAP_Y) + GAP_Y) / 2  # each column centred
        for row, name in enumerate(names):
            version = by_key.get(name)
            nodes[name] = {
                "ref": name,
                "x": GAP_X / 2 + column * (NODE_W + GAP_X),
                "y": top + row * (NODE_H + GAP_Y),
                "command": version["command"] if version else "not in this store",
                "known": version is not None,
                "focus": name == focus,
            }
    lines = [
        {
            "x1": nodes[p]["x"] + NODE_W,
            "y1": nodes[p]["y"] + NODE_H / 2,
            "x2": nodes[c]["x"],
            "y2": nodes[c]["y"] + NODE_H / 2,
        }
        for p, c in edges
    ]
    return {
        "nodes": list(nodes.values()),
        "edges": lines,
        "width": len(columns) * (NODE_W + GAP_X),
        "height": height,
        "node_w": NODE_W,
        "node_h": NODE_H,
        "truncated": truncated,
        "ancestors": sorted(n for n, layer in layers.items() if layer < 0),
        "descendants": sorted(n for n, layer in layers.items() if layer > 0),
    }


def history(request):
    """``/d/{name}/history``: the versions of ``name``; the lineage graph of ``name@N`` (or ``?v=N``), else the newest."""
    store = request.app.state.store
    name, selector = split_ref(request.path_params["name"])
    selector = request.query_params.get("v") or selector
    versions = log(name, store)  # NotFoundError for an unknown name: a 404 page
    with store.reader() as con:
        everything = list_versions(con)
        focus = resolve(con, f"{name}@{selector}" if selector else name, known=everything)
    focus_row = next(v for v in versions if v["version"] == focus.version)
    return page(
        request,
        "history.html",
        name=name,
        versions=list(reversed(versions)),
        focus=str(focus),
        focus_row=focus_row,
        graph=lineage_graph(everything, str(focus)),
    )


ROUTES = [Route("/d/{name}/history", history, name="history")]
