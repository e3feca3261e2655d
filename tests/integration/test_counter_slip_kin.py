"""The counter's slip names each helper as the patient calls them: a settlement's and a
reversal's mulaid_detail carry `kin_to_patient`, from the binding's relation and the
helper's sex (the ID number's 17th digit), on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import date

from gongji.domain.idcard import is_female
from support import ok


def parent_word(certno: str) -> str:
    return "母亲" if is_female(certno) else "父亲"


def test_a_child_reads_each_parent_who_paid_and_got_back(world):
    world.institution("P54250001", "pharmacy")
    first, second = world.person("卓玛", credit="30.00"), world.person("达瓦", credit="50.00")
    child = world.person("平措", insutype="390")
    world.bind(first, child, "child")  # the child is each helper's child
    world.bind(second, child, "child")
    answer = world.settle("P54250001", child, "60.00", infno="2102")
    detail = ok(answer)["mulaid_detail"]
    assert [(d["kin_to_patient"], d["amount"]) for d in detail] == [
        (parent_word(first["certno"]), 30), (parent_word(second["certno"]), 30)]
    back = ok(world.reverse("P54250001", answer, child, infno="2103"))["mulaid_detail"]
    assert [(d["kin_to_patient"], d["amount"]) for d in back] == [
        (parent_word(first["certno"]), -30), (parent_word(second["certno"]), -30)]


def test_a_mother_reads_the_son_or_daughter_who_paid(world):
    world.institution("H54250001", "hospital")
    helper = world.person("扎西", credit="100.00")
    mother = world.person("次仁央宗", insutype="390", born=date(1950, 1, 9))
    world.bind(helper, mother, "parent")  # the mother is the helper's parent
    detail = ok(world.settle("H54250001", mother, "20.00"))["mulaid_detail"]
    assert [d["kin_to_patient"] for d in detail] == [
        "女儿" if is_female(helper["certno"]) else "儿子"]
