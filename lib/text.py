"""Text that comes from a CRM or a user, made safe to keep and to show."""

from __future__ import annotations

import re

import pandas as pd

# Bidi embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) can make "John \u202egnp.exe"
# read as "John exe.png"; zero-width characters (U+200B-U+200D, U+2060, U+FEFF) make "Da\u200bna" a second
# "Dana". Both are dropped from CRM text. The left-to-right and right-to-left marks (U+200E, U+200F) are
# kept: Hebrew text uses them legitimately, and they cannot reorder text beyond the mark itself.
_INVISIBLE = "\u200b\u200c\u200d\u2060\ufeff\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069"
_DROP = dict.fromkeys(map(ord, _INVISIBLE))
_MARKDOWN = re.compile(r"([\\`*_{}\[\]#|<>~$:&!])")  # what can start a link, an image, HTML or formatting


def clean(value: str) -> str:
    """One text with the bidi controls and zero-width characters removed."""
    return value.translate(_DROP)


def clean_text(values: pd.Series) -> pd.Series:
    """A text Series (string dtype, NA kept) with the bidi controls and zero-width characters removed."""
    s = values.astype("string")
    has = s.str.contains(f"[{_INVISIBLE}]", regex=True, na=False)
    if not has.any():
        return s
    return s.mask(has, s[has].str.translate(_DROP))


# What Streamlit's Markdown turns into a link even when its signs are escaped (web addresses, e-mail
# addresses): these go in a code span instead, where nothing is a link.
_LINKISH = re.compile(r"(?:https?://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)
_TRAILING = ".,:;!?)]}'\""


def _code_span(text: str) -> str:
    fence = "`" * (max((len(run) for run in re.findall(r"`+", text)), default=0) + 1)
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def escape_markdown(value: object) -> str:
    """Any text made literal inside st.markdown / st.error / st.caption: Markdown and HTML signs escaped,
    web and e-mail addresses in code spans (so no link is made of them)."""
    text, out, pos = str(value), [], 0
    for match in _LINKISH.finditer(text):
        address = match.group().rstrip(_TRAILING)
        out += [_MARKDOWN.sub(r"\\\1", text[pos : match.start()]), _code_span(address)]
        pos = match.start() + len(address)
    out.append(_MARKDOWN.sub(r"\\\1", text[pos:]))
    return "".join(out)
