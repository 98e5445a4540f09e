"""One web page in, its facts out: the schema.org item it is about (extruct), its main text, title, date and
language (trafilatura), the license it states, the pictures worth fetching, and whether its owner refuses
AI use. Pure: no network, no store; a broken or empty page gives what could be read, never an error."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

from mmdata.crawl.pages import page_html, schema_org

SYNTAXES = ["json-ld", "microdata", "rdfa", "opengraph"]
MALAY = {"ms", "may", "msa", "zsm", "zlm"}
ENGLISH = {"en", "eng"}
# A last guess for pages that state no language (and trafilatura has no language detector installed):
# the share of very common function words of each language in the main text.
_MALAY_WORDS = set(
    "dan yang di ke dari ini itu dengan untuk ialah adalah tidak akan dalam pada juga atau saya kami mereka".split()
)
_ENGLISH_WORDS = set("the and of to is in that with for are was on as it be at by this from or".split())


@dataclass
class ImageCandidate:
    """A picture the page offers, before it is fetched."""

    url: str  # absolute
    alt: str | None
    source: str  # "structured" (JSON-LD/microdata/RDFa image), "og" (og:image), "content" (<img> in the main content)
    width: int | None = None  # from the markup when it gives one
    height: int | None = None


@dataclass
class PageFacts:
    """What one page says about itself (see ``extract_page``)."""

    url: str
    title: str | None
    language: str | None  # "ms", "en", "other" or None
    license: str | None
    schema_type: str | None  # "Recipe", "Car", "TouristAttraction", "NewsArticle", ... or None (generic)
    fields: dict
    text: str
    images: list[ImageCandidate]
    refused: str | None  # "noai", "noimageai", "tdm-reservation" or None
    date: str | None = None  # the page's date as trafilatura reads it (ISO), when it finds one
    description: str | None = field(default=None, repr=False)  # the page's meta/og description


def extract_page(url: str, html: str | bytes, headers: dict[str, str] | None = None) -> PageFacts:
    """The facts of the page at ``url``. ``html``: its body (bytes are decoded with the Content-Type
    charset, a ``<meta charset>``, else UTF-8 with replacement); ``headers``: its response headers, for
    the charset, ``Content-Language``, ``X-Robots-Tag`` and ``tdm-reservation``.

    A page that refuses AI use (``noai``/``noimageai`` in a robots meta tag or X-Robots-Tag,
    ``tdm-reservation: 1`` as meta or header) comes back with ``refused`` set and no text, fields or
    images: nothing more of it is read."""
    lowered = {k.lower(): v for k, v in (headers or {}).items() if isinstance(k, str) and isinstance(v, str)}
    text = page_html.decode(html, lowered.get("content-type"))
    tree = page_html.parse(text)
    metas = page_html.metas(tree)
    facts = PageFacts(
        url=url,
        title=page_html.title(tree) or _first(metas.get("og:title")),
        language=None,
        license=None,
        schema_type=None,
        fields={},
        text="",
        images=[],
        refused=refusal(metas, lowered),
    )
    facts.language = _stated_language(tree, metas, lowered)
    if facts.refused or tree is None:
        return facts

    extracted = _structured(text, url)
    items = schema_org.flatten(extracted)
    item, schema_type = schema_org.main_item(items)
    facts.schema_type = schema_type
    if item is not None:
        facts.fields = schema_org.fields_for(item, schema_type)
        if schema_type in schema_org.PRODUCT:
            specs = page_html.spec_table(tree)
            if specs:
                facts.fields["specs"] = specs

    main = _main_text(text, url)
    facts.text = main.get("text") or ""
    facts.title = facts.title or main.get("title")
    facts.date = main.get("date")
    facts.description = _first(metas.get("description")) or _first(metas.get("og:description")) or main.get("description")
    facts.language = facts.language or normalise_language(main.get("language")) or _guess_language(facts.text)
    facts.license = page_html.license_link(tree, url) or schema_org.license_of(item) or _first(metas.get("license"))
    if facts.license and facts.license.startswith("/"):
        facts.license = urljoin(url, facts.license)
    facts.images = _images(item, items, metas, tree, url)
    return facts


def refusal(metas: dict[str, list[str]], headers: dict[str, str]) -> str | None:
    """Why the page must be skipped: ``noai`` / ``noimageai`` in a robots meta tag or the X-Robots-Tag
    header (also in its ``bot: directives`` form), or a TDM reservation (``tdm-reservation`` meta or
    header equal to 1); ``None`` when the page allows use."""
    directives: list[str] = []
    for value in metas.get("robots", []) + [headers.get("x-robots-tag", "")]:
        for token in re.split(r"[,\s]+", value.lower()):
            directives.append(token.rsplit(":", 1)[-1])
    for reason in ("noai", "noimageai"):
        if reason in directives:
            return reason
    for value in metas.get("tdm-reservation", []) + [headers.get("tdm-reservation", "")]:
        if value.strip() == "1":
            return "tdm-reservation"
    return None


def normalise_language(code: str | None) -> str | None:
    """``"ms"`` for Malay (``ms``, ``ms-MY``, ``may``, ``zsm``...), ``"en"`` for English, ``"other"`` for any
    other language (Indonesian ``id`` included: it is not Malay), ``None`` when no code is given."""
    if not code or not code.strip():
        return None
    primary = re.split(r"[-_]", code.strip().lower())[0]
    if primary in MALAY:
        return "ms"
    if primary in ENGLISH:
        return "en"
    return "other"


def _stated_language(tree, metas: dict[str, list[str]], headers: dict[str, str]) -> str | None:
    """The language the page states: ``<html lang>``, the Content-Language header or meta, og:locale."""
    for code in (
        page_html.html_lang(tree),
        headers.get("content-language", "").split(",")[0],
        _first(metas.get("content-language")),
        _first(metas.get("og:locale")),
    ):
        found = normalise_language(code)
        if found:
            return found
    return None


def _guess_language(text: str) -> str | None:
    """Malay or English by function-word counts, only when the text is long enough and one clearly wins."""
    words = re.findall(r"[a-z]+", text.lower())
    if len(words) < 20:
        return None
    malay = sum(w in _MALAY_WORDS for w in words)
    english = sum(w in _ENGLISH_WORDS for w in words)
    if malay >= 3 and malay > 2 * english:
        return "ms"
    if english >= 3 and english > 2 * malay:
        return "en"
    return None


def _structured(text: str, url: str) -> dict:
    """extruct's uniform output; each syntax on its own so one that chokes on the page loses only itself."""
    import extruct

    found: dict[str, list] = {}
    for syntax in SYNTAXES:
        try:
            found.update(extruct.extract(text, base_url=url, syntaxes=[syntax], uniform=True, errors="ignore"))
        except Exception:  # extruct raises whatever its parsers raise on odd markup; the page goes on without it
            found[syntax] = []
    return found


