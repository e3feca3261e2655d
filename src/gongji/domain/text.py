"""Stored free text (names, notes, references, clerk ids): printable characters only.

A name is shown to clerks, printed on exports and compared at the window. Characters
that are invisible or reorder what is shown make two different names look the same
(`央金\u200b` vs `央金`), make an export lie about its content (U+202E turns `exe.txt`
into `txt.exe`), or break a CSV row and a log line (newlines, NUL, which PostgreSQL
cannot even store). They are refused, the same way on every path and every database.

Refused, by Unicode general category:
- Cc  control characters: NUL, tab, CR, LF and the rest of C0/C1;
- Cf  format characters: zero-width space/joiners U+200B–U+200D, LRM/RLM U+200E–U+200F,
      bidirectional embeddings and overrides U+202A–U+202E, isolates U+2066–U+2069, word
      joiner U+2060, BOM U+FEFF, soft hyphen, tag characters...;
- Cs  lone surrogates (not text at all);
- Zl, Zp  the line and paragraph separators U+2028, U+2029.
Allowed: every letter (unassigned code points and private use too, where rare characters
of Chinese names live), punctuation such as the middle dot of minority names
(阿依古丽·买买提, U+00B7), and ordinary spaces.
"""

from __future__ import annotations

import unicodedata

from gongji.domain.errors import refuse

_REFUSED_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Zl", "Zp"})


def unprintable(text: str) -> str | None:
    """The first character of `text` that may not be stored, or None."""
    for char in text:
        if unicodedata.category(char) in _REFUSED_CATEGORIES:
            return char
    return None


def check_printable(text: str, field: str) -> str:
    """`text` unchanged if every character may be stored; else INVALID_INPUT naming the
    field and the offending code point (never the character itself: it is invisible)."""
    bad = unprintable(text)
    if bad is not None:
        raise refuse("INVALID_INPUT", f"{field}含有控制字符、不可见字符或双向控制字符"
                                      f"（U+{ord(bad):04X}）")
    return text


def check_name(name: object, field: str = "姓名", longest: int = 50) -> str:
    """A person's or institution's name: printable, 1–`longest` characters once the
    surrounding spaces are dropped (checked before, so no newline hides in them)."""
    if not isinstance(name, str) or not name.strip() or len(name.strip()) > longest:
        raise refuse("INVALID_INPUT", f"{field}须为 1–{longest} 个字符")
    return check_printable(name, field).strip()
