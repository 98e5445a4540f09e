"""extract_page on the test site's pages and on hand-made odd pages: pure, so no server is needed."""

from pathlib import Path

import pytest

pytest.importorskip("extruct")
pytest.importorskip("trafilatura")

from mmdata.crawl.pages.extract import extract_page, normalise_language  # noqa: E402

SITE = Path(__file__).parent / "site"
BASE = "http://127.0.0.1:8123"


def page(path: str, headers=None):
    return extract_page(f"{BASE}/{path}", (SITE / path).read_bytes(), headers)


def urls(facts):
    return [image.url for image in facts.images]


def test_recipe_in_malay_with_a_graph_and_howto_steps():
    facts = page("recipes/nasi-lemak.html")
    assert facts.schema_type == "Recipe"  # the Recipe wins over the WebPage beside it in @graph
    assert facts.language == "ms"
    assert facts.fields["name"] == "Nasi Lemak Sambal Bilis"
    assert facts.fields["ingredients"][:2] == ["2 cawan beras", "1 cawan santan"]
    assert len(facts.fields["ingredients"]) == 6
    assert facts.fields["steps"][0].startswith("Basuh beras") and len(facts.fields["steps"]) == 4
    assert (facts.fields["prep_time"], facts.fields["cook_time"], facts.fields["total_time"]) == ("PT20M", "PT40M", "PT1H")
    assert facts.fields["cuisine"] == "Malaysian"
    assert facts.fields["description"].startswith("Nasi lemak ialah")
    assert "hidangan kebangsaan" in facts.text
    assert facts.refused is None and facts.license is None
    # one picture: JSON-LD, og:image and the relative <img> name the same file; the data: URI and the
    # 1x1 tracking pixel are left out; the structured source is kept with the <img>'s alt text
    assert len(facts.images) == 1
    (image,) = facts.images
    assert (image.url, image.source) == (f"{BASE}/img/nasi-lemak.jpg", "structured")
    assert image.alt == "Sepinggan nasi lemak dengan sambal bilis, telur dan timun"


def test_recipe_in_english_with_an_image_object_one_string_of_steps_and_a_license():
    facts = page("recipes/rendang.html")
    assert (facts.schema_type, facts.language) == ("Recipe", "en")
    assert facts.fields["steps"] == [
        "Blend the chillies, shallots and garlic into a paste.",
        "Fry the paste until fragrant.",
        "Add the beef, lemongrass and coconut milk and simmer for three hours.",
        "Stir in the kerisik and cook until dry.",
    ]
    assert "400 ml coconut milk" in facts.fields["ingredients"]
    assert facts.license == "https://creativecommons.org/licenses/by/4.0/"
    assert [(i.url, i.source, i.width, i.height) for i in facts.images] == [(f"{BASE}/img/rendang.jpg", "structured", 400, 300)]


def test_car_microdata_offer_and_spec_table_with_the_largest_srcset_photo():
    facts = page("cars/myvi.html")
    assert facts.schema_type == "Car"
    fields = facts.fields
    assert (fields["name"], fields["brand"], fields["model"], fields["year"]) == ("Perodua Myvi 1.5 AV", "Perodua", "Myvi", 2019)
    assert (fields["mileage"], fields["price"], fields["currency"]) == ("45000 km", 45800, "MYR")
    assert fields["specs"] == {
        "Engine": "1.5 L Dual VVT-i",
        "Transmission": "4-speed automatic",
        "Colour": "Granite Grey",
        "Seats": "5",
    }
    assert facts.language == "en"  # lang="en-MY"
    # itemprop=image names the 400w file; the <img>'s srcset offers 800w: the largest wins, alt kept
    assert urls(facts) == [f"{BASE}/img/myvi-front-800.jpg", f"{BASE}/img/myvi-side.jpg"]  # ../ resolved
    assert facts.images[0].alt == "Front view of a grey Perodua Myvi"
    assert [i.source for i in facts.images] == ["structured", "content"]
    assert (facts.images[1].width, facts.images[1].height) == (480, 320)


def test_place_with_address_and_geo():
    facts = page("places/klcc.html")
    assert facts.schema_type == "TouristAttraction"
    assert facts.fields["name"] == "Petronas Twin Towers"
    assert facts.fields["geo"] == {"lat": 3.1579, "lon": 101.7116}
    assert "Kuala Lumpur" in facts.fields["address"] and facts.fields["address"].endswith("MY")
    assert urls(facts) == [f"{BASE}/img/klcc.jpg"]  # the image list and og:image: one picture


def test_news_article_headline_summary_and_content_url():
    facts = page("news/article.html")
    assert facts.schema_type == "NewsArticle"
    assert facts.fields["headline"] == "Durian season arrives early in Pahang"
    assert facts.fields["summary"].startswith("Growers in Raub")
    assert urls(facts) == [f"{BASE}/img/news.jpg"]


def test_plain_page_falls_back_to_title_text_and_alt():
    facts = page("plain/page.html")
    assert (facts.schema_type, facts.fields) == (None, {})
    assert facts.title == "A walk in Taman Tasik Perdana"
    assert "oldest park in Kuala Lumpur" in facts.text
    assert facts.language == "en"  # no lang attribute: guessed from the text
    assert [(i.url, i.alt, i.source) for i in facts.images] == [
        (f"{BASE}/img/plain.png", "A green path beside the lake in the gardens", "content")
    ]


@pytest.mark.parametrize(
    ("path", "reason"),
    [("noai.html", "noai"), ("tdm.html", "tdm-reservation")],
)
def test_refusing_meta_tags(path, reason):
    facts = page(path)
    assert facts.refused == reason
    assert facts.images == [] and facts.text == ""


