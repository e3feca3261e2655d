"""The accounts as a plain-Python model, written from SPEC §2–§5 and the CONTRACT, not from
the service's code: balances, active bindings and their deduction order, pooled-fund
accumulators, settlements with their breakdown, premiums. The stateful test drives the
service and this model side by side and demands they agree after every step.

Only the region rule values (deductible, ratio, cap, premium, mutual-aid area, whether a
helper needs a positive balance) are read from the policy files: they are data.

共济额度 (CONTRACT v2): a binding may carry a quota; it pays at most what remains of it,
a refund raises it back (never above the quota); what the remaining quotas of a helper's
active bindings add up to is reserved: neither the helper's own payments nor their
bindings without a quota may use it. Whether a region allows setting one is given to the
model (`quota_regions`), as the test publishes it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from gongji.domain.fund import FundRule
from gongji.domain.policy_files import shipped_policy as get_policy


@dataclass(frozen=True)
class Breakdown:
    """What a settlement answers: the national fields, in fen."""

    fund_fen: int
    deductible_fen: int
    own_fen: int
    parts: tuple[tuple[str, int], ...]  # (helper psn_no, amount), in the order drawn
    cash_fen: int
    balc_fen: int  # the patient's own balance after

    @property
    def mulaid_fen(self) -> int:
        return sum(amount for _, amount in self.parts)


@dataclass
class Settled:
    patient: str
    institution: str
    year: int
    scene: str
    breakdown: Breakdown
    drawn: tuple[tuple[int, int], ...] = ()  # (binding id, amount) per helper part
    reversed: bool = False


@dataclass
class Premium:
    helper: str
    beneficiary: str
    year: int
    amount_fen: int
    binding_id: int = 0
    reversed: bool = False


@dataclass
class Stay:
    """An inpatient stay (住院) as CONTRACT v2 "Inpatient" tells it: admitted, discharged,
    cancelled; settled while a settlement of it stands; its lines as (total, in scope)."""

    patient: str
    institution: str
    status: str = "admitted"
    lines: list[tuple[int, int]] = field(default_factory=list)  # not settled
    live: str | None = None  # the standing settlement
    held: list[tuple[int, int]] = field(default_factory=list)  # its lines


STAY_CHANGES = {"2402": ("admitted", "discharged"), "2405": ("discharged", "admitted"),
                "2404": ("admitted", "cancelled")}


@dataclass
class LedgerModel:
    region: dict[str, str] = field(default_factory=dict)  # psn_no -> admdvs
    insutype: dict[str, str] = field(default_factory=dict)
    balance: dict[str, int] = field(default_factory=dict)  # account holders only
    frozen: set[str] = field(default_factory=set)
    bindings: dict[int, tuple[str, str]] = field(default_factory=dict)  # active: (helper, ben)
    order: dict[str, list[int]] = field(default_factory=dict)  # beneficiary -> binding ids
    invitations: dict[int, tuple[str, str]] = field(default_factory=dict)  # pending
    fund_used: dict[tuple[str, int, str], tuple[int, int]] = field(default_factory=dict)
    settlements: dict[str, Settled] = field(default_factory=dict)
    premiums: dict[int, Premium] = field(default_factory=dict)
    quota: dict[int, list[int]] = field(default_factory=dict)  # binding -> [quota, remaining]
    quota_regions: set[str] = field(default_factory=set)  # where a quota may be set
    # fund rules of versions published during the run: (region, scene) -> rule in force
    fund_rules: dict[tuple[str, str], FundRule] = field(default_factory=dict)
    stays: dict[str, Stay] = field(default_factory=dict)  # mdtrt_id -> stay

    # people and money ---------------------------------------------------------------------------
    def publish_fund_rules(self, region: str, rules: dict[str, FundRule]) -> None:
        """A version effective today replaces the region's whole fund_rules map."""
        for scene, rule in rules.items():
            self.fund_rules[(region, scene)] = rule

    def add_person(self, psn_no: str, admdvs: str, insutype: str) -> None:
        self.region[psn_no], self.insutype[psn_no] = admdvs, insutype
        self.order[psn_no] = []
        if insutype == "310":
            self.balance[psn_no] = 0

    def credit(self, psn_no: str, amount_fen: int) -> None:
        self.balance[psn_no] += amount_fen

    # bindings -----------------------------------------------------------------------------------
    def binding_refusal(self, helper: str, beneficiary: str) -> str | None:
        """Why binding these two now would be refused (the relation is registered)."""
        if helper in self.frozen:
            return "HELPER_NOT_ELIGIBLE"
        if get_policy(self.region[helper]).helper_requires_positive_balance \
                and self.balance[helper] <= 0:
            return "HELPER_NOT_ELIGIBLE"
        if (helper, beneficiary) in self.bindings.values():
            return "BINDING_EXISTS"
        return None

    def invitation_refusal(self, helper: str, beneficiary: str) -> str | None:
        refusal = self.binding_refusal(helper, beneficiary)
        if refusal is None and (helper, beneficiary) in self.invitations.values():
            return "INVITATION_EXISTS"
        return refusal

    def bind(self, binding_id: int, helper: str, beneficiary: str) -> None:
        """A binding that becomes active goes last in the beneficiary's order."""
        self.bindings[binding_id] = (helper, beneficiary)
        self.order[beneficiary].append(binding_id)

    def unbind(self, binding_id: int) -> None:
        _, beneficiary = self.bindings.pop(binding_id)
        self.order[beneficiary].remove(binding_id)

    # 共济额度 -----------------------------------------------------------------------------------
    def reserved(self, helper: str) -> int:
        """The remaining quotas of the helper's active bindings (an ended one reserves none)."""
        return sum(self.quota[b][1] for b, (h, _) in self.bindings.items()
                   if h == helper and b in self.quota)

    def free(self, holder: str) -> int:
        """What neither a quota reserves: the holder's own and quota-less bindings' limit."""
        return max(0, self.balance[holder] - self.reserved(holder))

    def binding_limit(self, binding_id: int) -> int:
        helper = self.bindings[binding_id][0]
        if binding_id in self.quota:
            return min(self.balance[helper], self.quota[binding_id][1])
        return self.free(helper)

    def quota_refusal(self, helper: str, binding_id: int, quota_fen: int) -> str | None:
        if self.region[helper] not in self.quota_regions:
            return "QUOTA_NOT_ENABLED"
        mine = self.quota[binding_id][1] if binding_id in self.quota else 0
        if self.reserved(helper) - mine + quota_fen > self.balance[helper]:
            return "QUOTA_EXCEEDS_BALANCE"
        return None

    def set_quota(self, binding_id: int, quota_fen: int) -> None:
        self.quota[binding_id] = [quota_fen, quota_fen]

    def _draw(self, binding_id: int, amount: int) -> None:
        if binding_id in self.quota:
            self.quota[binding_id][1] -= amount

    def _give_back(self, binding_id: int, amount: int) -> None:
        if binding_id in self.quota:
            quota, remaining = self.quota[binding_id]
            self.quota[binding_id][1] = min(quota, remaining + amount)

    # settlement ---------------------------------------------------------------------------------
    def breakdown(self, patient: str, scene: str, inst_admdvs: str, medfee_fen: int,
                  inscp_fen: int, use_accounts: bool, year: int) -> Breakdown:
        """先本人、后共济: fund by the patient's policy, own account, helpers in order, cash."""
        region = self.region[patient]
        rule = self.fund_rules.get((region, scene)) or get_policy(region).fund_rules[scene]
        used, paid = self.fund_used.get((patient, year, scene), (0, 0))
        deductible = min(inscp_fen, max(0, rule.deductible_fen - used))
        share = (inscp_fen - deductible) * rule.ratio_bp
        fund = min(share // 10_000 + (1 if share % 10_000 * 2 >= 10_000 else 0),
                   max(0, rule.annual_cap_fen - paid))
        left = medfee_fen - fund
        own = 0
        has_own = patient in self.balance and patient not in self.frozen
        if use_accounts and has_own:
            own = min(left, self.free(patient))
            left -= own
        parts = []
        for binding_id in self.order[patient] if use_accounts else ():
            helper = self.bindings[binding_id][0]
            area = get_policy(self.region[helper]).mutual_aid_area_prefixes
            if left == 0 or helper in self.frozen or not inst_admdvs.startswith(area):
                continue
            part = min(left, self.binding_limit(binding_id))
            if part:
                parts.append((helper, part))
                left -= part
        balc = self.balance.get(patient, 0) - own
        return Breakdown(fund, deductible, own, tuple(parts), left, balc)

    def settle(self, setl_id: str, patient: str, institution: str, scene: str, year: int,
               breakdown: Breakdown) -> None:
        if breakdown.own_fen:
            self.balance[patient] -= breakdown.own_fen
        drawn = []
        for helper, amount in breakdown.parts:
            self.balance[helper] -= amount
            # one active binding per pair: the helper's binding in the patient's order
            binding_id = next(b for b in self.order[patient] if self.bindings[b][0] == helper)
            self._draw(binding_id, amount)
            drawn.append((binding_id, amount))
        used, paid = self.fund_used.get((patient, year, scene), (0, 0))
        self.fund_used[(patient, year, scene)] = (used + breakdown.deductible_fen,
                                                  paid + breakdown.fund_fen)
        self.settlements[setl_id] = Settled(patient, institution, year, scene, breakdown,
                                            tuple(drawn))

    def reverse(self, setl_id: str) -> int:
        """Every account gets back exactly what it paid; returns the patient's balance. A
        stay's settlement frees its lines: the stay is discharged, unsettled, again."""
        settled = self.settlements[setl_id]
        settled.reversed = True
        for stay in self.stays.values():
            if stay.live == setl_id:
                stay.live, stay.lines, stay.held = None, stay.held + stay.lines, []
        b = settled.breakdown
        if b.own_fen:
            self.balance[settled.patient] += b.own_fen
        for helper, amount in b.parts:
            self.balance[helper] += amount
        for binding_id, amount in settled.drawn:
            self._give_back(binding_id, amount)
        key = (settled.patient, settled.year, settled.scene)
        used, paid = self.fund_used[key]
        self.fund_used[key] = (used - b.deductible_fen, paid - b.fund_fen)
        return self.balance.get(settled.patient, 0)

    # premium ------------------------------------------------------------------------------------
    def premium_refusal(self, helper: str, beneficiary: str, year: int) -> str | None:
        if (helper, beneficiary) not in self.bindings.values():
            return "PREMIUM_NOT_BOUND"
        if self.insutype[beneficiary] != "390":
            return "PREMIUM_NOT_RESIDENT"
        amount = get_policy(self.region[beneficiary]).premium_fen(year)
        if amount is None:
            return "PREMIUM_YEAR_CLOSED"
        if any(p.beneficiary == beneficiary and p.year == year and not p.reversed
               for p in self.premiums.values()):
            return "PREMIUM_ALREADY_PAID"
        if helper in self.frozen:
            return "ACCOUNT_FROZEN"
        if self.balance[helper] < amount:
            return "INSUFFICIENT_BALANCE"
        binding_id = self.binding_of(helper, beneficiary)
        if amount > self.binding_limit(binding_id):
            return "QUOTA_INSUFFICIENT" if binding_id in self.quota else "INSUFFICIENT_BALANCE"
        return None

    def binding_of(self, helper: str, beneficiary: str) -> int:
        return next(b for b, pair in self.bindings.items() if pair == (helper, beneficiary))

    def pay_premium(self, premium_id: int, helper: str, beneficiary: str, year: int) -> int:
        amount = get_policy(self.region[beneficiary]).premium_fen(year)
        binding_id = self.binding_of(helper, beneficiary)
        self.balance[helper] -= amount
        self._draw(binding_id, amount)
        self.premiums[premium_id] = Premium(helper, beneficiary, year, amount, binding_id)
        return amount

    def reverse_premium(self, premium_id: int) -> int:
        premium = self.premiums[premium_id]
        premium.reversed = True
        self.balance[premium.helper] += premium.amount_fen
        self._give_back(premium.binding_id, premium.amount_fen)
        return self.balance[premium.helper]

    # inpatient stays ----------------------------------------------------------------------------
    def stay_refusal(self, mdtrt_id: str, infno: str) -> str | None:
        """Whether a stay call may run now: lines change before settlement; a stay settles
        once discharged and then only its reversal may follow; cancelled ends it."""
        stay = self.stays[mdtrt_id]
        if stay.status == "cancelled" or (stay.live is not None and infno != "2305"):
            return "STAY_STATE"
        if infno == "2305":
            return None if stay.live else "ALREADY_REVERSED"
        if infno in ("2301", "2302"):
            return None
        if infno in ("2303", "2304"):
            if stay.status != "discharged":
                return "STAY_STATE"
            return None if stay.lines else "NO_FEE_DETAIL"
        return None if stay.status == STAY_CHANGES[infno][0] else "STAY_STATE"

    def stay_bill(self, mdtrt_id: str) -> tuple[int, int]:
        lines = self.stays[mdtrt_id].lines
        return sum(total for total, _ in lines), sum(inscp for _, inscp in lines)

    def stay_change(self, mdtrt_id: str, infno: str) -> None:
        self.stays[mdtrt_id].status = STAY_CHANGES[infno][1]

    def settle_stay(self, mdtrt_id: str, setl_id: str) -> None:
        stay = self.stays[mdtrt_id]
        stay.live, stay.held, stay.lines = setl_id, stay.lines, []
