"""mmdata: versioned bilingual multimodal instruction data.

The public API mirrors the CLI, one function per command::

    import mmdata
    mmdata.import_("chat.jsonl", into="chats")
    mmdata.query("SELECT kind, count(*) FROM chats GROUP BY kind")
"""

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
    "demo": "mmdata.demo_store",
    "Store": "mmdata.store.lake",
}


def __getattr__(name: str):
    # Lazy, so `import mmdata` (and `mmdata --help`) stays fast.
    if name in _API:
        import importlib

        return getattr(importlib.import_module(_API[name]), name)
    raise AttributeError(f"module 'mmdata' has no attribute {name!r}")


__all__ = sorted(_API)
