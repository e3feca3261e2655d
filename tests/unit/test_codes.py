"""The domain's codes live in domain/codes.py (and the life-cycle statuses in
domain/lifecycle.py), nowhere else:

- the values are the contract's strings, pinned here (they are stored and sent);
- the database CHECKs built from them are the text the migrations wrote;
- the request schemas' Literal types hold exactly the enums' values;
- the files that use them compare against the enums, never a scattered literal, and
  spell no card / code / region pattern of their own (an AST scan, itself tested on a
  planted literal so it cannot silently stop finding one);
- the domain reads no clock.
"""

from __future__ import annotations

import ast
from pathlib import Path
from typing import get_args

import pytest
from sqlalchemy import CheckConstraint

from gongji.api import schemas
from gongji.domain import codes
from gongji.domain.codes import (
    ADMDVS,
    CARD_NO,
    FIXMEDINS_CODE,
    STORED_ACCOUNT_STATUSES,
    AccountStatus,
    AcctUsedFlag,
    CertType,
    Channel,
    Gender,
    InstitutionType,
    InsuStatus,
    InsuType,
    KinshipVerification,
    PsnCertType,
    StmtResult,
    values,
)
from gongji.domain.lifecycle import BindingStatus, InvitationStatus
from gongji.store.schema import metadata

SRC = Path(__file__).resolve().parents[2] / "src" / "gongji"

# The files whose codes come from domain/codes.py. Others are being reworked elsewhere
# (api/gateway.py, api/observability.py, the app, cli.py, services/operations,
# store/journal.py) and are not held to this yet.
OWNED_TREES = ("domain", "services/binding", "services/money", "services/registry",
               "services/reads", "services/settlement")
OWNED_FILES = ("store/repo.py", "store/schema.py", "api/schemas.py")
NOT_OWNED = {"domain/codes.py", "domain/text.py"}
# (file, top-level name) left alone on purpose: settle.py's table of transaction codes.
EXEMPT = {("services/settlement/settle.py", "SCENES"),
          ("services/settlement/settle.py", "institution_for")}

CODE_ENUMS = (InsuStatus, InsuType, AccountStatus, CertType, PsnCertType, Gender,
              AcctUsedFlag, StmtResult, InstitutionType, Channel, KinshipVerification,
              BindingStatus, InvitationStatus)
BANNED_IN_COMPARISONS = frozenset(v for enum in CODE_ENUMS for v in values(enum))
PATTERNS = frozenset(p.pattern for p in (ADMDVS, CARD_NO, FIXMEDINS_CODE))


# --- the values themselves ---------------------------------------------------------------------


def test_the_codes_are_the_contracts_strings():
    assert values(InsuStatus) == ("1", "2")
    assert values(InsuType) == ("310", "390")
    assert values(AccountStatus) == ("normal", "frozen", "none")
    assert values(STORED_ACCOUNT_STATUSES) == ("normal", "frozen")
    assert values(CertType) == ("01", "02", "03")
    assert values(PsnCertType) == ("01",)
    assert values(Gender) == ("1", "2")
    assert values(AcctUsedFlag) == ("1", "0")
    assert values(StmtResult) == ("0", "1")
    assert values(InstitutionType) == ("hospital", "pharmacy")
    assert values(Channel) == ("national_app", "mini_program", "wechat", "website", "hall",
                               "kiosk")
    assert values(KinshipVerification) == ("registry", "declaration")
    assert values(BindingStatus) == ("active", "unbound", "ended")
    assert values(InvitationStatus) == ("pending", "active", "declined", "withdrawn", "expired")


def test_members_are_their_strings():
    """Stored and sent as they are: equal, hashed and formatted as the plain string."""
    for enum in CODE_ENUMS:
        for member in enum:
            assert member == member.value and hash(member) == hash(member.value)
            assert f"{member}" == str(member) == member.value