def _main_text(text: str, url: str) -> dict:
    """trafilatura's main text, title, date, description and language (``{}`` when it finds no content)."""
    import logging

    import trafilatura

    # trafilatura logs every page it finds too short at WARNING/ERROR: not the crawl's business.
    logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
    try:
        document = trafilatura.bare_extraction(
            text,
            url=url,
            with_metadata=True,
            include_tables=True,
            favor_recall=True,
            date_extraction_params={"extensive_search": False, "original_date": True},
        )
    except Exception:  # a page trafilatura cannot read has no main text, nothing worse
        return {}
    if document is None:
        return {}
    return document.as_dict() if hasattr(document, "as_dict") else dict(document)


def _images(item, items, metas, tree, url) -> list[ImageCandidate]:
    """Candidates in order of trust: the main item's pictures (then other items'), og:image, then the main
    content's ``<img>``; one per URL, keeping the first source but the first alt text found. A URL that an
    ``<img>`` offers in a smaller size becomes its largest ``srcset`` candidate."""
    content, largest = page_html.content_images(tree, url)
    alts = {img_url: alt for img_url, alt, _, _ in content if alt}
    found: dict[str, ImageCandidate] = {}

    def add(raw: str | None, alt: str | None, source: str, width: int | None = None, height: int | None = None) -> None:
        if not raw or not isinstance(raw, str) or raw.strip().startswith("data:"):
            return
        absolute = urljoin(url, raw.strip())
        if not absolute.startswith(("http://", "https://")):
            return
        upgraded = largest.get(absolute, absolute)
        if upgraded != absolute:
            width = height = None  # the markup's size was the small version's
        alt = alt or alts.get(upgraded)
        if upgraded in found:
            found[upgraded].alt = found[upgraded].alt or alt
        else:
            found[upgraded] = ImageCandidate(upgraded, alt, source, width, height)

    others = [other for other in items if other is not item]
    for each in ([item] if item is not None else []) + others:
        if any(name in {"Organization", "WebSite", "Person", "BreadcrumbList"} for name in schema_org.types_of(each)):
            continue  # logos and avatars are not what a page is about
        for image_url, caption, width, height in schema_org.images_of(each):
            add(image_url, caption, "structured", width, height)
    og_alt = _first(metas.get("og:image:alt"))
    for og_url in metas.get("og:image", []) + metas.get("og:image:url", []) + metas.get("og:image:secure_url", []):
        add(og_url, og_alt, "og", _int(_first(metas.get("og:image:width"))), _int(_first(metas.get("og:image:height"))))
    for image_url, alt, width, height in content:
        add(image_url, alt, "content", width, height)
    return list(found.values())


def _first(values: list[str] | None) -> str | None:
    return values[0] if values else None


def _int(value: str | None) -> int | None:
    return int(value) if value and value.strip().isdigit() else None
