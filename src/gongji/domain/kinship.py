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
