"""Tables (SQLAlchemy Core). Money columns are integer fen and end in `_fen`.

The invariants that matter live here as constraints so the database refuses what
the code must never do: negative personal balances, settlements whose parts do not
add up, a second active binding for the same pair, a second premium for one year.
The journal's own rules (postings sum to zero, written once) are triggers added by
the migrations (see store/journal_ddl.py).
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import (
    BigInteger,
    CheckConstraint,
    Column,
    Date,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
)

from gongji.domain.codes import (
    STORED_ACCOUNT_STATUSES,
    AccountStatus,
    ChrgitmLv,
    InstitutionType,
    InsuStatus,
    InsuType,
)
from gongji.domain.lifecycle import BindingStatus, InvitationStatus
from gongji.domain.visit import VisitStatus
from gongji.store.types import BigId, UtcDateTime


def sql_in(column: str, codes: Iterable[str]) -> str:
    """`column IN ('a', 'b')`, the codes in declaration order: the same text the migrations
    wrote, so a CHECK built here is the one in the database."""
    return f"{column} IN ({', '.join(sql_text(code) for code in codes)})"


def sql_text(code: str) -> str:
    """A code as an SQL string literal (codes hold no quote)."""
    if "'" in code:
        raise ValueError(f"a code with a quote: {code!r}")
    return f"'{code}'"


_ACTIVE_BINDING = f"status = {sql_text(BindingStatus.ACTIVE)}"

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

persons = Table(
    "persons",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("psn_no", String(30), nullable=False, unique=True),
    Column("certno", String(18), nullable=False, unique=True),
    Column("psn_name", String(50), nullable=False),
    Column("insutype", String(3), nullable=False),
    Column("insuplc_admdvs", String(6), nullable=False),
    Column("psn_insu_stas", String(1), nullable=False),
    Column("card_no", String(32), unique=True),
    Column("created_at", UtcDateTime, nullable=False),
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint(sql_in("insutype", InsuType), name="insutype"),
    CheckConstraint(sql_in("psn_insu_stas", InsuStatus), name="insu_stas"),
)

# Personal accounts keep a running balance that may never go below zero. System
# accounts (pooled fund, institutions, cash, contribution source, premium
# collection) keep none: their balance is the sum of their postings, which keeps
# hot rows out of every settlement.
accounts = Table(
    "accounts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("code", String(64), nullable=False, unique=True),
    Column("kind", String(16), nullable=False),
    Column("person_id", BigInteger, ForeignKey("persons.id"), unique=True),
    Column("status", String(8), nullable=False, server_default=AccountStatus.NORMAL.value),
    Column("balance_fen", BigInteger),
    CheckConstraint(
        "kind IN ('personal', 'fund', 'institution', 'cash', 'contribution', 'premium')",
        name="kind",
    ),
    CheckConstraint(sql_in("status", STORED_ACCOUNT_STATUSES), name="status"),
    CheckConstraint("balance_fen IS NULL OR balance_fen >= 0", name="balance_not_negative"),
    CheckConstraint(
        "(kind = 'personal') = (balance_fen IS NOT NULL AND person_id IS NOT NULL)",
        name="personal_has_balance",
    ),
)

kinships = Table(
    "kinships",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("relative_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("relation", String(12), nullable=False),  # what the relative is to the person
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("person_id", "relative_id", name="uq_kinships_pair"),
    CheckConstraint("person_id <> relative_id", name="not_self"),
)

institutions = Table(
    "institutions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("fixmedins_code", String(30), nullable=False, unique=True),
    Column("fixmedins_name", String(200), nullable=False),
    Column("fixmedins_type", String(10), nullable=False),
    Column("admdvs", String(6), nullable=False),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    CheckConstraint(sql_in("fixmedins_type", InstitutionType), name="type"),
)

bindings = Table(
    "bindings",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("helper_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("beneficiary_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("relation", String(12), nullable=False),  # what the beneficiary is to the helper
    Column("status", String(8), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("verification", String(12), nullable=False),  # registry | declaration
    Column("invitation_id", BigInteger),
    Column("clerk_id", String(40)),
    Column("documents", Text),  # JSON: documents checked at the hall
    Column("order_pos", Integer, nullable=False),  # deduction order among the beneficiary's
    Column("activated_at", UtcDateTime, nullable=False),
    Column("ended_at", UtcDateTime),
    Column("ended_reason", String(24)),
    CheckConstraint(sql_in("status", BindingStatus), name="status"),
    CheckConstraint("helper_id <> beneficiary_id", name="not_self"),
    CheckConstraint(f"({_ACTIVE_BINDING}) = (ended_at IS NULL)", name="ended_when_inactive"),
    Index(
        "uq_bindings_active_pair",
        "helper_id",
        "beneficiary_id",
        unique=True,
        postgresql_where=text(_ACTIVE_BINDING),
        sqlite_where=text(_ACTIVE_BINDING),
    ),
    Index("ix_bindings_beneficiary", "beneficiary_id", "status"),
    Index("ix_bindings_helper", "helper_id", "status"),
)

invitations = Table(
    "invitations",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("helper_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("beneficiary_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("relation", String(12), nullable=False),
    Column("channel", String(16), nullable=False),
    Column("status", String(10), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("answered_at", UtcDateTime),
    Column("answered_by", BigInteger),  # person who accepted/declined (beneficiary or parent)
    Column("binding_id", BigInteger),
    CheckConstraint(sql_in("status", InvitationStatus), name="status"),
    Index("ix_invitations_helper", "helper_id"),
    Index("ix_invitations_beneficiary", "beneficiary_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False),
    Column("entity", String(12), nullable=False),  # binding | invitation | person | account
    Column("entity_id", BigInteger, nullable=False),
    Column("helper_id", BigInteger),
    Column("beneficiary_id", BigInteger),
    Column("action", String(24), nullable=False),
    Column("actor_role", String(12), nullable=False),
    Column("actor_id", String(40), nullable=False),
    Column("channel", String(16)),
    Column("before", String(16)),
    Column("after", String(16)),
    Column("detail", Text),
    Index("ix_audit_helper", "helper_id"),
    Index("ix_audit_beneficiary", "beneficiary_id"),
    Index("ix_audit_entity", "entity", "entity_id"),
)

# A journal transaction is written once, after its postings, and the migrations'
# triggers refuse it unless its postings sum to zero; postings can never change.
journal_txns = Table(
    "journal_txns",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=False),
    Column("kind", String(20), nullable=False),
    Column("ref", String(80)),
    Column("created_at", UtcDateTime, nullable=False),
    Column("posting_count", Integer, nullable=False),
    UniqueConstraint("kind", "ref", name="uq_journal_txns_kind_ref"),
    CheckConstraint("posting_count >= 2", name="two_legs"),
)

postings = Table(
    "postings",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("txn_id", BigInteger, nullable=False),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),  # + credit to the account, - debit
    Column("balance_after_fen", BigInteger),  # personal accounts only
    Column("at", UtcDateTime, nullable=False),
    Column("kind", String(20), nullable=False),  # copied from the txn for the entries query
    Column("counterpart_id", BigInteger),  # the beneficiary whose bill drew on this account
    Column("binding_id", BigInteger),
    Column("institution_id", BigInteger),
    Column("settlement_id", BigInteger),
    Column("premium_id", BigInteger),
    CheckConstraint("amount_fen <> 0", name="not_zero"),
    ForeignKeyConstraint(
        ["txn_id"], ["journal_txns.id"], deferrable=True, initially="DEFERRED",
        name="fk_postings_txn_id_journal_txns",
    ),
    Index("ix_postings_account_at", "account_id", "at", "id"),
    Index("ix_postings_txn", "txn_id"),
)

settlements = Table(
    "settlements",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("setl_id", String(30), nullable=False, unique=True),
    Column("institution_id", BigInteger, ForeignKey("institutions.id"), nullable=False),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("infno", String(4), nullable=False),
    Column("msgid", String(64), nullable=False),
    Column("mdtrt_cert_type", String(2), nullable=False),
    Column("insutype", String(3), nullable=False),
    Column("acct_used_flag", String(1), nullable=False),
    Column("medfee_sumamt_fen", BigInteger, nullable=False),
    Column("fulamt_ownpay_amt_fen", BigInteger, nullable=False),
    Column("overlmt_selfpay_fen", BigInteger, nullable=False),
    Column("preselfpay_amt_fen", BigInteger, nullable=False),
    Column("inscp_scp_amt_fen", BigInteger, nullable=False),
    Column("fund_pay_sumamt_fen", BigInteger, nullable=False),
    Column("psn_part_amt_fen", BigInteger, nullable=False),
    Column("acct_pay_fen", BigInteger, nullable=False),
    Column("acct_mulaid_pay_fen", BigInteger, nullable=False),
    Column("psn_cash_pay_fen", BigInteger, nullable=False),
    Column("balc_fen", BigInteger, nullable=False),
    Column("deductible_applied_fen", BigInteger, nullable=False),
    Column("fund_year", Integer, nullable=False),
    Column("fund_scene", String(10), nullable=False),
    Column("setl_time", UtcDateTime, nullable=False),
    Column("setl_date", Date, nullable=False),  # Asia/Shanghai date, for reconciliation
    Column("txn_id", BigInteger, nullable=False),
    Column("reversed_at", UtcDateTime),
    Column("reversal_txn_id", BigInteger),
    # v2 (migration 0009): the visit and fee batch a hospital settled (2207 with
    # mdtrt_id), and the 医疗类别; NULL for a v1 bill.
    Column("mdtrt_id", String(30)),
    Column("chrg_bchno", String(30)),
    Column("med_type", String(6)),
    CheckConstraint(
        "medfee_sumamt_fen = fulamt_ownpay_amt_fen + overlmt_selfpay_fen"
        " + preselfpay_amt_fen + inscp_scp_amt_fen",
        name="parts_add_up",
    ),
    CheckConstraint("medfee_sumamt_fen = fund_pay_sumamt_fen + psn_part_amt_fen", name="fund_split"),
    CheckConstraint(
        "psn_part_amt_fen = acct_pay_fen + acct_mulaid_pay_fen + psn_cash_pay_fen",
        name="burden_split",
    ),
    CheckConstraint(
        "fulamt_ownpay_amt_fen >= 0 AND overlmt_selfpay_fen >= 0 AND preselfpay_amt_fen >= 0"
        " AND inscp_scp_amt_fen >= 0 AND fund_pay_sumamt_fen >= 0 AND acct_pay_fen >= 0"
        " AND acct_mulaid_pay_fen >= 0 AND psn_cash_pay_fen >= 0 AND balc_fen >= 0"
        " AND deductible_applied_fen >= 0",
        name="not_negative",
    ),
    CheckConstraint("fund_pay_sumamt_fen <= inscp_scp_amt_fen", name="fund_within_scope"),
    Index("ix_settlements_institution_date", "institution_id", "setl_date"),
    # One settlement per institution message, for good: the idempotency record that
    # answers a retry is purged after its retention period, this is not (migration 0006).
    Index("uq_settlements_institution_msgid", "institution_id", "msgid", unique=True),
    Index("ix_settlements_person_time", "person_id", "setl_time"),
    Index("ix_settlements_mdtrt_id", "mdtrt_id"),
)

settlement_mulaid = Table(
    "settlement_mulaid",
    metadata,
    Column("settlement_id", BigInteger, ForeignKey("settlements.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("helper_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("binding_id", BigInteger, ForeignKey("bindings.id"), nullable=False),
    Column("account_id", BigInteger, ForeignKey("accounts.id"), nullable=False),
    Column("relation", String(12), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    PrimaryKeyConstraint("settlement_id", "seq"),
    CheckConstraint("amount_fen > 0", name="positive"),
    Index("ix_settlement_mulaid_helper", "helper_id"),
)

fund_accumulators = Table(
    "fund_accumulators",
    metadata,
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("year", Integer, nullable=False),
    Column("scene", String(10), nullable=False),
    Column("deductible_used_fen", BigInteger, nullable=False),
    Column("fund_paid_fen", BigInteger, nullable=False),
    PrimaryKeyConstraint("person_id", "year", "scene"),
    CheckConstraint("deductible_used_fen >= 0 AND fund_paid_fen >= 0", name="not_negative"),
)

idempotency = Table(
    "idempotency",
    metadata,
    Column("scope", String(48), nullable=False),
    Column("key", String(100), nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("response", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("scope", "key"),
    Index("ix_idempotency_created_at", "created_at"),  # the retention purge's range scan
)

premiums = Table(
    "premiums",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("helper_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("beneficiary_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("binding_id", BigInteger, ForeignKey("bindings.id"), nullable=False),
    Column("year", Integer, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("txn_id", BigInteger, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("reversed_at", UtcDateTime),
    Column("reversal_txn_id", BigInteger),
    CheckConstraint("amount_fen > 0", name="positive"),
    Index(
        "uq_premiums_paid_year",
        "beneficiary_id",
        "year",
        unique=True,
        postgresql_where=text("reversed_at IS NULL"),
        sqlite_where=text("reversed_at IS NULL"),
    ),
)

notices = Table(
    "notices",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("kind", String(20), nullable=False),
    Column("text", String(500), nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("at", UtcDateTime, nullable=False),
    Column("read_at", UtcDateTime),
    Column("settlement_id", BigInteger),
    Column("premium_id", BigInteger),
    Index("ix_notices_person", "person_id", "id"),
)

evouchers = Table(
    "evouchers",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
    Column("used_at", UtcDateTime),
    Column("settlement_id", BigInteger),
)

# 个人账户划入, one row per credit reference: what makes a credit exactly-once
# (REST and bulk import alike) and what a reversal flips, once.
credits = Table(
    "credits",
    metadata,
    Column("ref", String(64), primary_key=True),
    # No foreign keys: the bulk import writes a million of these a month, and each is
    # checked against its journal postings (which have them) by `gongji verify`.
    Column("person_id", BigInteger, nullable=False),
    Column("account_id", BigInteger, nullable=False),
    Column("amount_fen", BigInteger, nullable=False),
    Column("source_account_id", BigInteger, nullable=False),
    Column("txn_id", BigInteger, nullable=False),  # one credit, or a bulk import's batch
    Column("created_at", UtcDateTime, nullable=False),
    Column("reversed_at", UtcDateTime),
    Column("reversal_txn_id", BigInteger),
    CheckConstraint("amount_fen > 0", name="positive"),
    CheckConstraint("(reversed_at IS NULL) = (reversal_txn_id IS NULL)", name="reversal_pair"),
)


# --- catalogue (医保目录) (migration 0008) ----------------------------------------
# One row per (admdvs, med_list_codg): a province's item (540000, 450000) holds for every
# region of it unless the region has its own. Fractions are stored as exact integers on
# both dialects (SQLite keeps NUMERIC as a float): 先行自付比例 in millionths, and the unit
# price limit in micro-yuan, since real catalogues price tablets below the fen (0.0325).
catalogue_items = Table(
    "catalogue_items",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("admdvs", String(6), nullable=False),
    Column("med_list_codg", String(50), nullable=False),  # 医保目录编码
    Column("med_list_name", String(200), nullable=False),  # 医保目录名称
    Column("chrgitm_lv", String(2), nullable=False),  # 收费项目等级 01/02/03
    Column("selfpay_prop_ppm", Integer, nullable=False),  # 先行自付比例 × 1,000,000
    Column("pric_uplmt_uyuan", BigInteger),  # 最高限价 × 1,000,000 (yuan); NULL: none
    Column("begndate", Date),  # 开始日期; NULL: in force from the start
    Column("enddate", Date),  # 结束日期 (inclusive); NULL: open
    Column("updated_at", UtcDateTime, nullable=False),
    # Also the lookup's index: (region or province) × codes, and a code prefix in a region.
    UniqueConstraint("admdvs", "med_list_codg"),
    CheckConstraint(sql_in("chrgitm_lv", ChrgitmLv), name="chrgitm_lv"),
    CheckConstraint("selfpay_prop_ppm BETWEEN 0 AND 1000000", name="selfpay_prop"),
    CheckConstraint("pric_uplmt_uyuan IS NULL OR pric_uplmt_uyuan >= 0", name="pric_uplmt"),
    CheckConstraint("enddate IS NULL OR begndate IS NULL OR enddate >= begndate",
                    name="dates"),
)

# --- sign-ins (签到 9001/9002) and msgids spent by 2601 冲正 (migration 0010) -------------

# One row per 9001. A sign-in is current while it is not signed out (9002) and its
# Asia/Shanghai day (sign_date) is today: real HIS sign in every morning.
sign_ins = Table(
    "sign_ins",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("sign_no", String(30), nullable=False, unique=True),
    Column("institution_id", BigInteger, ForeignKey("institutions.id"), nullable=False),
    Column("opter_no", String(30), nullable=False),
    Column("mac", String(64), nullable=False),
    Column("ip", String(64), nullable=False),
    Column("msgid", String(64), nullable=False),
    Column("signed_in_at", UtcDateTime, nullable=False),
    Column("sign_date", Date, nullable=False),  # Asia/Shanghai date of the sign-in
    Column("signed_out_at", UtcDateTime),
    Column("signout_msgid", String(64)),
    CheckConstraint("(signed_out_at IS NULL) = (signout_msgid IS NULL)", name="signout_pair"),
    Index("ix_sign_ins_institution_date", "institution_id", "sign_date"),
)

# A msgid that 2601 冲正 named when nothing had settled with it: never purged (unlike the
# idempotency records), so the original can never settle later, however late it arrives.
spent_msgids = Table(
    "spent_msgids",
    metadata,
    Column("institution_id", BigInteger, ForeignKey("institutions.id"), nullable=False),
    Column("msgid", String(64), nullable=False),
    Column("oinfno", String(4), nullable=False),
    Column("by_msgid", String(64), nullable=False),  # the 2601 that spent it
    Column("spent_at", UtcDateTime, nullable=False),
    PrimaryKeyConstraint("institution_id", "msgid"),
)


# --- visits (就诊) and fee lines (费用明细) (migration 0009) ----------------------------
# A hospital registers a visit (2201; we issue mdtrt_id), uploads its fee lines (2204) and
# settles a batch (chrg_bchno) of them (2207). A visit line's settlement_id is set exactly
# while a live settlement holds it: a reversal frees its lines, so the batch may settle
# again. A pharmacy's v2 lines (2102 drugdetail) are stored here too, with their settlement
# and no visit. Quantities and unit prices are exact integers, as in catalogue_items
# (SQLite keeps NUMERIC as a float): cnt × 10,000 and the price in micro-yuan.
visits = Table(
    "visits",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("mdtrt_id", String(30), nullable=False, unique=True),  # 就诊ID, ours
    Column("msgid", String(64), nullable=False),  # the 2201 that registered it (2601)
    Column("institution_id", BigInteger, ForeignKey("institutions.id"), nullable=False),
    Column("person_id", BigInteger, ForeignKey("persons.id"), nullable=False),
    Column("psn_no", String(30), nullable=False),
    Column("insutype", String(3), nullable=False),
    Column("med_type", String(6), nullable=False, server_default="11"),  # 医疗类别
    Column("begntime", UtcDateTime, nullable=False),
    Column("ipt_otp_no", String(30), nullable=False),  # 住院/门诊号 (the HIS's)
    Column("atddr_no", String(30)),
    Column("dr_name", String(50)),
    Column("dept_code", String(30)),
    Column("dept_name", String(100)),
    Column("caty", String(10)),
    Column("diseinfo", Text),  # 2203 diagnoses as JSON, bounded by domain/visit.py
    Column("status", String(12), nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    Column("cancelled_at", UtcDateTime),
    CheckConstraint(sql_in("status", VisitStatus), name="status"),
    CheckConstraint(f"(status = {sql_text(VisitStatus.CANCELLED)}) = (cancelled_at IS NOT NULL)",
                    name="cancelled_when"),
    Index("ix_visits_institution_person", "institution_id", "person_id"),
    Index("uq_visits_institution_msgid", "institution_id", "msgid", unique=True),
)

fee_lines = Table(
    "fee_lines",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("visit_id", BigInteger, ForeignKey("visits.id")),
    Column("settlement_id", BigInteger, ForeignKey("settlements.id")),
    Column("feedetl_sn", String(30), nullable=False),  # 费用明细流水号
    Column("chrg_bchno", String(30)),  # 收费批次号 (visit lines)
    Column("med_list_codg", String(50), nullable=False),  # 医保目录编码
    Column("medins_list_codg", String(50)),  # 医药机构目录编码
    Column("cnt_e4", BigInteger, nullable=False),  # 数量 × 10,000
    Column("pric_uyuan", BigInteger, nullable=False),  # 单价 × 1,000,000 (yuan)
    Column("det_item_fee_sumamt_fen", BigInteger, nullable=False),  # 明细项目费用总额
    Column("fulamt_ownpay_amt_fen", BigInteger, nullable=False),
    Column("overlmt_amt_fen", BigInteger, nullable=False),
    Column("preselfpay_amt_fen", BigInteger, nullable=False),
    Column("inscp_scp_amt_fen", BigInteger, nullable=False),
    Column("chrgitm_lv", String(2), nullable=False),
    Column("selfpay_prop_ppm", Integer, nullable=False),
    Column("pric_uplmt_uyuan", BigInteger),
    Column("fee_ocur_time", UtcDateTime, nullable=False),
    Column("created_at", UtcDateTime, nullable=False),
    UniqueConstraint("visit_id", "feedetl_sn"),  # NULL visit (pharmacy): checked per call
    CheckConstraint("visit_id IS NOT NULL OR settlement_id IS NOT NULL", name="owner"),
    CheckConstraint("visit_id IS NULL OR chrg_bchno IS NOT NULL", name="visit_batch"),
    CheckConstraint(
        "det_item_fee_sumamt_fen = fulamt_ownpay_amt_fen + overlmt_amt_fen"
        " + preselfpay_amt_fen + inscp_scp_amt_fen", name="parts_add_up"),
    CheckConstraint(
        "cnt_e4 > 0 AND pric_uyuan >= 0 AND fulamt_ownpay_amt_fen >= 0 AND overlmt_amt_fen >= 0"
        " AND preselfpay_amt_fen >= 0 AND inscp_scp_amt_fen >= 0", name="not_negative"),
    CheckConstraint(sql_in("chrgitm_lv", ChrgitmLv), name="chrgitm_lv"),
    Index("ix_fee_lines_visit_batch", "visit_id", "chrg_bchno"),
    Index("ix_fee_lines_settlement", "settlement_id"),
)


# --- 共济额度 (the helper's quota) (migration 0012) --------------------------------
# On the binding: the quota the helper set and what is left of it (NULL, NULL: no quota).
# Guarded by the helper's personal account row: every write of these columns (setting a
# quota, a draw, a refund) happens while that row is locked (repo.lock_accounts, or the
# journal's guarded balance update in the same unit of work), and every read that decides
# money reads them after taking that lock.
bindings.append_column(Column("quota_fen", BigInteger))
bindings.append_column(Column("quota_remaining_fen", BigInteger))
bindings.append_constraint(CheckConstraint(
    "(quota_fen IS NULL) = (quota_remaining_fen IS NULL)", name="quota_pair"))
bindings.append_constraint(CheckConstraint(
    "quota_fen IS NULL OR (quota_remaining_fen >= 0 AND quota_remaining_fen <= quota_fen)",
    name="quota_within"))


# --- region policies as dated versions (migration 0011) ---------------------------------
# One row per published change of a province's (540000) or a region's rules: only the rules
# it sets, as canonical JSON (domain/policy.normalize_rules). Rows are never changed but
# for `applied_at` (the auto-end sweep ran for it, once); the first row of each is the
# shipped file's seed. The rules in force for a region on a day fold every row of its
# province, then of the region, with effective_from on or before that day, in
# (effective_from, id) order (services/policy/versions.py).
policy_versions = Table(
    "policy_versions",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("admdvs", String(6), nullable=False),
    Column("effective_from", Date, nullable=False),
    Column("rules", Text, nullable=False),
    Column("sources", Text),  # JSON {"sources": {path: text}, "examples": [path]}
    Column("published_at", UtcDateTime, nullable=False),
    Column("published_by", String(40), nullable=False),
    Column("applied_at", UtcDateTime),
    CheckConstraint("length(admdvs) = 6", name="admdvs"),
    Index("ix_policy_versions_admdvs_from", "admdvs", "effective_from", "id"),
)
# The version a settlement applied (the patient's region's, on its date).
settlements.append_column(Column("policy_version", BigInteger))
# A person's last move to another pooling region, kept by a trigger (migration 0011) on
# every path that changes insuplc_admdvs: what the auto-end rule needs when it takes effect.
persons.append_column(Column("previous_admdvs", String(6)))
persons.append_column(Column("moved_at", UtcDateTime))


# --- inpatient stays (住院) (migration 0013) -----------------------------------------
# A stay is a visit of kind "inpatient" (its mdtrt_id, msgid, patient, begntime, ipt_no in
# ipt_otp_no, adm_dept in dept_code/dept_name, admission diagnoses in diseinfo); its lines
# are fee_lines of that visit, and the visit row is the lock of the stay, as of any visit.
# What only a stay has is in `stays`, one row per inpatient visit: the stored state
# (domain/stay.py: settled is derived from a live settlement of its mdtrt_id), and the
# discharge. Outpatient calls refuse an inpatient visit and the other way round.
visits.append_column(Column("kind", String(10), nullable=False, server_default="outpatient"))
visits.append_constraint(CheckConstraint("kind IN ('outpatient', 'inpatient')", name="kind"))

stays = Table(
    "stays",
    metadata,
    Column("visit_id", BigInteger, ForeignKey("visits.id"), primary_key=True),
    Column("status", String(12), nullable=False),
    Column("endtime", UtcDateTime),  # 出院时间, while discharged
    Column("dscg_way", String(6)),  # 离院方式
    Column("dscginfo", Text),  # 2402 dscginfo as JSON, bounded by domain/stay.py
    Column("dscg_diseinfo", Text),  # 2402 diagnoses as JSON
    Column("updated_at", UtcDateTime, nullable=False),
    CheckConstraint("status IN ('admitted', 'discharged', 'cancelled')", name="status"),
    CheckConstraint("(status = 'discharged') = (endtime IS NOT NULL)", name="discharged_when"),
)
