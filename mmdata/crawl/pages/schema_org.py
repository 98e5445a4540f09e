"""schema.org items as extruct reads them (uniform output): flatten them, pick the page's main item, and
turn it into the plain fields a record and a prompt template use (a recipe's ingredients and steps, a
car's price, a place's geo). Pure functions over dicts: no HTML, no network."""

from __future__ import annotations

import re
from typing import Any

# The types this toolkit understands, by the family of fields they carry. A page's main item is the first
# item of the best family, so a WebPage or Organization beside a Recipe never wins over it.
RECIPE = {"Recipe"}
PRODUCT = {"Car", "Vehicle", "Motorcycle", "MotorizedBicycle", "BusOrCoach", "Product", "IndividualProduct", "ProductModel"}
PLACE = {
    "Place",
    "TouristAttraction",
    "TouristDestination",
    "LandmarksOrHistoricalBuildings",
    "Restaurant",
    "FoodEstablishment",
    "CafeOrCoffeeShop",
    "LocalBusiness",
    "Hotel",
    "LodgingBusiness",
    "Museum",
    "Park",
    "Beach",
    "Mountain",
    "PlaceOfWorship",
    "Mosque",
}
ARTICLE = {"NewsArticle", "Article", "BlogPosting", "ReportageNewsArticle", "Report", "TechArticle"}
FAMILIES = (RECIPE, PRODUCT, PLACE, ARTICLE)

SCHEMA_PREFIXES = ("http://schema.org/", "https://schema.org/", "schema:")
_MILEAGE_UNITS = {"KMT": "km", "SMI": "mi"}


def flatten(extracted: dict[str, list]) -> list[dict]:
    """Every schema.org item extruct found, in page order (JSON-LD, microdata, RDFa): ``@graph`` lists
    unrolled, RDFa's expanded IRIs shortened to plain schema.org names."""
    items: list[dict] = []

    def add(node: Any) -> None:
        if isinstance(node, list):
            for each in node:
                add(each)
        elif isinstance(node, dict):
            if "@graph" in node:
                add(node["@graph"])
            if "@type" in node:
                items.append(node)

    add(extracted.get("json-ld") or [])
    add(extracted.get("microdata") or [])
    for node in extracted.get("rdfa") or []:
        if isinstance(node, dict) and node.get("@type"):
            items.append(_from_rdfa(node))
    return items


def _from_rdfa(node: dict) -> dict:
    """RDFa in extruct's uniform form is expanded JSON-LD (full IRIs, ``[{"@value": x}]``): make it look
    like the compact JSON-LD the field readers expect."""
    out: dict[str, Any] = {"@type": [_short(t) for t in _as_list(node.get("@type"))]}
    for key, value in node.items():
        if key.startswith("@"):
            continue
        values = [v.get("@value", v.get("@id")) if isinstance(v, dict) else v for v in _as_list(value)]
        out[_short(key)] = values[0] if len(values) == 1 else values
    return out


def _short(name: str) -> str:
    for prefix in SCHEMA_PREFIXES:
        if name.startswith(prefix):
            return name[len(prefix) :]
    return name


def types_of(item: dict) -> list[str]:
    """The item's ``@type`` values as plain schema.org names."""
    return [_short(str(t)) for t in _as_list(item.get("@type"))]


def main_item(items: list[dict]) -> tuple[dict | None, str | None]:
    """The item a page is about and its type: the first item of the first family (recipe, product, place,
    article) that has one; ``(None, None)`` when the page only has generic items (WebPage, Organization)."""
    for family in FAMILIES:
        for item in items:
            for name in types_of(item):
                if name in family:
                    return item, name
    return None, None


def fields_for(item: dict, schema_type: str) -> dict:
    """The plain fields of ``item`` for its type's family; keys whose value is missing are left out."""
    if schema_type in RECIPE:
        fields = _recipe(item)
    elif schema_type in PRODUCT:
        fields = _product(item)
    elif schema_type in PLACE:
        fields = _place(item)
    else:
        fields = _article(item)
    return {key: value for key, value in fields.items() if value not in (None, "", [], {})}


def images_of(item: dict) -> list[tuple[str, str | None, int | None, int | None]]:
    """``(url, caption, width, height)`` for each picture the item names: a URL string, an ImageObject
    (``contentUrl`` or ``url``), or a list of either; relative URLs are resolved by the caller."""
    found = []
    for value in _as_list(item.get("image")) + _as_list(item.get("photo")):
        if isinstance(value, str):
            found.append((value, None, None, None))
        elif isinstance(value, dict):
            url = text(value.get("contentUrl")) or text(value.get("url")) or text(value.get("@id"))
            if url:
                caption = text(value.get("caption")) or text(value.get("name"))
                found.append((url, caption, _int(value.get("width")), _int(value.get("height"))))
    return found


def license_of(item: dict | None) -> str | None:
    """The item's ``license`` (a URL, a name, or a CreativeWork with a url)."""
    if not item:
        return None
    for value in _as_list(item.get("license")):
        found = text(value.get("url") or value.get("@id") or value.get("name")) if isinstance(value, dict) else text(value)
        if found:
            return found
    return None


