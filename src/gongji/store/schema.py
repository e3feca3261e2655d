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
    InstitutionType,
    InsuStatus,
    InsuType,
)
from gongji.domain.lifecycle import BindingStatus, InvitationStatus
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
