"""The structured context a page crawl leaves on an ``image`` record, read for synthesis.

``mmdata crawl-pages`` writes ``attributes = {"page_url", "image_url", "schema_type", "fields",
"alt", "language", "crawled_at", "near_duplicate_of"}``; ``fields`` holds the schema.org type's
facts (a recipe's name, ingredients and steps; a car's brand, model, year, price and specs; a
place's name and address; an article's headline and summary). Both the model prompts and the
templates read them through here, so they agree on what is present and how a value reads.
"""

from __future__ import annotations

# Bookkeeping of the page crawl: provenance, not something to talk about.
CRAWL_KEYS = ("page_url", "image_url", "schema_type", "fields", "alt", "language", "crawled_at", "near_duplicate_of")


def is_page_record(source: dict) -> bool:
    """Whether an image record's attributes have the page crawl's shape."""
    attributes = source.get("attributes")
    return isinstance(attributes, dict) and ("fields" in attributes or "schema_type" in attributes)


def present(value) -> bool:
    """A value worth saying: not None, not blank, not an empty list or mapping."""
    if value is None:
        return False
    if isinstance(value, str):
        return bool(value.strip())
    if isinstance(value, (list, tuple, dict)):
        return any(present(v) for v in (value.values() if isinstance(value, dict) else value))
    return True


def page_values(source: dict) -> dict:
    """An image record's facts as one flat mapping: its title, caption (the alt text),
    description and language, the schema.org type, and the type's fields (a field wins over the
    record's own value of the same name). Only present values are kept."""
    attributes = source.get("attributes") if isinstance(source.get("attributes"), dict) else {}
    fields = attributes.get("fields") if isinstance(attributes.get("fields"), dict) else {}
    values = {
        "title": source.get("title"),
        "caption": source.get("caption") or attributes.get("alt"),
        "description": source.get("description"),
        "language": attributes.get("language"),
        "schema_type": attributes.get("schema_type"),
        **fields,
    }
    return {key: value for key, value in values.items() if present(value)}


def as_text(value) -> str:
    """One value as prompt text: a list one item a line, a mapping ``label: value`` a line, an
    address mapping (schema.org PostalAddress) its parts joined."""
    if isinstance(value, dict):
        if "streetAddress" in value or "addressLocality" in value:
            return address(value)
        return "\n".join(f"- {label}: {as_text(v)}" for label, v in value.items() if present(v))
    if isinstance(value, (list, tuple)):
        return "\n".join(f"- {as_text(v)}" for v in value if present(v))
    return str(value).strip()


def address(value) -> str:
    """A place's address as one line, whether the page gave text or a PostalAddress mapping."""
    if isinstance(value, dict):
        keys = ("streetAddress", "addressLocality", "postalCode", "addressRegion", "addressCountry")
        parts = [value.get(k) for k in keys] if any(k in value for k in keys) else list(value.values())
        return ", ".join(str(p).strip() for p in parts if present(p) and not isinstance(p, (dict, list)))
    return str(value).strip()


def prompt_fields(source: dict) -> list[tuple[str, str]]:
    """(label, text) of each structured field, in the page's order, for the model prompt."""
    attributes = source.get("attributes") or {}
    fields = attributes.get("fields") if isinstance(attributes.get("fields"), dict) else {}
    return [
        (label.replace("_", " "), numbered(value) if label in ORDERED else as_text(value))
        for label, value in fields.items()
        if present(value)
    ]


# Fields whose order matters: written 1., 2., ... rather than as bullets.
ORDERED = ("steps",)


def numbered(value) -> str:
    """A list as numbered lines (a recipe's steps); anything else as ``as_text``."""
    if isinstance(value, (list, tuple)):
        return "\n".join(f"{i}. {as_text(v)}" for i, v in enumerate((v for v in value if present(v)), 1))
    return as_text(value)
