"""What the extractor reads from the HTML itself (lxml), beside extruct and trafilatura: the decoded text,
meta tags, license links, spec tables and the pictures in the main content. Every function takes what a
broken page gives (``None`` for a page lxml could not parse) and never raises."""

from __future__ import annotations

import re
from urllib.parse import urljoin

_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_.:-]+)""", re.IGNORECASE)
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*\?>", re.IGNORECASE)
_BOMS = ((b"\xef\xbb\xbf", "utf-8"), (b"\xff\xfe", "utf-16-le"), (b"\xfe\xff", "utf-16-be"))
# Regions whose pictures are page furniture (logos, menus, ads), not the content.
_FURNITURE = {"header", "nav", "footer", "aside"}


def decode(html: str | bytes, content_type: str | None) -> str:
    """The page as text: a byte-order mark, then the Content-Type header's charset, then a ``<meta charset>``
    (or ``http-equiv`` content type) in the first bytes, then UTF-8; undecodable bytes become U+FFFD so a
    wrongly labelled page still gives what it can."""
    if isinstance(html, str):
        text = html
    else:
        text = None
        for bom, encoding in _BOMS:
            if html.startswith(bom):
                text = html[len(bom) :].decode(encoding, errors="replace")
                break
        if text is None:
            for candidate in (_charset_of(content_type), _meta_charset(html[:4096]), "utf-8"):
                if candidate:
                    try:
                        text = html.decode(candidate, errors="replace")
                        break
                    except LookupError:  # an unknown charset name: try the next source
                        continue
    # lxml refuses str input that still declares an encoding.
    return _XML_DECLARATION.sub("", text or "", count=1)


def _charset_of(content_type: str | None) -> str | None:
    match = re.search(r"charset\s*=\s*[\"']?([A-Za-z0-9_.:-]+)", content_type or "", re.IGNORECASE)
    return match.group(1) if match else None


def _meta_charset(head: bytes) -> str | None:
    match = _CHARSET.search(head)
    return match.group(1).decode("ascii", errors="ignore") if match else None


def parse(text: str):
    """The lxml tree of the page, or ``None`` when there is nothing to parse."""
    if not text.strip():
        return None
    import lxml.html

    try:
        return lxml.html.document_fromstring(text)
    except Exception:  # lxml's ParserError and friends on pages with no elements at all
        return None


def metas(tree) -> dict[str, list[str]]:
    """``<meta name|property|http-equiv=... content=...>`` values by lower-cased key (a key may repeat)."""
    found: dict[str, list[str]] = {}
    if tree is None:
        return found
    for meta in tree.iter("meta"):
        key = meta.get("name") or meta.get("property") or meta.get("http-equiv")
        content = meta.get("content")
        if key and content is not None:
            found.setdefault(key.strip().lower(), []).append(content.strip())
    return found


def html_lang(tree) -> str | None:
    """The ``lang`` (or ``xml:lang``) attribute of ``<html>``."""
    if tree is None:
        return None
    root = tree.getroottree().getroot()
    return root.get("lang") or root.get("{http://www.w3.org/XML/1998/namespace}lang") or None


def title(tree) -> str | None:
    """The ``<title>`` text."""
    if tree is None:
        return None
    found = tree.find(".//title")
    value = re.sub(r"\s+", " ", found.text_content()).strip() if found is not None else ""
    return value or None


def license_link(tree, base: str) -> str | None:
    """A license the page states in its markup: a ``rel=license`` link (``<link>`` or ``<a>``), else the
    first link to a Creative Commons license or public-domain mark."""
    if tree is None:
        return None
    for element in tree.iter("link", "a"):
        if "license" in (element.get("rel") or "").lower().split() and element.get("href"):
            return urljoin(base, element.get("href").strip())
    for element in tree.iter("a"):
        href = (element.get("href") or "").strip()
        if re.search(r"creativecommons\.org/(licenses|publicdomain)/", href):
            return urljoin(base, href)
    return None


def spec_table(tree) -> dict[str, str]:
    """Label/value rows from the page's spec tables: ``<tr>`` with exactly two cells (``th``/``td`` or
    ``td``/``td``) and ``<dl>`` term/definition pairs. Tables with the class ``specs`` (or ``spec...``)
    come first; a label seen twice keeps its first value."""
    specs: dict[str, str] = {}
    if tree is None:
        return specs
    tables = list(tree.iter("table"))
    tables.sort(key=lambda t: 0 if "spec" in (t.get("class") or "").lower() else 1)
    for table in tables:
        for row in table.iter("tr"):
            cells = [c for c in row if c.tag in ("th", "td")]
            if len(cells) == 2:
                label, value = (_clean(c.text_content()) for c in cells)
                if label and value and label not in specs:
                    specs[label.rstrip(":")] = value
    for dl in tree.iter("dl"):
        terms = [c for c in dl if c.tag in ("dt", "dd")]
        for term, definition in zip(terms, terms[1:], strict=False):
            if term.tag == "dt" and definition.tag == "dd":
                label, value = _clean(term.text_content()).rstrip(":"), _clean(definition.text_content())
                if label and value and label not in specs:
                    specs[label] = value
    return specs


def content_images(tree, base: str) -> tuple[list[tuple[str, str | None, int | None, int | None]], dict[str, str]]:
    """The pictures of the main content (``<main>``, ``[role=main]`` or ``<article>``, else the body, leaving
    out header/nav/footer/aside) as ``(url, alt, width, height)``, each at its largest ``srcset``
    candidate; and a map from every URL an ``<img>`` offers (its ``src`` and each candidate) to that
    largest one, so a structured image naming the small version can be upgraded too. ``data:`` URIs and
    tracking pixels (a width or height attribute of 2 or less) are skipped."""
    found: list[tuple[str, str | None, int | None, int | None]] = []
    largest: dict[str, str] = {}
    if tree is None:
        return found, largest
    for img in tree.iter("img"):
        src = _first_url(img.get("src"), img.get("data-src"), img.get("data-lazy-src"))
        candidates = _srcset(img.get("srcset") or img.get("data-srcset"), base)
        # libxml2 does not know <source> is void and nests the <img> inside it: look for the <picture> above.
        picture = next((a for a in img.iterancestors() if a.tag == "picture"), None)
        if picture is not None:
            for source in picture.iter("source"):
                candidates += _srcset(source.get("srcset"), base)
        width, height = _int(img.get("width")), _int(img.get("height"))
        if (width is not None and width <= 2) or (height is not None and height <= 2):
            continue
        by_width = any(kind == "w" for _, _, kind in candidates)
        # The src is the 1x picture; against w descriptors it counts as its width attribute (if any).
        src_size = float(width or 0) if by_width else 1.0
        options = [(urljoin(base, src), src_size, "")] if src and not src.startswith("data:") else []
        options += [c for c in candidates if (c[2] == "w") == by_width]
        options = [o for o in options if o[0].startswith(("http://", "https://"))]
        if not options:
            continue
        best_url, best_size, best_kind = max(options, key=lambda option: option[1])
        for url, _, _ in options:
            largest.setdefault(url, best_url)
        if best_url != options[0][0]:
            # The attributes describe the small picture: the chosen one's width is its w descriptor.
            scale = best_size / width if best_kind == "w" and width else None
            width = int(best_size) if best_kind == "w" else None
            height = round(height * scale) if height and scale else None
        if _in_content(img):
            alt = _clean(img.get("alt") or img.get("title") or "") or None
            found.append((best_url, alt, width, height))
    return found, largest


def _srcset(value: str | None, base: str) -> list[tuple[str, float, str]]:
    """``srcset`` candidates as ``(absolute url, size, kind)``: kind ``w`` (size the width descriptor) or
    ``x`` (size the density; a candidate with no descriptor is 1x)."""
    out = []
    for part in re.split(r",\s+", (value or "").strip()):
        pieces = part.strip().split()
        if not pieces or pieces[0].startswith("data:"):
            continue
        size, kind = 1.0, "x"
        if len(pieces) > 1:
            match = re.match(r"([\d.]+)([wx])$", pieces[1])
            if match:
                size, kind = float(match.group(1)), match.group(2)
        out.append((urljoin(base, pieces[0]), size, kind))
    return out


def _in_content(img) -> bool:
    """Whether ``img`` sits in the main content: inside main/article/[role=main] when the page has such a
    region, else anywhere in the body outside the page furniture."""
    ancestors = list(img.iterancestors())
    if any(a.tag in _FURNITURE for a in ancestors):
        return False
    tree = img.getroottree()
    has_region = bool(tree.xpath("//main|//article|//*[@role='main']"))
    if has_region:
        return any(a.tag in ("main", "article") or a.get("role") == "main" for a in ancestors)
    return True


def _first_url(*values: str | None) -> str | None:
    return next((v.strip() for v in values if v and v.strip()), None)


def _int(value: str | None) -> int | None:
    match = re.match(r"\s*(\d+)", value or "")
    return int(match.group(1)) if match else None


def _clean(value: str) -> str:
    return re.sub(r"\s+", " ", value).strip()
