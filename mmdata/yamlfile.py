"""Reading the YAML files people write by hand: mix specs, synthesis recipes, training configs.

One loader so all three refuse the same things with a line number instead of a traceback:
bytes that are not UTF-8 (a byte-order mark is fine: Excel and Notepad write one), a folder,
NaN or infinity (no weight, rate or count means either), a key given twice (YAML keeps the last
one silently), nesting deep enough to exhaust the parser's recursion, and aliases that expand
past ``MAX_NODES`` (a "billion laughs" document is a few hundred bytes and would fill memory
the first time anything prints or serialises it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import yaml

from mmdata.errors import InputError

MAX_NODES = 100_000  # far above any real spec, far below what would hurt to print
MAX_DEPTH = 100


@dataclass
class YamlFile:
    data: object
    tree: yaml.Node | None  # for line numbers of later errors
    text: str  # decoded, without a byte-order mark
    raw: bytes
    path: Path


def decode_utf8(raw: bytes, where: str, error=InputError) -> str:
    """``raw`` as text (a leading byte-order mark dropped), or ``error`` naming the line of the first bad byte."""
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise error(
            f"{where}:{line}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}); save the file as UTF-8"
        ) from None


def _walk(node: yaml.Node, where: str, error) -> None:
    """Check the composed tree; counts every node as often as aliases repeat it, without expanding anything."""
    sizes: dict[int, int] = {}
    active: set[int] = set()

    def size(node: yaml.Node, depth: int) -> int:
        key = id(node)
        if key in sizes:
            return sizes[key]
        line = node.start_mark.line + 1
        if key in active:
            raise error(f"{where}:{line}: an alias refers to the node that contains it (a recursive YAML document)")
        if depth > MAX_DEPTH:
            raise error(f"{where}:{line}: nested deeper than {MAX_DEPTH} levels")
        active.add(key)
        total = 1
        if isinstance(node, yaml.MappingNode):
            seen: set = set()
            for k, v in node.value:
                if isinstance(k, yaml.ScalarNode):
                    if k.value in seen:
                        raise error(f"{where}:{k.start_mark.line + 1}: key {k.value!r} is given twice")
                    seen.add(k.value)
                total += size(k, depth + 1) + size(v, depth + 1)
                if total > MAX_NODES:
                    break
        elif isinstance(node, yaml.SequenceNode):
            for child in node.value:
                total += size(child, depth + 1)
                if total > MAX_NODES:
                    break
        elif node.tag == "tag:yaml.org,2002:float":
            try:
                finite = math.isfinite(float(node.value.replace("_", "")))
            except ValueError:  # YAML 1.1 spellings float() lacks (.inf, 1:30.5): only the .inf/.nan ones matter
                finite = node.value.lower().lstrip("+-") not in (".inf", ".nan")
            if not finite:
                raise error(f"{where}:{line}: {node.value} is not a finite number")
        active.discard(key)
        if total > MAX_NODES:
            raise error(
                f"{where}:{line}: aliases expand this document past {MAX_NODES} values; write it out, or use fewer anchors"
            )
        sizes[key] = total
        return total

    size(node, 0)


def parse_yaml(text: str, where: str, error=InputError) -> tuple[object, yaml.Node | None]:
    """``text`` parsed safely and checked (see the module docstring); errors name ``where`` and the line."""
    loader = None
    try:
        try:
            loader = yaml.SafeLoader(text)  # checks for unprintable characters (NUL, ...) already
            tree = loader.get_single_node()
            if tree is None:
                return None, None
            _walk(tree, where, error)
            return loader.construct_document(tree), tree
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            line = f":{mark.line + 1}" if mark is not None else ""
            raise error(f"{where}{line}: not valid YAML ({' '.join(str(problem).split())})") from None
        except RecursionError:
            raise error(f"{where}: not valid YAML (nested too deeply to read)") from None
    finally:
        if loader is not None:
            loader.dispose()


def load_yaml(path: str | Path, what: str = "", error=InputError) -> YamlFile:
    """Read and parse the YAML file ``path``; ``what`` (e.g. "--spec") starts every message about it."""
    path = Path(path)
    label, where = f"{what} {path}".strip(), str(path)
    if path.is_dir():
        raise error(f"{label}: is a folder; give a YAML file")
    if not path.exists():
        raise error(f"{label}: no such file")
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise error(f"{label}: cannot read ({exc.strerror or exc})") from None
    text = decode_utf8(raw, where, error)
    data, tree = parse_yaml(text, where, error)
    return YamlFile(data, tree, text, raw, path)
