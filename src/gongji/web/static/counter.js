// The clinic / pharmacy counter (收费台) on the national interface as a HIS sends it:
// the cashier signs in (9001), reads the credential (1101); a hospital registers the visit
// (2201), uploads fee lines by catalogue code (2204), deletes a batch (2205), pre-settles and
// settles a batch (2206/2207); a pharmacy pre-settles and settles its lines (2101/2102). The
// centre classifies every line; the page shows what it answered. Slip, reversal (2208/2103).
"use strict";
(() => {
  const { el } = G;
  const { INSUTYPE, fenText, sumFen, session, newMsgid, now, isHospital, call, row } = Desk;
  const $ = (id) => document.getElementById(id);
  const CODES = { hospital: { pre: "2206", settle: "2207", reverse: "2208" },
                  pharmacy: { pre: "2101", settle: "2102", reverse: "2103" } };
  const PHARMACY_MED_TYPE = "41";  // 定点药店购药
  const OUTPATIENT_MED_TYPE = "11";  // 普通门诊

  // What this page load holds besides the sign-in (Desk.session): the patient read, the visit
  // (hospital), the lines being entered, the uploaded batches (hospital).
  let patient = null, cert = null, visit = null;
  let draft = [], batches = [], drugMsgid = null, sentDrugBill = null;

  // --- start: the institution, then the cashier's sign-in (9001), then the credential (1101)
  async function start() {
    const inst = await Desk.loadInstitution();
    $("app").dataset.kind = inst.fixmedins_type;
    $("inpatient-link").hidden = !isHospital();
    G.showApp();
    $("opter-no").focus();
  }

  Desk.onSignIn("收费员");
  Desk.onRead(newPatient, forgetPatient);

  function newPatient(read, readCert) {
    forgetPatient();
    cert = readCert; patient = read;
    Desk.showPatient(patient);
    if (isHospital()) { $("register").hidden = false; $("register").focus(); }
    else openSale();
  }

  function forgetPatient() {
    patient = cert = visit = sentDrugBill = drugMsgid = null;
    draft = []; batches = [];
    $("patient").hidden = true; $("sale").hidden = true; $("result").hidden = true;
    $("pt-mdtrt").textContent = "未挂号";
    Desk.forgetItem();
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

  // --- the lines being entered (looked up in the catalogue by Desk) -----------------------
  Desk.onLine((line) => { draft.push(line); draftChanged(); });

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

  const classText = Desk.classText;

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

  const lineOut = Desk.lineOut;

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
  function showSlip(out, lines, kind) {
    const s = out.setlinfo;
    Desk.showSlip(out, lines, { settled: kind === "settle", title: isHospital() ? "门诊结算单" : "药店购药结算单",
      preTitle: "预结算（未扣款，仅供核对）", role: "收费员", psnName: patient.psn_name,
      head: [row("险种", INSUTYPE[s.insutype || patient.insutype] || ""), ...(visit ? [row("就诊编号", visit.mdtrt_id)] : [])] });
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
        const out = await call(CODES[session.inst.fixmedins_type].reverse, data);
        showReversal(out);
        form.reset();
        G.toast("结算已撤销");
      } catch (err) {
        G.showError(form, err, { SETTLEMENT_NOT_FOUND: "rev-setl", ALREADY_REVERSED: "rev-setl", INVALID_INPUT: "rev-setl" });
      }
    });
  });

  function showReversal(out) {
    $("reversal-rows").replaceChildren(...Desk.reversalRows(out));
    $("reversal").hidden = false;
  }

  G.signIn(start, Desk.signOut);
})();
