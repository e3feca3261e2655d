"""Relations said from the reader's side: the stored relation is the beneficiary's to the
helper, the word is chosen by the counterpart's sex (the ID number's 17th digit)."""

from __future__ import annotations

from datetime import date

from hypothesis import given
from hypothesis import strategies as st

from gongji.domain.idcard import is_female, make_certno
from gongji.domain.kinship import Relation, inverse, kin_word, seen_by
from gongji.services.reads.views import relation_to_you

MOTHER = make_certno("542521", date(1950, 1, 9), 24, female=True)
SON = make_certno("542521", date(1978, 5, 6), 23, female=False)


def test_the_sex_is_the_parity_of_the_seventeenth_digit():
    assert is_female(MOTHER) and not is_female(SON)
    assert MOTHER[16] in "02468" and SON[16] in "13579"


@given(st.dates(date(1930, 1, 1), date(2025, 12, 31)), st.integers(0, 999), st.booleans())
def test_make_certno_and_is_female_agree(born, seq, female):
    assert is_female(make_certno("542521", born, seq, female=female)) is female


def test_the_helper_reads_the_stored_relation_the_beneficiary_its_inverse():
    # A son helps his mother: stored "parent" (she is his parent).
    assert relation_to_you("parent", True, MOTHER) == "母亲"  # the son reads of his mother
    assert relation_to_you("parent", False, SON) == "儿子"  # the mother reads of her son
    assert relation_to_you("spouse", False, SON) == "丈夫"
    assert relation_to_you("grandchild", True, MOTHER) == "孙女/外孙女"
    assert relation_to_you(None, True, MOTHER) is None


@given(st.sampled_from(list(Relation)), st.booleans())
def test_both_sides_name_each_other_by_inverse_relations(relation, female):
    assert seen_by(relation, True) == relation
    assert seen_by(relation, False) == inverse(relation)
    assert seen_by(seen_by(relation, False), False) == relation
    word = kin_word(relation, female)
    assert word and word != kin_word(relation, not female)