def _recipe(item: dict) -> dict:
    return {
        "name": text(item.get("name")),
        "description": text(item.get("description")),
        "ingredients": [s for s in (text(v) for v in _as_list(item.get("recipeIngredient") or item.get("ingredients"))) if s],
        "steps": _steps(item.get("recipeInstructions")),
        "prep_time": text(item.get("prepTime")),
        "cook_time": text(item.get("cookTime")),
        "total_time": text(item.get("totalTime")),
        "cuisine": ", ".join(s for s in (text(v) for v in _as_list(item.get("recipeCuisine"))) if s) or None,
        "category": ", ".join(s for s in (text(v) for v in _as_list(item.get("recipeCategory"))) if s) or None,
        "yield": text(_first(item.get("recipeYield"))),
    }


def _steps(value: Any) -> list[str]:
    """Recipe steps from any of schema.org's shapes: one string (a step a line), a list of strings,
    HowToStep items (``text`` or ``name``), HowToSection items holding steps."""
    steps: list[str] = []
    for each in _as_list(value):
        if isinstance(each, str):
            steps.extend(line.strip() for line in re.split(r"\n+", each) if line.strip())
        elif isinstance(each, dict):
            if "itemListElement" in each:
                steps.extend(_steps(each["itemListElement"]))
            else:
                step = text(each.get("text")) or text(each.get("name"))
                if step:
                    steps.append(step)
    return steps


def _product(item: dict) -> dict:
    offer = _first(item.get("offers"))
    offer = offer if isinstance(offer, dict) else {}
    price = offer.get("price", offer.get("lowPrice"))
    spec = offer.get("priceSpecification")
    if price is None and isinstance(spec, dict):
        price = spec.get("price")
    year = next(
        (y for y in (_year(item.get(key)) for key in ("vehicleModelDate", "modelDate", "productionDate", "releaseDate")) if y),
        None,
    )
    return {
        "name": text(item.get("name")),
        "description": text(item.get("description")),
        "brand": _name(item.get("brand")) or _name(item.get("manufacturer")),
        "model": _name(item.get("model")),
        "year": year,
        "mileage": _mileage(item.get("mileageFromOdometer")),
        "price": _number(price),
        "currency": text(offer.get("priceCurrency")) or (text(spec.get("priceCurrency")) if isinstance(spec, dict) else None),
    }


def _place(item: dict) -> dict:
    geo = _first(item.get("geo"))
    lat = lon = None
    if isinstance(geo, dict):
        lat, lon = _float(geo.get("latitude")), _float(geo.get("longitude"))
    return {
        "name": text(item.get("name")),
        "description": text(item.get("description")),
        "address": _address(item.get("address")),
        "geo": {"lat": lat, "lon": lon} if lat is not None and lon is not None else None,
    }


def _article(item: dict) -> dict:
    return {
        "headline": text(item.get("headline")) or text(item.get("name")),
        "summary": text(item.get("description")) or text(item.get("abstract")),
        "date": text(item.get("datePublished")),
    }


def _address(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        parts = ("streetAddress", "addressLocality", "addressRegion", "postalCode", "addressCountry")
        found = [_name(value.get(part)) for part in parts]
        return ", ".join(p for p in found if p) or None
    return text(value)


def _mileage(value: Any) -> str | None:
    """``"45000 km"`` from a QuantitativeValue (UN/CEFACT unit codes mapped), or the text as given."""
    value = _first(value)
    if isinstance(value, dict):
        amount = text(value.get("value"))
        if not amount:
            return None
        unit = text(value.get("unitText")) or _MILEAGE_UNITS.get(text(value.get("unitCode")) or "", text(value.get("unitCode")))
        return f"{amount} {unit}" if unit else amount
    return text(value)


def _name(value: Any) -> str | None:
    value = _first(value)
    if isinstance(value, dict):
        return text(value.get("name"))
    return text(value)


def text(value: Any) -> str | None:
    """A clean one-value string: lists give their first element, ``{"@value": x}`` its value, whitespace
    runs become one space; ``None`` for nothing."""
    value = _first(value)
    if isinstance(value, dict):
        value = value.get("@value")
    if value is None or isinstance(value, dict | list):
        return None
    cleaned = re.sub(r"\s+", " ", str(value)).strip()
    return cleaned or None


def _year(value: Any) -> int | None:
    match = re.search(r"\b(1[89]\d\d|2\d\d\d)\b", text(value) or "")
    return int(match.group(1)) if match else None


def _number(value: Any) -> int | float | None:
    """A price as a number: ``"45,800.00"`` -> 45800; ``None`` when it does not read as one."""
    raw = text(value)
    if raw is None:
        return None
    try:
        number = float(raw.replace(",", ""))
    except ValueError:
        return None
    return int(number) if number.is_integer() else number


def _float(value: Any) -> float | None:
    try:
        return float(text(value) or "")
    except ValueError:
        return None


def _int(value: Any) -> int | None:
    raw = text(value.get("value") if isinstance(value, dict) else value)
    match = re.match(r"\d+", raw or "")
    return int(match.group()) if match else None


def _first(value: Any) -> Any:
    return value[0] if isinstance(value, list) and value else (None if isinstance(value, list) else value)


def _as_list(value: Any) -> list:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]