@pytest.mark.parametrize(("pattern", "good", "bad"), [
    (ADMDVS, ["542500", "451000"], ["54250", "5425001", "54250a", ""]),
    (CARD_NO, ["A", "ALI0001", "x" * 32], ["", "x" * 33, "ALI-0001", "卡1"]),
    (FIXMEDINS_CODE, ["H54250001", "x" * 30], ["", "x" * 31, "H 1"]),
])
def test_patterns(pattern, good, bad):
    assert all(pattern.match(text) for text in good)
    assert not any(pattern.match(text) for text in bad)


# --- built from the codes ----------------------------------------------------------------------


def _migration_strings() -> set[str]:
    found: set[str] = set()
    for path in (SRC / "store" / "migrations" / "versions").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                found.add(node.value)
    return found


def test_schema_checks_are_the_migrations_text():
    """schema.py builds its CHECKs and partial indexes from the enums; the text must be the
    very text the migrations created, or a model/database comparison would drift."""
    written = _migration_strings()
    texts = [c.sqltext.text for table in metadata.tables.values()
             for c in table.constraints if isinstance(c, CheckConstraint)]
    texts += [str(where) for table in metadata.tables.values() for index in table.indexes
              for where in (index.dialect_options["postgresql"].get("where"),
                            index.dialect_options["sqlite"].get("where")) if where is not None]
    missing = [text for text in texts if text not in written]
    assert not missing, missing
    by_name = {c.name: c.sqltext.text for c in metadata.tables["persons"].constraints
               if isinstance(c, CheckConstraint)}
    assert by_name["ck_persons_insutype"] == "insutype IN ('310', '390')"
    assert by_name["ck_persons_insu_stas"] == "psn_insu_stas IN ('1', '2')"
    assert metadata.tables["accounts"].c.status.server_default.arg == "normal"


@pytest.mark.parametrize(("model", "field", "expected"), [
    (schemas.PersonIn, "insutype", values(InsuType)),
    (schemas.PersonIn, "psn_insu_stas", values(InsuStatus)),
    (schemas.PersonPatch, "psn_insu_stas", values(InsuStatus)),
    (schemas.PersonPatch, "account_status", values(STORED_ACCOUNT_STATUSES)),
    (schemas.InstitutionIn, "fixmedins_type", values(InstitutionType)),
])
def test_request_literals_are_the_enums_values(model, field, expected):
    annotation = model.model_fields[field].annotation
    args = get_args(annotation)
    if type(None) in args:  # Literal[...] | None
        (literal,) = [a for a in args if a is not type(None)]
        args = get_args(literal)
    assert args == expected
    assert all(type(a) is str for a in args)  # plain strings in the OpenAPI document


# --- no scattered literal ----------------------------------------------------------------------


def _strings(node: ast.AST) -> list[ast.Constant]:
    """The string constants a comparison operand is made of (a tuple/list/set for `in`)."""
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node]
    if isinstance(node, ast.Tuple | ast.List | ast.Set):
        return [e for e in node.elts if isinstance(e, ast.Constant) and isinstance(e.value, str)]
    return []


def scattered_literals(source: str,
                       exempt: frozenset[str] = frozenset()) -> list[tuple[int, str]]:
    """(line, text) of every code compared as a bare literal (==, !=, in, not in, match)
    and of every card / code / region pattern spelt out, outside the top-level names in
    `exempt`."""
    tree = ast.parse(source)
    skip: set[int] = set()
    for top in tree.body:
        names = ({top.name} if isinstance(top, ast.FunctionDef | ast.ClassDef) else
                 {t.id for t in getattr(top, "targets", [getattr(top, "target", None)])
                  if isinstance(t, ast.Name)})
        if names & exempt:
            skip |= {id(n) for n in ast.walk(top)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.Compare):
            for operand in (node.left, *node.comparators):
                found += [(c.lineno, c.value) for c in _strings(operand)
                          if c.value in BANNED_IN_COMPARISONS]
        elif isinstance(node, ast.MatchValue):
            found += [(c.lineno, c.value) for c in _strings(node.value)
                      if c.value in BANNED_IN_COMPARISONS]
        elif isinstance(node, ast.Constant) and node.value in PATTERNS:
            found.append((node.lineno, node.value))
    return sorted(found)


