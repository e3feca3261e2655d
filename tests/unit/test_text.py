"""check_printable: control, format (zero-width, bidirectional) and separator characters are
refused wherever they sit in the text; every name a person may bear is kept as it is."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.errors import DomainError
from gongji.domain.text import check_printable, unprintable

REFUSED = (["\x00", "\t", "\n", "\r", "\x1b", "\x7f", "\x85", "\u00ad", "\u061c",
            "\u2028", "\u2029", "\u2060", "\ufeff", "\ud800"]
           + [chr(c) for c in range(0x200B, 0x2010)]
           + [chr(c) for c in range(0x202A, 0x202F)]
           + [chr(c) for c in range(0x2066, 0x206A)])
KEPT = ["阿依古丽·买买提", "欧阳娜娜", "次仁央宗", "John Smith", "O'Brien-Lee", "玛丽・居里",
        "\ue000华", "\U00031350明", "张\u3000三", "Zoë", "人民医院（阿里）", "clerk-1"]


@pytest.mark.parametrize("char", REFUSED, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("where", ["start", "middle", "end", "alone"])
def test_an_unprintable_character_is_refused_anywhere(char, where):
    text = {"start": char + "央金", "middle": "央" + char + "金", "end": "央金" + char,
            "alone": char}[where]
    with pytest.raises(DomainError) as refused:
        check_printable(text, "姓名")
    assert refused.value.code == "INVALID_INPUT"
    assert f"U+{ord(char):04X}" in refused.value.message and "姓名" in refused.value.message
    assert char not in refused.value.message


@pytest.mark.parametrize("name", KEPT)
def test_every_real_name_is_kept_as_it_is(name):
    assert check_printable(name, "姓名") == name


@given(st.text(st.characters(blacklist_categories=("Cc", "Cf", "Cs", "Zl", "Zp"))))
def test_text_without_refused_categories_passes(text):
    assert check_printable(text, "x") == text


@given(st.text(), st.sampled_from(REFUSED), st.text())
def test_text_with_one_refused_character_fails(before, char, after):
    assert unprintable(before + char + after) is not None
