"""Close relatives (近亲属) as a closed set, so a relation is always one the rules know."""

from __future__ import annotations

from enum import StrEnum

from gongji.domain.errors import refuse


class Relation(StrEnum):
    """What the other person is to the subject: `parent` means "is my parent"."""

    SPOUSE = "spouse"
    PARENT = "parent"
    CHILD = "child"
    SIBLING = "sibling"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"


_INVERSE = {
    Relation.SPOUSE: Relation.SPOUSE,
    Relation.PARENT: Relation.CHILD,
    Relation.CHILD: Relation.PARENT,
    Relation.SIBLING: Relation.SIBLING,
    Relation.GRANDPARENT: Relation.GRANDCHILD,
    Relation.GRANDCHILD: Relation.GRANDPARENT,
}

RELATION_ZH: dict[Relation, str] = {
    Relation.SPOUSE: "配偶",
    Relation.PARENT: "父母",
    Relation.CHILD: "子女",
    Relation.SIBLING: "兄弟姐妹",
    Relation.GRANDPARENT: "祖父母/外祖父母",
    Relation.GRANDCHILD: "孙子女/外孙子女",
}

# Chinese words people and registries actually write, each mapped to the relation.
_ZH_WORDS: dict[str, Relation] = {
    **{label: rel for rel, label in RELATION_ZH.items()},
    "祖父母": Relation.GRANDPARENT,
    "外祖父母": Relation.GRANDPARENT,
    "孙子女": Relation.GRANDCHILD,
    "外孙子女": Relation.GRANDCHILD,
}


def inverse(r: Relation) -> Relation:
    """The relation seen from the other side: if B is A's parent, A is B's child."""
    return _INVERSE[Relation(r)]


# What a relative is called, by their sex (male, female): the words people use of their own
# kin. Siblings' and grandparents' words cannot say older/younger or paternal/maternal, which
# no record here knows, so both are named.
_KIN_WORDS: dict[Relation, tuple[str, str]] = {
    Relation.SPOUSE: ("丈夫", "妻子"),
    Relation.PARENT: ("父亲", "母亲"),
    Relation.CHILD: ("儿子", "女儿"),
    Relation.SIBLING: ("兄弟", "姐妹"),
    Relation.GRANDPARENT: ("祖父/外祖父", "祖母/外祖母"),
    Relation.GRANDCHILD: ("孙子/外孙", "孙女/外孙女"),
}


def seen_by(stored: Relation | str, reader_is_helper: bool) -> Relation:
    """The counterpart's relation to the reader. A binding stores what the beneficiary is to
    the helper, so the helper reads it as stored and the beneficiary reads its inverse."""
    relation = Relation(stored)
    return relation if reader_is_helper else inverse(relation)


def kin_word(relation: Relation | str, female: bool) -> str:
    """The word for a relative of this relation and sex: parent + female → 母亲."""
    male_word, female_word = _KIN_WORDS[Relation(relation)]
    return female_word if female else male_word


def parse_relation(value: object) -> Relation:
    """Accept a Relation, its English value (any case) or its Chinese label."""
    if isinstance(value, Relation):
        return value
    if isinstance(value, str):
        text = value.strip()
        try:
            return Relation(text.lower())
        except ValueError:
            pass
        if text in _ZH_WORDS:
            return _ZH_WORDS[text]
    allowed = ", ".join(r.value for r in Relation)
    raise refuse("INVALID_RELATION", f"{repr(value)[:40]} 不是 {allowed} 之一")
