"""A demo dataset for both regions: families, kinships, bindings, credits, institutions."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from gongji.domain.errors import DomainError
from gongji.domain.idcard import make_certno
from gongji.domain.kinship import Relation
from gongji.services.binding.actor import Actor
from gongji.services.binding.bindings import hall_bind
from gongji.services.catalogue.demo_items import seed_catalogue
from gongji.services.context import Context
from gongji.services.registry import reference
from gongji.store import repo
from gongji.store.schema import institutions, persons

# (region, county code for ID numbers, institutions, family members)
# member: (key, name, sex M/F, insutype, birth, card_no, credit yuan); the sex sets the
# parity of the ID number's 17th digit (GB 11643: odd for men, even for women)
FAMILIES = {
    "542500": {
        "county": "542521",
        "institutions": [("H54250001", "阿里地区人民医院", "hospital"),
                         ("P54250001", "狮泉河大药房", "pharmacy")],
        "members": [("zhuoma", "卓玛", "F", "310", date(1978, 3, 12), "ALI0001", "1200.00"),
                    ("dawa", "达瓦", "M", "310", date(1976, 8, 2), "ALI0002", "300.00"),
                    ("pingcuo", "平措", "M", "390", date(2012, 5, 20), "ALI0003", None),
                    ("cirenyangzong", "次仁央宗", "F", "390", date(1950, 1, 9), "ALI0004", None),
                    ("zhaxi", "扎西", "M", "310", date(1981, 6, 15), "ALI0005", "800.00")],
        "kinships": [("zhuoma", "dawa", Relation.SPOUSE), ("zhuoma", "pingcuo", Relation.CHILD),
                     ("dawa", "pingcuo", Relation.CHILD),
                     ("zhuoma", "cirenyangzong", Relation.PARENT),
                     ("zhuoma", "zhaxi", Relation.SIBLING),
                     ("zhaxi", "cirenyangzong", Relation.PARENT)],
        "bindings": [("zhuoma", "pingcuo", Relation.CHILD), ("dawa", "pingcuo", Relation.CHILD),
                     ("zhuoma", "cirenyangzong", Relation.PARENT)],
    },
    "451000": {
        "county": "451002",
        "institutions": [("H45100001", "百色市人民医院", "hospital"),
                         ("P45100001", "右江区惠民大药房", "pharmacy")],
        "members": [("huangli", "黄丽", "F", "310", date(1985, 11, 30), "BS0001", "2000.00"),
                    ("nongwei", "农伟", "M", "310", date(1983, 4, 18), "BS0002", "50.00"),
                    ("huangxiaoming", "黄小明", "M", "390", date(2016, 9, 1), "BS0003", None),
                    ("ouyangfang", "欧阳芳", "F", "390", date(1958, 7, 7), "BS0004", None)],
        "kinships": [("huangli", "nongwei", Relation.SPOUSE),
                     ("huangli", "huangxiaoming", Relation.CHILD),
                     ("nongwei", "huangxiaoming", Relation.CHILD),
                     ("huangli", "ouyangfang", Relation.PARENT)],
        "bindings": [("nongwei", "huangxiaoming", Relation.CHILD),
                     ("huangli", "huangxiaoming", Relation.CHILD),
                     ("huangli", "ouyangfang", Relation.PARENT)],
    },
}


def seed(ctx: Context) -> dict:
    """Create the demo data once; running it again changes nothing. Returns who is who."""
    people: dict[str, dict] = {}
    institutions: list[str] = []
    for admdvs, family in FAMILIES.items():
        for code, name, kind in family["institutions"]:
            _institution(ctx, code, name, kind, admdvs)
            institutions.append(code)
        certnos = {}
        for seq, (key, name, _sex, insutype, _born, card, credit) in enumerate(
                family["members"], 1):
            people[key] = _person(ctx, _certno(family, seq), name, insutype, admdvs, card)
            certnos[key] = people[key]["certno"]  # as stored (see _person)
            if credit:
                reference.credit_account(ctx, people[key]["psn_no"],
                                         {"amount": credit, "ref": f"demo-{key}-2025-01"})
        for a, b, relation in family["kinships"]:
            reference.add_kinship(ctx, {"certno": certnos[a], "relative_certno": certnos[b],
                                        "relation": relation.value})
        for helper, beneficiary, relation in family["bindings"]:
            _binding(ctx, admdvs, certnos[helper], certnos[beneficiary], relation)
    seed_catalogue(ctx)  # 医保目录 of both provinces: fee lines are classified by it
    return {"persons": people, "institutions": institutions}


def _certno(family: dict, seq: int) -> str:
    """The ID number of the family's seq-th member (1-based): county, birth date, a
    sequence whose last digit is odd for a man and even for a woman."""
    _key, _name, sex, _insutype, born, _card, _credit = family["members"][seq - 1]
    return make_certno(family["county"], born, seq * 7, female=sex == "F")


def certnos() -> dict[str, str]:
    """Each demo person's key and ID number."""
    return {member[0]: _certno(family, seq) for family in FAMILIES.values()
            for seq, member in enumerate(family["members"], 1)}


def sexes() -> dict[str, str]:
    """Each demo person's key and intended sex, M or F."""
    return {member[0]: member[2] for family in FAMILIES.values()
            for member in family["members"]}


def _institution(ctx: Context, code: str, name: str, kind: str, admdvs: str) -> None:
    with ctx.read() as uow:
        if repo.institution_by_code(uow.conn, code) is not None:
            return
    reference.create_institution(ctx, {"fixmedins_code": code, "fixmedins_name": name,
                                       "fixmedins_type": kind, "admdvs": admdvs})


def _person(ctx: Context, certno: str, name: str, insutype: str, admdvs: str,
            card: str) -> dict:
    with ctx.read() as uow:
        # A database seeded before the sex digits were fixed holds the demo person under
        # an older number with the same card: keep that person (delete the file to reseed).
        row = repo.person_by_certno(uow.conn, certno) or repo.person_by_card(uow.conn, card)
    if row is not None:
        return reference.get_person(ctx, row.psn_no)
    return reference.create_person(ctx, {"certno": certno, "psn_name": name,
                                         "insutype": insutype, "insuplc_admdvs": admdvs,
                                         "card_no": card})


def _binding(ctx: Context, admdvs: str, helper: str, beneficiary: str, relation: Relation) -> None:
    try:
        hall_bind(ctx, {"helper_certno": helper, "beneficiary_certno": beneficiary,
                        "relation": relation.value, "documents_checked": True},
                  Actor("clerk", "demo-clerk", "hall", admdvs))
    except DomainError as error:
        if error.code != "BINDING_EXISTS":
            raise


def identities(ctx: Context) -> dict:
    """Who the demo data holds, for the pages' demo sign-in (full data: demo only)."""
    cards = [member[5] for family in FAMILIES.values() for member in family["members"]]
    with ctx.read() as uow:
        people = uow.conn.execute(select(persons.c.psn_no, persons.c.certno, persons.c.psn_name,
                                         persons.c.insutype, persons.c.insuplc_admdvs)
                                  .where(persons.c.card_no.in_(cards))
                                  .order_by(persons.c.id)).all()
        insts = uow.conn.execute(select(institutions.c.fixmedins_code,
                                        institutions.c.fixmedins_name,
                                        institutions.c.fixmedins_type, institutions.c.admdvs)
                                 .order_by(institutions.c.id)).all()
    return {
        "persons": [dict(row._mapping) for row in people],
        "institutions": [dict(row._mapping) for row in insts],
        "clerks": [{"clerk_id": f"clerk-{region}", "admdvs": region} for region in FAMILIES],
    }
