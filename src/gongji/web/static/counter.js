// The clinic / pharmacy counter (收费台) on the national interface as a HIS sends it:
// the cashier signs in (9001), reads the credential (1101); a hospital registers the visit
// (2201), uploads fee lines by catalogue code (2204), deletes a batch (2205), pre-settles and
// settles a batch (2206/2207); a pharmacy pre-settles and settles its lines (2101/2102). The
// centre classifies every line; the page shows what it answered. Slip, reversal (2208/2103).
"use strict";
(() => {
  const { el, yuan } = G;
  const $ = (id) => document.getElementById(id);
  const CODES = { hospital: { pre: "2206", settle: "2207", reverse: "2208" },
                  pharmacy: { pre: "2101", settle: "2102", reverse: "2103" } };
  const LEVEL = { "01": "甲类", "02": "乙类", "03": "丙类" };
  const INSUTYPE = { 310: "职工基本医疗保险", 390: "城乡居民基本医疗保险" };
  const PHARMACY_MED_TYPE = "41";  // 定点药店购药
  const OUTPATIENT_MED_TYPE = "11";  // 普通门诊

  // What this page load holds: the institution, the cashier's sign-in, the patient read,
  // the visit (hospital), the lines being entered, the uploaded batches (hospital).
  let inst = null, opter = null, signNo = null, patient = null, cert = null, visit = null;
  let item = null, draft = [], batches = [], drugMsgid = null, sentDrugBill = null;

  const newMsgid = () => `${inst.fixmedins_code}-${Date.now()}-${Math.random().toString(36).slice(2, 8)}`;
  const now = () => Beijing.stamp(Beijing.now());
  const isHospital = () => inst.fixmedins_type === "hospital";
  async function call(infno, data, msgid, input) {
    try {
      return await G.gateway(infno, data, msgid || newMsgid(), inst.fixmedins_code,
        { input, sign_no: signNo, opter: opter.no, opter_name: opter.name || undefined });
    } catch (err) {
      if (err.code === "SIGN_NO_INVALID") signInAgain();
      throw err;
    }
  }

  // A sign-in lasts the Beijing day: past midnight (or once signed out elsewhere) the centre
  // refuses it, and the cashier signs in again without losing the bill on the screen.
  function signInAgain() {
    signNo = null;
    $("me-opter").hidden = true;
    $("opter-form").hidden = false;
    $("opter-form-error").textContent = "签到已失效（已跨日或已签退），请重新签到后再操作";
  }

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

  // --- start: the institution, then the cashier's sign-in ---------------------------------
  async function start() {
    inst = await G.api("GET", "/web/institution");
    $("me-name").textContent = inst.fixmedins_name;
    $("me-code").textContent = `${inst.fixmedins_code} · ${isHospital() ? "定点医疗机构" : "定点零售药店"}`;
    $("app").dataset.kind = inst.fixmedins_type;
    G.showApp();
    $("opter-no").focus();
  }

  $("opter-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    G.clearErrors(form);
    const no = $("opter-no").value.trim(), name = $("opter-name").value.trim();
    if (!no) { G.showError(form, { code: "EMPTY", message: "请输入收费员工号" }, { EMPTY: "opter-no" }); return; }
    await G.busy(form.querySelector("button"), async () => {
      try {
        const out = await G.gateway("9001", null, newMsgid(), inst.fixmedins_code,
          { input: { signIn: { opter_no: no, mac: "", ip: "" } }, opter: no, opter_name: name || undefined });
        signNo = out.signinoutb.sign_no; opter = { no, name };
        $("me-opter").textContent = `收费员 ${name ? `${name}（${no}）` : no} · 签到编号 ${signNo}`;
        $("me-opter").hidden = false; form.hidden = true;
        if ($("desk").hidden) { $("desk").hidden = false; $("cert-type").focus(); }
      } catch (err) { G.showError(form, err, { INVALID_INPUT: "opter-no" }); }
    });
  });

  // --- the patient (1101) ------------------------------------------------------------------
  $("read-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    G.clearErrors(form);
    const read = { mdtrt_cert_type: $("cert-type").value, mdtrt_cert_no: $("cert-no").value.trim() };
    if (!read.mdtrt_cert_no) { G.showError(form, { code: "EMPTY", message: "请输入凭证号码" }, { EMPTY: "cert-no" }); return; }
    await G.busy(form.querySelector("button"), async () => {
      try {
        const out = await call("1101", read);
        newPatient(out, read);
      } catch (err) {
        forgetPatient();
        G.showError(form, err, { PERSON_NOT_FOUND: "cert-no", EVOUCHER_INVALID: "cert-no", INVALID_INPUT: "cert-no" });
      }
    });
  });

  function newPatient(out, read) {
    forgetPatient();
    cert = read;
    patient = { ...out.baseinfo, insutype: out.insuinfo[0].insutype, balc: out.insuinfo[0].balc };
    $("pt-name").textContent = patient.psn_name;
    $("pt-gend").textContent = patient.gend === "2" ? "女" : "男";
    $("pt-psn").textContent = patient.psn_no;
    $("pt-insutype").textContent = INSUTYPE[patient.insutype] || patient.insutype;
    $("pt-balc").textContent = yuan(patient.balc);
    $("patient").hidden = false;
    if (isHospital()) { $("register").hidden = false; $("register").focus(); }
    else openSale();
  }

  function forgetPatient() {
    patient = cert = visit = item = sentDrugBill = drugMsgid = null;
    draft = []; batches = [];
    $("patient").hidden = true; $("sale").hidden = true; $("result").hidden = true;
    $("pt-mdtrt").textContent = "未挂号";
    $("item-choices").replaceChildren(); $("line-form").hidden = true;
    $("batches").replaceChildren();
    renderDraft();
  }

  // --- hospital: register the visit (2201) -------------------------------------------------
  $("register").addEventListener("click", async (event) => {
    const box = $("patient");
    G.clearErrors(box);
    await G.busy(event.target, async () => {
      try {
        const out = await call("2201", { psn_no: patient.psn_no, insutype: patient.insutype, begntime: now(),
          ...cert, ipt_otp_no: `MZ${now().replace(/\D/g, "")}${Math.random().toString(36).slice(2, 6)}` });
        visit = { mdtrt_id: out.data.mdtrt_id, batchSeq: 0 };
        $("pt-mdtrt").textContent = visit.mdtrt_id;
        $("register").hidden = true;
        openSale();
      } catch (err) { G.showError(box, err, {}); }
    });
  });

  function openSale() {
    $("sale").hidden = false;
    $("item-q").focus();
  }

  // --- catalogue: look a code or a name up, pick the item ----------------------------------
  $("find-form").addEventListener("submit", async (event) => {
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
  });

  const levelText = (i) => `${LEVEL[i.chrgitm_lv] || "目录外"}`;
  const propText = (prop) => `${(Number(prop) * 100).toFixed(2).replace(/\.?0+$/, "")}%`;

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

  // --- the lines being entered ---------------------------------------------------------------
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
    draft.push({ item, cnt, pric, fen: lineFen(cnt, pric), result: null });
    draftChanged();
    form.hidden = true; item = null; $("item-q").value = ""; $("item-q").focus();
  });

  function draftChanged() {
    drugMsgid = null; sentDrugBill = null;
    draft.forEach((line) => { line.result = null; });
    renderDraft();
  }

  function renderDraft() {
    $("draft").tBodies[0].replaceChildren(...draft.map((line, index) => el("tr", {},
      el("td", {}, line.item.med_list_name), el("td", { class: "num" }, line.cnt), el("td", { class: "num" }, line.pric),
      el("td", { class: "num" }, fenText(line.fen)), el("td", { class: "drug-only lv" }, line.result ? classText(line.result) : "待中心分类"),
      el("td", {}, el("button", { type: "button", "aria-label": `删除 ${line.item.med_list_name}`,
        onclick: () => { draft.splice(index, 1); draftChanged(); $("item-q").focus(); } }, "删除")))));
    $("draft-total").textContent = fenText(sumFen(draft));
  }

  // A line as the centre classified it: its level and the parts that are not 范围内.
  function classText(r) {
    const parts = [[r.fulamt_ownpay_amt, "全自费"], [r.overlmt_amt, "超限价"], [r.preselfpay_amt, "先行自付"],
      [r.inscp_scp_amt, "范围内"]].filter(([amount]) => Number(amount) !== 0);
    return `${LEVEL[r.chrgitm_lv] || "目录外"}：${parts.map(([a, name]) => `${name} ${yuan(a)}`).join("，") || "0.00"}`;
  }

  $("use-accounts").addEventListener("change", () => {
    drugMsgid = null;  // another bill: a new message
    batches.forEach((b) => { b.msgid = null; });
  });
  const acctFlag = () => ($("use-accounts").checked ? "1" : "0");

  function needLines() {
    if (draft.length) return true;
    G.showError($("sale"), { code: "EMPTY", message: "请先加入费用明细" }, { EMPTY: "item-q" });
    return false;
  }

  const lineOut = (line, sn) => ({ feedetl_sn: sn, med_list_codg: line.item.med_list_codg,
    medins_list_codg: line.item.med_list_codg, det_item_fee_sumamt: fenText(line.fen), cnt: line.cnt,
    pric: line.pric, fee_ocur_time: now() });

  // --- hospital: upload a batch (2204), then per batch delete / pre-settle / settle ----------
  $("upload").addEventListener("click", async (event) => {
    const box = $("sale");
    G.clearErrors(box);
    if (!needLines()) return;
    await G.busy(event.target, async () => {
      const chrg_bchno = String(visit.batchSeq + 1).padStart(2, "0");  // 收费批次号, per visit
      const feedetail = draft.map((line, i) => ({ ...lineOut(line, `${chrg_bchno}-${i + 1}`),
        mdtrt_id: visit.mdtrt_id, psn_no: patient.psn_no, chrg_bchno }));
      try {
        const out = await call("2204", null, null, { feedetail });
        visit.batchSeq += 1;
        const results = new Map(out.result.map((r) => [r.feedetl_sn, r]));
        const lines = draft.map((line, i) => ({ ...line, result: results.get(feedetail[i].feedetl_sn) }));
        batches.push({ chrg_bchno, lines, msgid: null, setl_id: null, deleted: false });
        draft = []; renderDraft(); renderBatches();
      } catch (err) { G.showError(box, err, {}); }
    });
  });

  function renderBatches() {
    $("batches").replaceChildren(...batches.filter((b) => !b.deleted).map(batchCard));
  }

  function batchCard(batch) {
    const id = `batch-${batch.chrg_bchno}`;
    const rows = batch.lines.map((line) => el("tr", {}, el("td", {}, line.item.med_list_name),
      el("td", { class: "num" }, fenText(line.fen)), el("td", { class: "lv" }, line.result ? classText(line.result) : "—")));
    const actions = batch.setl_id ? [el("p", {}, `已结算，结算编号 ${batch.setl_id}`)] : [
      el("button", { type: "button", onclick: (e) => settleBatch(batch, "pre", e.target) }, "预结算"),
      el("button", { type: "button", class: "primary", onclick: (e) => settleBatch(batch, "settle", e.target) }, "结算"),
      el("button", { type: "button", onclick: (e) => deleteBatch(batch, e.target) }, "删除本批明细")];
    return el("section", { class: "card batch", id, "aria-label": `收费批次 ${batch.chrg_bchno}` },
      el("h3", {}, `收费批次 ${batch.chrg_bchno}（已上传，中心分类如下）`),
      el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `收费批次 ${batch.chrg_bchno} 明细` }, el("table", {},
        el("thead", {}, el("tr", {}, el("th", {}, "项目"), el("th", { class: "num" }, "金额"), el("th", {}, "中心分类"))),
        el("tbody", {}, rows),
        el("tfoot", {}, el("tr", {}, el("th", {}, "合计"), el("td", { class: "num" }, fenText(sumFen(batch.lines))), el("td", {}))))),
      el("p", { class: "error", id: `${id}-error`, role: "alert" }),
      el("div", { class: "actions" }, actions));
  }

  async function deleteBatch(batch, button) {
    const box = $(`batch-${batch.chrg_bchno}`);
    G.clearErrors(box);
    await G.busy(button, async () => {
      try {
        await call("2205", { mdtrt_id: visit.mdtrt_id, chrg_bchno: batch.chrg_bchno, psn_no: patient.psn_no });
        batch.deleted = true; renderBatches();
        G.toast(`收费批次 ${batch.chrg_bchno} 的明细已删除`);
        $("item-q").focus();
      } catch (err) { G.showError(box, err, {}); }
    });
  }

  // The same bill clicked twice reuses its msgid (the centre answers the first settlement
  // again); another bill, or the same with another account choice, is a new message.
  async function settleBatch(batch, kind, button) {
    const box = $(`batch-${batch.chrg_bchno}`);
    G.clearErrors(box);
    await G.busy(button, async () => {
      const data = { psn_no: patient.psn_no, ...cert, med_type: OUTPATIENT_MED_TYPE, psn_setlway: "01",
        mdtrt_id: visit.mdtrt_id, chrg_bchno: batch.chrg_bchno, insutype: patient.insutype,
        medfee_sumamt: fenText(sumFen(batch.lines)), fulamt_ownpay_amt: "", overlmt_selfpay: "",
        preselfpay_amt: "", inscp_scp_amt: "", acct_used_flag: acctFlag() };
      try {
        if (kind === "settle") batch.msgid = batch.msgid || newMsgid();
        const out = await call(CODES.hospital[kind], data, kind === "settle" ? batch.msgid : null);
        if (kind === "settle") { batch.setl_id = out.setlinfo.setl_id; renderBatches(); }
        showSlip(out, batch.lines, kind);
      } catch (err) { G.showError(box, err, {}); }
    });
  }

  // --- pharmacy: the lines are the bill (2101 / 2102) ----------------------------------------
  async function drugBill(kind, button) {
    const box = $("sale");
    G.clearErrors(box);
    if (!needLines()) return;
    await G.busy(button, async () => {
      const druginfo = { psn_no: patient.psn_no, ...cert, begntime: now(), medfee_sumamt: fenText(sumFen(draft)),
        insutype: patient.insutype, acct_used_flag: acctFlag(), med_type: PHARMACY_MED_TYPE };
      const drugdetail = draft.map((line, i) => lineOut(line, String(i + 1)));
      try {
        // A settlement tried again (no answer came) is the same message, times included, so
        // the centre answers it with the first settlement instead of settling twice.
        let input = { druginfo, drugdetail };
        if (kind === "settle") {
          drugMsgid = drugMsgid || newMsgid();
          if (sentDrugBill?.msgid === drugMsgid) input = sentDrugBill.input;
          sentDrugBill = { msgid: drugMsgid, input };
        }
        const out = await call(CODES.pharmacy[kind], null, kind === "settle" ? drugMsgid : null, input);
        (out.detlcutinfo || []).forEach((r, i) => { if (draft[i]) draft[i].result = r; });
        const lines = draft.slice();
        renderDraft();
        showSlip(out, lines, kind);
        if (kind === "settle") { draft = []; drugMsgid = null; sentDrugBill = null; renderDraft(); }
      } catch (err) { G.showError(box, err, {}); }
    });
  }
  $("presettle").addEventListener("click", (e) => drugBill("pre", e.target));
  $("settle").addEventListener("click", (e) => drugBill("settle", e.target));

  // --- the slip ------------------------------------------------------------------------------
  const row = (label, amount, cls, id) => el("div", { class: `slip-row${cls ? ` ${cls}` : ""}` },
    el("span", {}, label), el("span", { class: "amt", id }, amount));

  function showSlip(out, lines, kind) {
    const s = out.setlinfo, settled = kind === "settle";
    $("slip-inst").textContent = inst.fixmedins_name;
    $("slip-code").textContent = `机构编码 ${inst.fixmedins_code}`;
    $("r-kind").textContent = settled ? (isHospital() ? "门诊结算单" : "药店购药结算单") : "预结算（未扣款，仅供核对）";
    $("slip-head").replaceChildren(
      row("结算编号", s.setl_id || "—", "", "r-setl"), row("患者", maskName(s.psn_name || patient.psn_name)),
      row("险种", INSUTYPE[s.insutype || patient.insutype] || ""),
      ...(visit ? [row("就诊编号", visit.mdtrt_id)] : []));
    $("slip-items").replaceChildren(...lines.flatMap((line) => [
      row(line.item.med_list_name, fenText(line.fen)),
      row(`${line.cnt} × ${line.pric}${line.result ? ` ${LEVEL[line.result.chrgitm_lv] || ""}` : ""}`, "", "slip-sub")]));
    $("slip-amounts").replaceChildren(
      row("医疗费总额", yuan(s.medfee_sumamt), "", "r-medfee"),
      row("统筹基金支付", yuan(s.fund_pay_sumamt), "", "r-fund"),
      row("个人账户支付", yuan(s.acct_pay), "", "r-acct"),
      row("家庭共济支付", yuan(s.acct_mulaid_pay), "", "r-mulaid"),
      el("div", { id: "r-helpers" }, helperRows(out.mulaid_detail, "账户支付")),
      row("现金支付", yuan(s.psn_cash_pay), "", "r-cash"), row("本人账户余额", yuan(s.balc), "", "r-balc"));
    $("slip-foot").replaceChildren(row("收费员", opter.name ? `${opter.name}（${opter.no}）` : opter.no),
      row("时间", `${s.setl_time} 北京时间`));
    $("print").hidden = !settled;
    $("result").hidden = false;
    fitRoll();
    $("result").scrollIntoView({ block: "nearest" });
  }

  // Each helper as the patient reads the slip: "儿子 平* 账户支付 12.00".
  const helperRows = (detail, verb, amount = yuan) => (detail || []).map((d) =>
    row(`${d.kin_to_patient || "亲属"} ${d.helper_name} ${verb}`, amount(d.amount), "slip-sub"));

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

  $("print").addEventListener("click", () => window.print());
  $("new-bill").addEventListener("click", () => {
    forgetPatient();
    $("read-form").reset();
    $("cert-no").focus();
  });

  // --- reversal: typed by the cashier, never filled in from the sale just made --------------
  $("reverse-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    G.clearErrors(form);
    const data = { setl_id: $("rev-setl").value.trim(), psn_no: $("rev-psn").value.trim() };
    if (!data.setl_id) { G.showError(form, { code: "EMPTY", message: "请输入结算编号" }, { EMPTY: "rev-setl" }); return; }
    if (!data.psn_no) { G.showError(form, { code: "EMPTY", message: "请输入人员编号" }, { EMPTY: "rev-psn" }); return; }
    await G.busy(form.querySelector("button"), async () => {
      try {
        const out = await call(CODES[inst.fixmedins_type].reverse, data);
        showReversal(out);
        form.reset();
        G.toast("结算已撤销");
      } catch (err) {
        G.showError(form, err, { SETTLEMENT_NOT_FOUND: "rev-setl", ALREADY_REVERSED: "rev-setl", INVALID_INPUT: "rev-setl" });
      }
    });
  });

  function showReversal(out) {
    const s = out.setlinfo;
    $("reversal-rows").replaceChildren(row("结算编号", s.setl_id), row("医疗费总额", refund(s.medfee_sumamt)),
      row("统筹基金退回", refund(s.fund_pay_sumamt)), row("个人账户退回", refund(s.acct_pay)),
      ...helperRows(out.mulaid_detail, "账户退回", refund),
      row("现金退回", refund(s.psn_cash_pay)), row("时间", `${s.setl_time} 北京时间`));
    $("reversal").hidden = false;
  }

  G.signIn(start);
})();
