// What the counter (收费台, counter.js) and the admission office (住院处, inpatient.js) share:
// the institution and its operator's sign-in (9001, 签退 9002), the credential read (1101),
// catalogue look-up and line entry in exact money, the centre's classification of a line, and
// the rows of the 80 mm slip. Each page keeps its own flow; the element ids below are shared.
"use strict";
const Desk = (() => {
  const { el, yuan } = G;
  const $ = (id) => document.getElementById(id);
  const LEVEL = { "01": "甲类", "02": "乙类", "03": "丙类" };
  const INSUTYPE = { 310: "职工基本医疗保险", 390: "城乡居民基本医疗保险" };

  // --- exact money: decimals as scaled BigInts, never floats -----------------------------
  const DECIMAL = (places) => new RegExp(`^\\d{1,8}(\\.\\d{1,${places}})?$`);
  function scaled(text, places) {
    const [whole, frac = ""] = text.split(".");
    return BigInt(whole + frac.padEnd(places, "0"));
  }
  // round(pric × cnt) to the fen, half-up, as the centre checks det_item_fee_sumamt
  const lineFen = (cnt, pric) => (scaled(cnt, 4) * scaled(pric, 6) + 50000000n) / 100000000n;
  const fenText = (fen) => `${fen / 100n}.${String(fen % 100n).padStart(2, "0")}`;  // fen ≥ 0
  // A reversal answers what went back as negative amounts; the page says "退回" and shows them positive.
  const refund = (n) => yuan(-Number(n));
  const sumFen = (lines) => lines.reduce((total, line) => total + line.fen, 0n);

  const maskName = (name) => {
    const text = (name || "").trim();
    if (text.length <= 1) return "*".repeat(text.length);
    const keep = text.length >= 4 ? 2 : 1;
    return text.slice(0, keep) + "*".repeat(text.length - keep);
  };

  // --- the institution and its operator (9001 / 9002) --------------------------------------
  const session = { inst: null, opter: null, signNo: null };
  const newMsgid = () => `${session.inst.fixmedins_code}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const now = () => Beijing.stamp(Beijing.now());
  const isHospital = () => session.inst.fixmedins_type === "hospital";

  async function call(infno, data, msgid, input) {
    try {
      return await G.gateway(infno, data, msgid || newMsgid(), session.inst.fixmedins_code,
        { input, sign_no: session.signNo, opter: session.opter.no, opter_name: session.opter.name || undefined });
    } catch (err) {
      if (err.code === "SIGN_NO_INVALID") signInAgain();
      throw err;
    }
  }

  // A sign-in lasts the Beijing day: past midnight (or once signed out elsewhere) the centre
  // refuses it, and the operator signs in again without losing what is on the screen.
  function signInAgain() {
    session.signNo = null;
    $("me-opter").hidden = true;
    $("opter-form").hidden = false;
    $("opter-form-error").textContent = "签到已失效（已跨日或已签退），请重新签到后再操作";
  }

  // The institution of the token, shown in the header; `kindText` names it as the page sees it.
  async function loadInstitution() {
    session.inst = await G.api("GET", "/web/institution");
    $("me-name").textContent = session.inst.fixmedins_name;
    $("me-code").textContent = `${session.inst.fixmedins_code} · ${isHospital() ? "定点医疗机构" : "定点零售药店"}`;
    return session.inst;
  }

  // The operator's sign-in form; `role` is who signs in (收费员, 经办人). Signed in, the desk
  // opens at the credential (once: a sign-in again after a lapse keeps what is on the screen).
  function onSignIn(role) {
    $("opter-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      G.clearErrors(form);
      const no = $("opter-no").value.trim(), name = $("opter-name").value.trim();
      if (!no) { G.showError(form, { code: "EMPTY", message: `请输入${role}工号` }, { EMPTY: "opter-no" }); return; }
      await G.busy(form.querySelector("button"), async () => {
        try {
          const out = await G.gateway("9001", null, newMsgid(), session.inst.fixmedins_code,
            { input: { signIn: { opter_no: no, mac: "", ip: "" } }, opter: no, opter_name: name || undefined });
          session.signNo = out.signinoutb.sign_no; session.opter = { no, name };
          $("me-opter").textContent = `${role} ${opterText()} · 签到编号 ${session.signNo}`;
          $("me-opter").hidden = false; form.hidden = true;
          if ($("desk").hidden) { $("desk").hidden = false; $("cert-type").focus(); }
        } catch (err) { G.showError(form, err, { INVALID_INPUT: "opter-no" }); }
      });
    });
  }

  const opterText = () => (session.opter.name ? `${session.opter.name}（${session.opter.no}）` : session.opter.no);

  // 退出 ends the day's sign-in at the centre (9002) before the page forgets the token.
  async function signOut() {
    if (!session.signNo) return;
    await G.gateway("9002", null, newMsgid(), session.inst.fixmedins_code,
      { input: { signOut: { sign_no: session.signNo, opter_no: session.opter.no } },
        sign_no: session.signNo, opter: session.opter.no });
    session.signNo = null;
  }

  // A form of required fields (`names`: id → what to type): an empty one is said next to it
  // before anything is sent; then `work(form)` runs while the form's button is busy.
  function onSubmit(id, names, work) {
    $(id).addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      G.clearErrors(form);
      const empty = Object.keys(names).find((field) => !$(field).value.trim());
      if (empty) { G.showError(form, { code: "EMPTY", message: `请输入${names[empty]}` }, { EMPTY: empty }); return; }
      await G.busy(form.querySelector("button[type=submit]"), () => work(form));
    });
  }

  // --- the patient's credential (1101) ----------------------------------------------------
  function onRead(read, failed) {
    $("read-form").addEventListener("submit", async (event) => {
      event.preventDefault();
      const form = event.target;
      G.clearErrors(form);
      const cert = { mdtrt_cert_type: $("cert-type").value, mdtrt_cert_no: $("cert-no").value.trim() };
      if (!cert.mdtrt_cert_no) { G.showError(form, { code: "EMPTY", message: "请输入凭证号码" }, { EMPTY: "cert-no" }); return; }
      await G.busy(form.querySelector("button"), async () => {
        try {
          const out = await call("1101", cert);
          read(patientOf(out), cert);
        } catch (err) {
          failed();
          G.showError(form, err, { PERSON_NOT_FOUND: "cert-no", EVOUCHER_INVALID: "cert-no", INVALID_INPUT: "cert-no" });
        }
      });
    });
  }

  const patientOf = (out) => ({ ...out.baseinfo, insutype: out.insuinfo[0].insutype, balc: out.insuinfo[0].balc });

  function showPatient(patient) {
    $("pt-name").textContent = patient.psn_name;
    $("pt-gend").textContent = patient.gend === "2" ? "女" : "男";
    $("pt-psn").textContent = patient.psn_no;
    $("pt-insutype").textContent = INSUTYPE[patient.insutype] || patient.insutype;
    $("pt-balc").textContent = yuan(patient.balc);
    $("patient").hidden = false;
  }

  // --- catalogue: look a code or a name up, pick the item, enter a line --------------------
  const levelText = (i) => `${LEVEL[i.chrgitm_lv] || "目录外"}`;
  const propText = (prop) => `${(Number(prop) * 100).toFixed(2).replace(/\.?0+$/, "")}%`;
  let item = null;

  // `entered` gets each line as {item, cnt, pric, fen, result: null}.
  function onLine(entered) {
    $("find-form").addEventListener("submit", find);
    $("line-form").addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.target;
      G.clearErrors(form);
      const cnt = $("cnt").value.trim(), pric = $("pric").value.trim();
      if (!DECIMAL(4).test(cnt) || scaled(cnt, 4) === 0n) {
        G.showError(form, { code: "BAD", message: "数量须为正数，最多 4 位小数" }, { BAD: "cnt" }); return;
      }
      if (!DECIMAL(6).test(pric)) {
        G.showError(form, { code: "BAD", message: "单价须为非负数，最多 6 位小数" }, { BAD: "pric" }); return;
      }
      entered({ item, cnt, pric, fen: lineFen(cnt, pric), result: null });
      form.hidden = true; item = null; $("item-q").value = ""; $("item-q").focus();
    });
  }

  async function find(event) {
    event.preventDefault();
    const form = event.target;
    G.clearErrors(form);
    const text = $("item-q").value.trim();
    if (!text) { G.showError(form, { code: "EMPTY", message: "请输入目录编码或名称" }, { EMPTY: "item-q" }); return; }
    await G.busy(form.querySelector("button"), async () => {
      try {
        const found = await G.api("GET", `/api/v1/catalogue/items?q=${encodeURIComponent(text)}`);
        const exact = found.items.find((i) => i.med_list_codg.toUpperCase() === text.toUpperCase());
        if (exact || found.items.length === 1) { pick(exact || found.items[0]); return; }
        if (!found.items.length) throw new G.ApiError(404, "CATALOGUE_ITEM_NOT_FOUND", "医保目录中没有该项目（编码或名称开头）");
        showChoices(found.items);
      } catch (err) { $("item-choices").replaceChildren(); G.showError(form, err, { CATALOGUE_ITEM_NOT_FOUND: "item-q", INVALID_INPUT: "item-q" }); }
    });
  }

  function showChoices(items) {
    $("line-form").hidden = true; item = null;
    $("item-choices").replaceChildren(...items.map((i) => el("li", {}, el("button", { type: "button",
      onclick: () => pick(i) }, `${i.med_list_name} · ${levelText(i)} · ${i.med_list_codg}`))));
    $("item-choices").querySelector("button").focus();
  }

  function pick(chosen) {
    item = chosen;
    $("item-choices").replaceChildren();
    $("it-name").textContent = item.med_list_name;
    $("it-code").textContent = item.med_list_codg;
    $("it-lv").textContent = levelText(item);
    $("it-prop").textContent = item.chrgitm_lv === "02" ? propText(item.selfpay_prop) : "—";
    $("it-limit").textContent = item.pric_uplmt_amt === null ? "无" : item.pric_uplmt_amt;
    $("line-form").hidden = false;
    $("cnt").value = "1"; $("pric").value = "";
    $("pric").focus();
  }

  function forgetItem() {
    item = null;
    $("item-choices").replaceChildren(); $("line-form").hidden = true;
  }

  // A line as the centre classified it: its level and the parts that are not 范围内.
  function classText(r) {
    const parts = [[r.fulamt_ownpay_amt, "全自费"], [r.overlmt_amt, "超限价"], [r.preselfpay_amt, "先行自付"],
      [r.inscp_scp_amt, "范围内"]].filter(([amount]) => Number(amount) !== 0);
    return `${LEVEL[r.chrgitm_lv] || "目录外"}：${parts.map(([a, name]) => `${name} ${yuan(a)}`).join("，") || "0.00"}`;
  }

  // A line as the fee-line codes send it (2204, 2301, drugdetail).
  const lineOut = (line, sn) => ({ feedetl_sn: sn, med_list_codg: line.item.med_list_codg,
    medins_list_codg: line.item.med_list_codg, det_item_fee_sumamt: fenText(line.fen), cnt: line.cnt,
    pric: line.pric, fee_ocur_time: now() });

  // --- the slip and the reversal ---------------------------------------------------------
  const row = (label, amount, cls, id) => el("div", { class: `slip-row${cls ? ` ${cls}` : ""}` },
    el("span", {}, label), el("span", { class: "amt", id }, amount));

  // Each helper as the patient reads the slip: "儿子 平* 账户支付 12.00".
  const helperRows = (detail, verb, amount = yuan) => (detail || []).map((d) =>
    row(`${d.kin_to_patient || "亲属"} ${d.helper_name} ${verb}`, amount(d.amount), "slip-sub"));

  // The slip's money: the fund, the patient's own account, each helper, cash, the balance after.
  const slipAmounts = (out) => {
    const s = out.setlinfo;
    return [row("医疗费总额", yuan(s.medfee_sumamt), "", "r-medfee"),
      row("统筹基金支付", yuan(s.fund_pay_sumamt), "", "r-fund"),
      row("个人账户支付", yuan(s.acct_pay), "", "r-acct"),
      row("家庭共济支付", yuan(s.acct_mulaid_pay), "", "r-mulaid"),
      el("div", { id: "r-helpers" }, helperRows(out.mulaid_detail, "账户支付")),
      row("现金支付", yuan(s.psn_cash_pay), "", "r-cash"), row("本人账户余额", yuan(s.balc), "", "r-balc")];
  };

  // The whole slip: `title` of a settlement, `preTitle` of a pre-settlement (it moved nothing), `head`
  // the page's own rows after 结算编号 and the patient, `role` who served (收费员, 经办人).
  function showSlip(out, lines, { settled, title, preTitle, head, role, psnName }) {
    const s = out.setlinfo;
    $("slip-inst").textContent = session.inst.fixmedins_name;
    $("slip-code").textContent = `机构编码 ${session.inst.fixmedins_code}`;
    $("r-kind").textContent = settled ? title : preTitle;
    $("slip-head").replaceChildren(row("结算编号", s.setl_id || "—", "", "r-setl"),
      row("患者", maskName(s.psn_name || psnName)), ...head);
    $("slip-items").replaceChildren(...lines.flatMap((line) => [
      row(line.item.med_list_name, fenText(line.fen)),
      row(`${line.cnt} × ${line.pric}${line.result ? ` ${LEVEL[line.result.chrgitm_lv] || "目录外"}` : ""}`, "", "slip-sub")]));
    $("slip-amounts").replaceChildren(...slipAmounts(out));
    $("slip-foot").replaceChildren(row(role, opterText()), row("时间", `${s.setl_time} 北京时间`));
    $("print").hidden = !settled;
    $("result").hidden = false;
    fitRoll();
    $("result").scrollIntoView({ block: "nearest" });
  }

  const reversalRows = (out) => {
    const s = out.setlinfo;
    return [row("结算编号", s.setl_id), row("医疗费总额", refund(s.medfee_sumamt)),
      row("统筹基金退回", refund(s.fund_pay_sumamt)), row("个人账户退回", refund(s.acct_pay)),
      ...helperRows(out.mulaid_detail, "账户退回", refund),
      row("现金退回", refund(s.psn_cash_pay)), row("时间", `${s.setl_time} 北京时间`)];
  };

  // The printed roll as long as the slip: measured at print width, plus the page margins.
  const PX_PER_MM = 96 / 25.4, ROLL_MARGINS_MM = 6 + 4;  // 3 mm top and bottom, and a little air
  function fitRoll() {
    const slip = $("result");
    slip.classList.add("measure-roll");
    const length = Math.ceil(slip.getBoundingClientRect().height / PX_PER_MM) + ROLL_MARGINS_MM;
    slip.classList.remove("measure-roll");
    const sheet = [...document.styleSheets].find((s) => (s.href || "").endsWith("/static/counter.css"));
    if (!sheet) return;
    const rules = [...sheet.cssRules];
    const old = rules.findIndex((r) => r instanceof CSSPageRule && r.selectorText === "slip");
    if (old >= 0) sheet.deleteRule(old);
    sheet.insertRule(`@page slip { size: 80mm ${length}mm; margin: 3mm; }`, sheet.cssRules.length);
  }

  return { LEVEL, INSUTYPE, DECIMAL, scaled, fenText, sumFen, maskName, session, newMsgid, now, isHospital,
           call, loadInstitution, onSignIn, onSubmit, opterText, signOut, onRead, showPatient, onLine, forgetItem, classText,
           lineOut, row, showSlip, reversalRows };
})();