def owned_files() -> list[Path]:
    files = [p for tree in OWNED_TREES for p in (SRC / tree).rglob("*.py")]
    files += [SRC / f for f in OWNED_FILES]
    return sorted(p for p in files if p.relative_to(SRC).as_posix() not in NOT_OWNED)


def test_no_scattered_code_literals_in_the_files_that_use_the_codes():
    found = []
    for path in owned_files():
        rel = path.relative_to(SRC).as_posix()
        exempt = frozenset(name for file, name in EXEMPT if file == rel)
        found += [f"{rel}:{line}: {text!r}" for line, text in
                  scattered_literals(path.read_text(encoding="utf-8"), exempt)]
    assert not found, "compare against domain/codes.py (or lifecycle) enums:\n" + "\n".join(found)


def test_the_scan_covers_the_files_it_should():
    rel = {p.relative_to(SRC).as_posix() for p in owned_files()}
    assert {"domain/eligibility.py", "services/settlement/settle.py", "store/schema.py",
            "store/repo.py", "api/schemas.py", "services/registry/reference.py"} <= rel
    assert not rel & NOT_OWNED


PLANTED = '''
import re
from gongji.domain.codes import InsuType

SCENES = {"2101": ("pharmacy", "presettle")}


def helper(row, kind):
    if row.insutype == InsuType.EMPLOYEE:  # fine
        pass
    if row.status != "frozen":
        pass
    if kind not in ("hospital", "pharmacy"):
        pass
    if "310" == row.insutype or row.flag in {"1", "0"}:
        pass
    match row.insu_stas:
        case "2":
            pass
    return re.match(r"^[0-9A-Za-z]{1,32}$", row.card_no), "normal"  # the return is no test


def institution_for(inst):
    return inst.fixmedins_type == "hospital"
'''


def test_the_scan_finds_planted_literals():
    assert scattered_literals(PLANTED) == sorted([
        (11, "frozen"), (13, "hospital"), (13, "pharmacy"), (15, "310"), (15, "1"), (15, "0"),
        (18, "2"), (20, r"^[0-9A-Za-z]{1,32}$"), (24, "hospital")])


def test_the_scan_leaves_exempt_names_alone():
    found = scattered_literals(PLANTED, frozenset({"institution_for", "SCENES"}))
    assert "hospital" in [text for _, text in found]  # the one in `helper`
    assert len(found) == 8


def test_the_scan_passes_clean_code():
    clean = '''
"""Docstrings may say "310" and "frozen"."""
from gongji.domain.codes import AccountStatus, CARD_NO
x = {"status": "normal"}
def f(row):
    return row.status == AccountStatus.NORMAL and CARD_NO.match(row.card_no)
'''
    assert scattered_literals(clean) == []


# --- the domain reads no clock -----------------------------------------------------------------

CLOCK_READS = {("date", "today"), ("datetime", "now"), ("datetime", "utcnow"),
               ("datetime", "today"), ("time", "time"), ("time", "monotonic")}


def clock_reads(source: str) -> list[int]:
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name)
            and (node.func.value.id, node.func.attr) in CLOCK_READS]


def test_the_domain_reads_no_clock():
    found = [f"{p.relative_to(SRC)}:{line}" for p in sorted((SRC / "domain").rglob("*.py"))
             for line in clock_reads(p.read_text(encoding="utf-8"))]
    assert not found, "pass the date or time in from the caller:\n" + "\n".join(found)


def test_the_clock_scan_finds_a_planted_read():
    assert clock_reads("from datetime import date\ndef f():\n    return date.today()\n") == [3]
    assert clock_reads("def f(today):\n    return today\n") == []


def test_codes_module_is_pure():
    """domain/codes.py imports nothing but the standard library."""
    tree = ast.parse(Path(codes.__file__).read_text(encoding="utf-8"))
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    imported |= {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert imported <= {"__future__", "re", "enum"}


def test_a_literal_planted_in_an_owned_file_is_found():
    path = SRC / "services" / "money" / "premium.py"
    source = path.read_text(encoding="utf-8")
    assert scattered_literals(source) == []
    planted = source + '\n\ndef _planted(account):\n    return account.status == "frozen"\n'
    assert [text for _, text in scattered_literals(planted)] == ["frozen"]