@pytest.mark.parametrize(
    ("headers", "reason"),
    [
        ({"X-Robots-Tag": "noimageai"}, "noimageai"),
        ({"x-robots-tag": "otherbot: noai, nofollow"}, "noai"),
        ({"TDM-Reservation": "1"}, "tdm-reservation"),
        ({"tdm-reservation": "0"}, None),
        ({"X-Robots-Tag": "noindex"}, None),
    ],
)
def test_refusing_headers(headers, reason):
    facts = page("plain/page.html", headers)
    assert facts.refused == reason
    assert bool(facts.images) == (reason is None)


def test_noimageai_alone_in_meta():
    html = '<html><head><meta name="ROBOTS" content="index,NoImageAI"></head><body><img src="a.jpg" alt="x"></body></html>'
    assert extract_page(f"{BASE}/x.html", html).refused == "noimageai"


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("ms", "ms"),
        ("ms-MY", "ms"),
        ("MAY", "ms"),
        ("zsm", "ms"),
        ("id", "other"),
        ("en-GB", "en"),
        ("fr", "other"),
        ("", None),
        (None, None),
    ],
)
def test_language_codes(code, expected):
    assert normalise_language(code) == expected


def test_content_language_header_when_the_page_has_no_lang():
    html = "<html><head><title>t</title></head><body><p>Selamat datang.</p></body></html>"
    assert extract_page(f"{BASE}/x.html", html, {"Content-Language": "ms-MY, en"}).language == "ms"


def test_srcset_by_density_relative_urls_and_skipped_pictures():
    html = """<html><body><main>
      <img src="pic.jpg" srcset="pic.jpg 1x, pic@2x.jpg 2x, pic@3x.jpg 3x" alt="density">
      <img src="data:image/png;base64,AAAA" alt="inline">
      <img src="/track.gif" width="1" height="1">
      <img srcset="../w300.jpg 300w, ../w900.jpg 900w, ../w600.jpg 600w" alt="widths" width="300" height="200">
      <picture><source srcset="big.webp 1200w"><img src="small.jpg" alt="picture" width="400"></picture>
    </main><footer><img src="/logo.png" alt="logo"></footer></body></html>"""
    facts = extract_page(f"{BASE}/dir/page.html", html)
    assert [(i.url, i.alt) for i in facts.images] == [
        (f"{BASE}/dir/pic@3x.jpg", "density"),
        (f"{BASE}/w900.jpg", "widths"),
        (f"{BASE}/dir/big.webp", "picture"),
    ]
    assert (facts.images[1].width, facts.images[1].height) == (900, 600)


def test_license_from_schema_org_and_from_a_cc_link():
    json_ld = '{"@context": "https://schema.org", "@type": "Article", "headline": "h", "license": "https://creativecommons.org/licenses/by-sa/4.0/"}'
    html = f'<html><head><script type="application/ld+json">{json_ld}</script></head><body><p>t</p></body></html>'
    assert extract_page(f"{BASE}/a.html", html).license == "https://creativecommons.org/licenses/by-sa/4.0/"
    html = '<html><body><p>Shared under <a href="https://creativecommons.org/licenses/by-nc/4.0/">CC BY-NC</a>.</p></body></html>'
    assert extract_page(f"{BASE}/b.html", html).license == "https://creativecommons.org/licenses/by-nc/4.0/"


@pytest.mark.parametrize(
    "html",
    [
        "",
        b"",
        "   ",
        "<<<>>> not html at all <img",
        "<html><body><div><p>unclosed <b>tags <img src='x.jpg' alt='still here'",
        '<?xml version="1.0" encoding="utf-8"?><html><body><p>xml declared</p></body></html>',
        b"\xff\xfe\x00\x00garbage\x80\x81",
        '<html><head><script type="application/ld+json">{"@type": "Recipe", "name": </script></head><body></body></html>',
        '<html><head><script type="application/ld+json">[{"@type": ["Recipe", "Thing"], "recipeInstructions": 5, "image": {"width": "x"}}]</script></head></html>',
        '<html><body itemscope itemtype="https://schema.org/Car"><span itemprop="offers">cheap</span></body></html>',
    ],
)
def test_broken_and_empty_pages_do_not_raise(html):
    facts = extract_page(f"{BASE}/broken.html", html)
    assert facts.url == f"{BASE}/broken.html"
    assert isinstance(facts.text, str) and isinstance(facts.fields, dict)


def test_unclosed_markup_keeps_its_picture():
    facts = extract_page(f"{BASE}/x.html", "<html><body><div><p>unclosed <b>tags <img src='x.jpg' alt='still here'> and no end")
    assert [(i.url, i.alt) for i in facts.images] == [(f"{BASE}/x.jpg", "still here")]


def test_windows_1252_page_with_a_charset_meta():
    html = '<html><head><meta charset="windows-1252"><title>Caf\u00e9 \u201cKopi\u201d</title></head><body><p>Na\u00efve text.</p></body></html>'
    facts = extract_page(f"{BASE}/cafe.html", html.encode("windows-1252"))
    assert facts.title == "Caf\u00e9 \u201cKopi\u201d"


def test_charset_from_the_header_wins_and_bad_bytes_are_replaced():
    body = "<html><head><title>Se\u00f1or</title></head><body></body></html>".encode("latin-1")
    assert extract_page(f"{BASE}/a.html", body, {"Content-Type": "text/html; charset=ISO-8859-1"}).title == "Se\u00f1or"
    # no charset anywhere: UTF-8 with replacement, no error
    assert extract_page(f"{BASE}/a.html", body).title == "Se\ufffdor"
    # an unknown charset name falls through to UTF-8
    assert extract_page(f"{BASE}/a.html", body, {"Content-Type": "text/html; charset=klingon"}).title == "Se\ufffdor"
