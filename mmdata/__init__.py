"""mmdata: versioned bilingual multimodal instruction data.

The public API mirrors the CLI, one function per command::

    import mmdata
    mmdata.import_("chat.jsonl", into="chats")
    mmdata.query("SELECT kind, count(*) FROM chats GROUP BY kind")
    mmdata.crawl(["ytsearch20:ceramah"], into="talks")

``crawl``, ``transcribe`` and ``mix`` are also the names of the subpackages that hold them
(``mmdata.crawl.download``, ``mmdata.transcribe.DEFAULT_FILTER``); calling the subpackage calls its
function, so ``mmdata.crawl(...)`` works however the subpackage was first imported.
"""

import sys
import types

__version__ = "0.1.0"

_API = {
    "import_": "mmdata.importing",
    "validate": "mmdata.validation",
    "query": "mmdata.querying",
    "ls": "mmdata.inspect",
    "log": "mmdata.inspect",
    "show": "mmdata.inspect",
    "stats": "mmdata.inspect",
    "diff": "mmdata.history",
    "tag": "mmdata.history",
    "export": "mmdata.exporters",
    "copy": "mmdata.copying",
    "crawl": "mmdata.crawl",
    "transcribe": "mmdata.transcribe",
    "synthesize": "mmdata.synth",
    "mix": "mmdata.mix",
    "demo": "mmdata.demo_store",
    "Store": "mmdata.store.lake",
}
# A function whose subpackage has its name: the import system binds the subpackage to that name on
# this package, whichever way it is imported, so the subpackage itself is made callable.
_CALLABLE_SUBPACKAGES = {name for name, module in _API.items() if module == f"{__name__}.{name}"}


class _CallableSubpackage(types.ModuleType):
    def __call__(self, *args, **kwargs):
        return self._function()(*args, **kwargs)

    @property
    def __signature__(self):  # so help() and editors show the function's parameters
        import inspect

        return inspect.signature(self._function())

    def _function(self):
        return getattr(self, self.__name__.rpartition(".")[2])


class _Package(types.ModuleType):
    def __setattr__(self, name, value):
        # Every import of mmdata.crawl (from mmdata.crawl import ..., import mmdata.crawl) binds it here.
        if name in _CALLABLE_SUBPACKAGES and isinstance(value, types.ModuleType):
            value.__class__ = _CallableSubpackage
        super().__setattr__(name, value)


sys.modules[__name__].__class__ = _Package


def __getattr__(name: str):
    # Lazy, so `import mmdata` (and `mmdata --help`) stays fast.
    if name in _API:
        import importlib

        module = importlib.import_module(_API[name])
        return module if name in _CALLABLE_SUBPACKAGES else getattr(module, name)
    raise AttributeError(f"module 'mmdata' has no attribute {name!r}")


__all__ = sorted(_API)
