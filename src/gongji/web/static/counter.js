// The pharmacy / clinic counter: read the credential (1101), pre-settle, settle, print, reverse.
"use strict";
(() => {
  const { el, yuan, RELATION } = G;
  const $ = (id) => document.getElementById(id);
  const CODES = { hospital: { pre: "2206", settle: "2207", reverse: "2208" },
                  pharmacy: { pre: "2101", settle: "2102", reverse: "2103" } };
  const BILL_FIELDS = ["medfee", "fulamt", "overlmt", "preself", "inscp"];
  let inst = null, patient = null, cert = null, billMsgid = null;

  const newMsgid = () => `${inst.fixmedins_code}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;

  async function start() {
    inst = await G.api("GET", "/web/institution");
    $("me-name").textContent = inst.fixmedins_name;
    $("me-code").textContent = `${inst.fixmedins_code} · ${inst.fixmedins_type === "hospital" ? "医疗机构" : "零售药店"}`;
    G.showApp();
  }

  $("read-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    G.clearErrors(form);
    cert = { mdtrt_cert_type: $("cert-type").value, mdtrt_cert_no: $("cert-no").value.trim() };
    await G.busy(form.querySelector("button"), async () => {
      try {
        const out = await G.gateway("1101", cert, newMsgid(), inst.fixmedins_code);
        patient = out.baseinfo;
        $("pt-name").textContent = patient.psn_name;
        $("pt-psn").textContent = patient.psn_no;
        $("pt-insutype").textContent = out.insuinfo[0].insutype === "310" ? "职工医保" : "城乡居民医保";
        $("pt-balc").textContent = yuan(out.insuinfo[0].balc);
        $("patient").hidden = false; $("bill-form").hidden = false; $("result").hidden = true;
        billMsgid = null;
        $("medfee").focus();
      } catch (err) {
        $("patient").hidden = true; $("bill-form").hidden = true;
        G.showError(form, err, { PERSON_NOT_FOUND: "cert-no", EVOUCHER_INVALID: "cert-no", INVALID_INPUT: "cert-no" });
      }
    });
  });

  // A changed bill is a new message; the same bill clicked twice reuses its msgid.
  BILL_FIELDS.forEach((id) => $(id).addEventListener("input", () => { billMsgid = null; }));
  $("use-accounts").addEventListener("change", () => { billMsgid = null; });

  function bill() {
    const value = (id) => $(id).value.trim() || "0";
    return { psn_no: patient.psn_no, mdtrt_cert_type: cert.mdtrt_cert_type, mdtrt_cert_no: cert.mdtrt_cert_no,
      medfee_sumamt: value("medfee"), fulamt_ownpay_amt: value("fulamt"), overlmt_selfpay: value("overlmt"),
      preselfpay_amt: value("preself"), inscp_scp_amt: value("inscp"),
      acct_used_flag: $("use-accounts").checked ? "1" : "0" };
  }

  const BILL_ERRORS = { INVALID_AMOUNT: "medfee", AMOUNT_MISMATCH: "medfee" };
  const AMOUNT = /^\d{1,8}(\.\d{1,2})?$/;

  // Check each amount here first, so the message stands next to the field that is wrong.
  function checkAmounts(form) {
    for (const id of BILL_FIELDS) {
      const value = $(id).value.trim() || "0";
      if (!AMOUNT.test(value)) {
        G.showError(form, { code: "BAD", message: "金额须为不超过两位小数的非负数" }, { BAD: id });
        return false;
      }
    }
    return true;
  }

  async function run(kind, button) {
    const form = $("bill-form");
    G.clearErrors(form);
    if (!checkAmounts(form)) return;
    await G.busy(button, async () => {
      try {
        let msgid = newMsgid();
        if (kind === "settle") { billMsgid = billMsgid || msgid; msgid = billMsgid; }
        const out = await G.gateway(CODES[inst.fixmedins_type][kind === "settle" ? "settle" : "pre"], bill(), msgid, inst.fixmedins_code);
        showResult(out, kind === "settle" ? "结算成功" : "预结算结果（未扣款）");
        if (kind === "settle") { $("rev-setl").value = out.setlinfo.setl_id; $("rev-psn").value = patient.psn_no; }
      } catch (err) { G.showError(form, err, BILL_ERRORS); }
    });
  }
  $("presettle").addEventListener("click", (e) => run("pre", e.target));
  $("settle").addEventListener("click", (e) => run("settle", e.target));

  function showResult(out, title) {
    const s = out.setlinfo;
    $("r-kind").textContent = title;
    $("r-setl").textContent = s.setl_id || "（预结算无编号）";
    $("r-time").textContent = s.setl_time;
    for (const [id, field] of [["r-medfee", "medfee_sumamt"], ["r-fund", "fund_pay_sumamt"], ["r-part", "psn_part_amt"],
      ["r-acct", "acct_pay"], ["r-mulaid", "acct_mulaid_pay"], ["r-cash", "psn_cash_pay"], ["r-balc", "balc"]]) {
      $(id).textContent = yuan(s[field]);
    }
    const rows = (out.mulaid_detail || []).map((d) => el("tr", {},
      el("td", {}, d.helper_name || "共济人"), el("td", {}, RELATION[d.relation] || ""), el("td", { class: "num" }, yuan(d.amount))));
    $("r-helpers").tBodies[0].replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 3 }, "无"))]));
    $("result").hidden = false;
  }

  $("print").addEventListener("click", () => window.print());
  $("new-bill").addEventListener("click", () => {
    $("bill-form").reset(); $("read-form").reset(); $("patient").hidden = true; $("bill-form").hidden = true;
    $("result").hidden = true; patient = null; billMsgid = null; $("cert-no").focus();
  });

  $("reverse-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    G.clearErrors(form);
    const data = { setl_id: $("rev-setl").value.trim(), psn_no: $("rev-psn").value.trim() };
    await G.busy(form.querySelector("button"), async () => {
      try {
        const out = await G.gateway(CODES[inst.fixmedins_type].reverse, data, newMsgid(), inst.fixmedins_code);
        showResult(out, "已撤销，款项已原路退回");
        G.toast("结算已撤销");
      } catch (err) { G.showError(form, err, { SETTLEMENT_NOT_FOUND: "rev-setl", ALREADY_REVERSED: "rev-setl" }); }
    });
  });

  G.signIn(start);
})();
