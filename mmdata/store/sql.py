"""Writing values into SQL text, for the few statements that take no parameters."""

from __future__ import annotations


def sql_string(value: str) -> str:
    """``value`` as a SQL string literal: paths go into ATTACH/SET/LOAD/COPY and table functions in DDL, which take no parameters."""
    return "'" + str(value).replace("'", "''") + "'"
