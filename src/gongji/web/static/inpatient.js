// The hospital's admission office (住院处) on the national interface as a HIS sends it: the
// operator signs in (9001), reads the credential (1101), admits the patient (2401), uploads
// the stay's fee lines by catalogue code (2301, each answered with its classification),
// removes lines (2302, one or "0000" all unsettled), discharges (2402), pre-settles and settles
// every unsettled line of the stay (2303 / 2304), prints the 80 mm slip; cancels a discharge
// (2405) or an admission (2404); reverses a settlement typed into an empty form (2305).
// A pharmacy has no stays: it is told so and sent to its counter.
"use strict";
(() => {
  const { el } = G;
  const { INSUTYPE, fenText, sumFen, now, isHospital, call, row } = Desk;
  const $ = (id) => document.getElementById(id);
  const INPATIENT_MED_TYPE = "21";  // 普通住院
  const ALL_UNSETTLED = "0000";  // 2302: every unsettled line of the stay
  const STATE = { admitted: "在院", discharged: "已出院，待结算", settled: "已结算" };

  // What this page load holds besides the sign-in (Desk.session): the patient read, the stay
  // (admission answered by the centre), the lines entered and not yet uploaded.
  let patient = null, cert = null, stay = null, draft = [];

  async function start() {
    await Desk.loadInstitution();
    G.showApp();
    if (!isHospital()) {  // a pharmacy's token: nothing here is for it
      for (const id of ["opter-form", "reverse-form", "counter-link"]) $(id).hidden = true;
      $("not-hospital").hidden = false;
      return;
    }
    $("opter-no").focus();
  }

  Desk.onSignIn("经办人");
  Desk.onRead(newPatient, forgetPatient);

  function newPatient(read, readCert) {
    forgetPatient();
    patient = read; cert = readCert;
    Desk.showPatient(patient);
    $("ipt-no").value = `ZY${now().replace(/\D/g, "").slice(2)}${Math.random().toString(36).slice(2, 5).toUpperCase()}`;
    $("admit-form").hidden = false;
    $("dept-code").focus();
  }

  function forgetPatient() {
    patient = cert = stay = null; draft = [];
    for (const id of ["patient", "admit-form", "stay", "fees", "discharge-form", "settling", "result"]) $(id).hidden = true;
    $("admit-form").reset();
    Desk.forgetItem();
    renderDraft();
  }

  // --- admission (2401) and its cancellation (2404) -------------------------------------------
  const ADMIT_FIELDS = { "ipt-no": "住院号", "dept-code": "入院科室编码", "dept-name": "入院科室名称",
    "atddr-no": "主治医师编码", "atddr-name": "主治医师姓名", "diag-code": "入院诊断编码", "diag-name": "入院诊断名称" };
  const v = (id) => $(id).value.trim();
  // An INVALID_INPUT names the national field it is about: said next to that field's input.
  const fieldOf = (err, byName) => {
    const found = Object.entries(byName).find(([name]) => (err.message || "").includes(name));
    return found ? { [err.code]: found[1] } : {};
  };
  const ADMIT_NAMES = { ipt_no: "ipt-no", adm_dept_codg: "dept-code", adm_dept_name: "dept-name",
    atddr_no: "atddr-no", chfpdr_name: "atddr-name", diag_code: "diag-code", diag_name: "diag-name" };

  const diagnosis = (code, name, time) => ({ psn_no: patient.psn_no, diag_type: "1", maindiag_flag: "1",
    diag_srt_no: "1", diag_code: code, diag_name: name, diag_dept: stay ? stay.dept_name : v("dept-name"),
    dise_dor_no: stay ? stay.atddr_no : v("atddr-no"), dise_dor_name: stay ? stay.atddr_name : v("atddr-name"),
    diag_time: time, vali_flag: "1" });

  Desk.onSubmit("admit-form", ADMIT_FIELDS, async (form) => {
    const begntime = now();
    const mdtrtinfo = { psn_no: patient.psn_no, insutype: patient.insutype, begntime, ...cert,
      med_type: INPATIENT_MED_TYPE, ipt_no: v("ipt-no"), atddr_no: v("atddr-no"), chfpdr_name: v("atddr-name"),
      adm_dept_codg: v("dept-code"), adm_dept_name: v("dept-name"), adm_diag_dscr: v("diag-name"),
      dise_codg: v("diag-code"), dise_name: v("diag-name") };
    try {
      const out = await call("2401", null, null, { mdtrtinfo, diseinfo: [diagnosis(v("diag-code"), v("diag-name"), begntime)] });
      const answered = out.result || out.data;
      stay = { mdtrt_id: answered.mdtrt_id, ipt_no: mdtrtinfo.ipt_no, dept_name: mdtrtinfo.adm_dept_name,
        atddr_no: mdtrtinfo.atddr_no, atddr_name: mdtrtinfo.chfpdr_name, diag: [v("diag-code"), v("diag-name")],
        begntime, endtime: null, state: "admitted", lines: [], seq: 0, batch: 0, msgid: null, setl_id: null };
      form.hidden = true;
      $("dscg-code").value = stay.diag[0]; $("dscg-name").value = stay.diag[1];
      renderStay();
      $("item-q").focus();
    } catch (err) { G.showError(form, err, fieldOf(err, ADMIT_NAMES)); }
  });

  // A call on the stay as a whole (2404, 2405: input.data names it), from a button of `boxId`.
  function onStayButton(id, infno, boxId, done) {
    $(id).addEventListener("click", async (event) => {
      const box = $(boxId);
      G.clearErrors(box);
      await G.busy(event.target, async () => {
        try {
          await call(infno, { mdtrt_id: stay.mdtrt_id, psn_no: patient.psn_no });
          done();
        } catch (err) { G.showError(box, err, {}); }
      });
    });
  }

  onStayButton("cancel-admission", "2404", "stay", () => {
    G.toast(`住院 ${stay.mdtrt_id} 的入院登记已撤销`);
    const read = patient, readCert = cert;
    forgetPatient();
    newPatient(read, readCert);  // the patient is still at the desk: admit again if need be
  });

  // --- the stay as it stands ------------------------------------------------------------------
  const live = () => stay.lines.filter((l) => !l.removed);
  const unsettled = () => live().filter((l) => !l.settled);

  function renderStay() {
    $("st-mdtrt").textContent = stay.mdtrt_id;
    $("st-ipt").textContent = stay.ipt_no;
    $("st-dept").textContent = `${stay.dept_name} / ${stay.atddr_name}`;
    $("st-diag").textContent = `${stay.diag[1]}（${stay.diag[0]}）`;
    $("st-begn").textContent = stay.begntime;
    $("st-end").textContent = stay.endtime || "在院";
    $("st-state").textContent = STATE[stay.state];
    $("stay").hidden = false;
    $("cancel-admission").hidden = stay.state !== "admitted";
    $("fees").hidden = !["admitted", "discharged"].includes(stay.state);  // lines until settled
    $("discharge-form").hidden = stay.state !== "admitted";
    $("settling").hidden = stay.state !== "discharged";
    $("bill-total").textContent = fenText(sumFen(unsettled()));
    renderUploaded();
  }

  // --- lines: entered, uploaded (2301), removed (2302) ----------------------------------------
  Desk.onLine((line) => { draft.push(line); renderDraft(); });

  function renderDraft() {
    $("draft").tBodies[0].replaceChildren(...draft.map((line, index) => el("tr", {},
      el("td", {}, line.item.med_list_name), el("td", { class: "num" }, line.cnt), el("td", { class: "num" }, line.pric),
      el("td", { class: "num" }, fenText(line.fen)),
      el("td", {}, el("button", { type: "button", "aria-label": `删除 ${line.item.med_list_name}`,
        onclick: () => { draft.splice(index, 1); renderDraft(); $("item-q").focus(); } }, "删除")))));
    $("draft-total").textContent = fenText(sumFen(draft));
  }

  function renderUploaded() {
    $("uploaded").tBodies[0].replaceChildren(...live().map((line) => el("tr", {},
      el("td", {}, line.feedetl_sn), el("td", {}, line.item.med_list_name),
      el("td", { class: "num" }, fenText(line.fen)), el("td", { class: "lv" }, Desk.classText(line.result)),
      el("td", {}, line.settled ? "已结算" : el("button", { type: "button", "aria-label": `撤销明细 ${line.feedetl_sn} ${line.item.med_list_name}`,
        onclick: (e) => removeLines(line.feedetl_sn, e.target) }, "撤销")))));
    $("uploaded-total").textContent = fenText(sumFen(live()));
    $("remove-all").hidden = !unsettled().length;
  }

  $("upload").addEventListener("click", async (event) => {
    const box = $("fees");
    G.clearErrors(box);
    if (!draft.length) { G.showError(box, { code: "EMPTY", message: "请先加入费用明细" }, { EMPTY: "item-q" }); return; }
    await G.busy(event.target, async () => {
      const chrg_bchno = String(stay.batch + 1).padStart(4, "0");  // 收费批次号, per stay
      // 费用明细流水号 numbered along the stay, never "0000" (2302's word for all of them)
      const feedetail = draft.map((line, i) => ({ ...Desk.lineOut(line, String(stay.seq + i + 1).padStart(4, "0")),
        mdtrt_id: stay.mdtrt_id, psn_no: patient.psn_no, chrg_bchno, med_type: INPATIENT_MED_TYPE }));
      try {
        const out = await call("2301", null, null, { feedetail });
        const results = new Map(out.result.map((r) => [r.feedetl_sn, r]));
        stay.lines.push(...draft.map((line, i) => ({ ...line, feedetl_sn: feedetail[i].feedetl_sn,
          result: results.get(feedetail[i].feedetl_sn), removed: false, settled: false })));
        stay.seq += draft.length; stay.batch += 1; stay.msgid = null;
        draft = []; renderDraft(); renderStay();
        G.toast(`已上传 ${feedetail.length} 条明细`);
      } catch (err) { G.showError(box, err, {}); }
    });
  });

  async function removeLines(feedetl_sn, button) {
    const box = $("fees");
    G.clearErrors(box);
    await G.busy(button, async () => {
      try {
        await call("2302", { feedetl_sn, mdtrt_id: stay.mdtrt_id, psn_no: patient.psn_no });
        for (const line of unsettled()) if (feedetl_sn === ALL_UNSETTLED || line.feedetl_sn === feedetl_sn) line.removed = true;
        stay.msgid = null;
        renderStay();
        G.toast(feedetl_sn === ALL_UNSETTLED ? "全部未结算明细已撤销" : `明细 ${feedetl_sn} 已撤销`);
        $("item-q").focus();
      } catch (err) { G.showError(box, err, {}); }
    });
  }
  $("remove-all").addEventListener("click", (e) => removeLines(ALL_UNSETTLED, e.target));

  // --- discharge (2402) and its cancellation (2405) -------------------------------------------
  const DISCHARGE_FIELDS = { "dscg-code": "出院诊断编码", "dscg-name": "出院诊断名称" };

  Desk.onSubmit("discharge-form", DISCHARGE_FIELDS, async (form) => {
    const endtime = now();
    const dscginfo = { mdtrt_id: stay.mdtrt_id, psn_no: patient.psn_no, insutype: patient.insutype, endtime,
      dise_codg: v("dscg-code"), dise_name: v("dscg-name"), dscg_way: "1" };
    try {
      await call("2402", null, null, { dscginfo,
        diseinfo: [{ ...diagnosis(v("dscg-code"), v("dscg-name"), endtime), mdtrt_id: stay.mdtrt_id }] });
      stay.endtime = endtime; stay.state = "discharged";
      renderStay();
      $("presettle").focus();
    } catch (err) { G.showError(form, err, fieldOf(err, { endtime: "dscg-code", dise_codg: "dscg-code", dise_name: "dscg-name" })); }
  });

  onStayButton("cancel-discharge", "2405", "settling", () => {
    stay.endtime = null; stay.state = "admitted";
    renderStay();
    G.toast("出院登记已撤销，患者在院");
  });

  // --- pre-settlement (2303) and settlement (2304) of every unsettled line ---------------------
  $("use-accounts").addEventListener("change", () => { if (stay) stay.msgid = null; });  // another bill: a new message

  // The same bill clicked twice reuses its msgid (the centre answers the first settlement
  // again); another bill, or the same with another account choice, is a new message.
  async function settleStay(kind, button) {
    const box = $("settling");
    G.clearErrors(box);
    const lines = unsettled();
    if (!lines.length) { G.showError(box, { code: "NO_FEE_DETAIL", message: "本次住院没有未结算的费用明细" }, {}); return; }
    await G.busy(button, async () => {
      const data = { psn_no: patient.psn_no, ...cert, medfee_sumamt: fenText(sumFen(lines)), psn_setlway: "01",
        mdtrt_id: stay.mdtrt_id, insutype: patient.insutype, acct_used_flag: $("use-accounts").checked ? "1" : "0",
        mid_setl_flag: "0" };
      try {
        if (kind === "settle") stay.msgid = stay.msgid || Desk.newMsgid();
        const out = await call(kind === "settle" ? "2304" : "2303", data, kind === "settle" ? stay.msgid : null);
        if (kind === "settle") {
          lines.forEach((line) => { line.settled = true; });
          stay.setl_id = out.setlinfo.setl_id; stay.state = "settled"; stay.msgid = null;
          renderStay();
        }
        showSlip(out, lines, kind);
      } catch (err) { G.showError(box, err, {}); }
    });
  }
  $("presettle").addEventListener("click", (e) => settleStay("pre", e.target));
  $("settle").addEventListener("click", (e) => settleStay("settle", e.target));

  // --- the slip: the stay's dates, its lines, who paid (each helper as the patient calls them)
  function showSlip(out, lines, kind) {
    const s = out.setlinfo;
    Desk.showSlip(out, lines, { settled: kind === "settle", title: "住院结算单", preTitle: "住院预结算（未扣款，仅供核对）",
      role: "经办人", psnName: patient.psn_name,
      head: [row("人员编号", patient.psn_no, "", "r-psn"), row("险种", INSUTYPE[s.insutype || patient.insutype] || ""),
        row("就诊编号", stay.mdtrt_id, "", "r-mdtrt"), row("住院号", stay.ipt_no),
        row("科室", stay.dept_name), row("入院", stay.begntime, "", "r-begn"), row("出院", stay.endtime, "", "r-end"),
        row("住院天数", `${stayDays()} 天`, "", "r-days")] });
  }

  // 住院天数 as hospitals count it: the nights from the admission day to the discharge day,
  // a stay begun and ended on one day counting as one. Both dates are Beijing stamps.
  function stayDays() {
    const day = (stamp) => Date.UTC(...stamp.slice(0, 10).split("-").map((n, i) => Number(n) - (i === 1 ? 1 : 0)));
    return Math.max(1, Math.round((day(stay.endtime) - day(stay.begntime)) / 86400000));
  }

  $("print").addEventListener("click", () => window.print());
  $("new-bill").addEventListener("click", () => {
    forgetPatient();
    $("read-form").reset();
    $("cert-no").focus();
  });

  // --- reversal (2305): typed by the operator, never filled in from the stay just settled ------
  const REVERSE_FIELDS = { "rev-setl": "结算编号", "rev-mdtrt": "就诊编号", "rev-psn": "人员编号" };

  Desk.onSubmit("reverse-form", REVERSE_FIELDS, async (form) => {
    const data = { setl_id: v("rev-setl"), mdtrt_id: v("rev-mdtrt"), psn_no: v("rev-psn") };
    try {
      const out = await call("2305", data);
      $("reversal-rows").replaceChildren(...Desk.reversalRows(out));
      $("reversal").hidden = false;
      form.reset();
      reopened(data.setl_id);
      G.toast("住院结算已撤销");
    } catch (err) {
      G.showError(form, err, { SETTLEMENT_NOT_FOUND: "rev-setl", ALREADY_REVERSED: "rev-setl", INVALID_INPUT: "rev-setl",
        STAY_NOT_FOUND: "rev-mdtrt" });
    }
  });

  // The stay on the screen whose settlement was just reversed is discharged and unsettled again.
  function reopened(setl_id) {
    if (!stay || stay.setl_id !== setl_id) return;
    live().forEach((line) => { line.settled = false; });
    stay.setl_id = null; stay.state = "discharged";
    renderStay();
  }

  G.signIn(start, Desk.signOut);
})();
