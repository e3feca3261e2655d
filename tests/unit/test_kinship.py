"""Close relatives and their inverses."""

import pytest

from gongji.domain.errors import DomainError
from gongji.domain.kinship import RELATION_ZH, Relation, inverse, parse_relation


def test_there_are_six_kinds_of_close_relative():
    assert {r.value for r in Relation} == {
        "spouse", "parent", "child", "sibling", "grandparent", "grandchild",
    }


@pytest.mark.parametrize(
    ("relation", "other_side"),
    [
        (Relation.SPOUSE, Relation.SPOUSE),
        (Relation.PARENT, Relation.CHILD),
        (Relation.CHILD, Relation.PARENT),
        (Relation.SIBLING, Relation.SIBLING),
        (Relation.GRANDPARENT, Relation.GRANDCHILD),
        (Relation.GRANDCHILD, Relation.GRANDPARENT),
    ],
)
def test_inverse_gives_the_relation_seen_from_the_other_side(relation, other_side):
    assert inverse(relation) is other_side


def test_inverse_twice_is_the_identity():
    assert all(inverse(inverse(r)) is r for r in Relation)


def test_every_relation_has_a_chinese_label():
    assert set(RELATION_ZH) == set(Relation)
    assert RELATION_ZH[Relation.SPOUSE] == "配偶"
    assert RELATION_ZH[Relation.GRANDCHILD] == "孙子女/外孙子女"


@pytest.mark.parametrize(
    ("value", "relation"),
    [
        (Relation.CHILD, Relation.CHILD),
        ("spouse", Relation.SPOUSE),
        (" Parent ", Relation.PARENT),
        ("兄弟姐妹", Relation.SIBLING),
        ("外祖父母", Relation.GRANDPARENT),
        ("孙子女/外孙子女", Relation.GRANDCHILD),
    ],
)
def test_parses_english_values_and_chinese_labels(value, relation):
    assert parse_relation(value) is relation


@pytest.mark.parametrize("value", ["cousin", "", None, 1, ["spouse"], "表兄弟"])
def test_refuses_anything_that_is_not_a_close_relative(value):
    with pytest.raises(DomainError) as err:
        parse_relation(value)
    assert err.value.code == "INVALID_RELATION"
