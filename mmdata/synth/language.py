"""Is this text Malay or English? A stopword vote: no model to download, right on the texts we make.

Malay and English share the Latin alphabet and many loanwords, but their function words differ
completely; counting them separates the two reliably on sentences, which is what we check.
"""

from __future__ import annotations

import re

MALAY = set(
    """yang dan di ini itu dengan untuk tidak ada dari ke dalam pada akan adalah boleh saya anda
kita kami mereka ialah juga atau oleh telah sudah lebih sangat apa apakah bagaimana mengapa kenapa kerana
tetapi seperti semua ia dia sebuah seorang tersebut antara bagi hanya masih belum perlu dapat banyak
selepas sebelum jika kalau supaya agar manakala iaitu bukan tiada sahaja lagi pun nya beliau""".split()
)
ENGLISH = set(
    """the and is are of to in that it for with on was were this what how why be as you they
he she we an or by from at which their there has have had not but can will would should could about
into than then them these those been being its our your who whom does did""".split()
)
_WORD = re.compile(r"[a-zA-Z]+")


def language_of(text: str) -> str | None:
    """ "ms", "en", or None when the text has too few function words to tell."""
    words = [w.lower() for w in _WORD.findall(text)]
    ms = sum(w in MALAY for w in words)
    en = sum(w in ENGLISH for w in words)
    if ms + en < 2:
        return None
    if ms >= 2 * en:
        return "ms"
    if en >= 2 * ms:
        return "en"
    return None


def is_language(text: str, language: str) -> bool:
    """True unless the text is recognisably the other language (short texts pass)."""
    found = language_of(text)
    return found is None or found == language
