"""Record validation: the JSON Schemas in ``specs/schemas`` plus the semantic rules the design fixes."""

from mmdata.schemas.check import RecordChecker, load_schema

__all__ = ["RecordChecker", "load_schema"]
