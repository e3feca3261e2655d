// The service-hall console: look a person up by ID number, bind at the window, unbind.
"use strict";
(() => {
  const { api, el, yuan, when, RELATION, KIND } = G;
  const $ = (id) => document.getElementById(id);
  const INSUTYPE = { 310: "职工基本医疗保险", 390: "城乡居民基本医疗保险" };
  const INSU_STAS = { 1: "正常参保", 2: "暂停参保" };
  const LOOKUP_FIELD = { INVALID_CERTNO: "lookup-certno", PERSON_NOT_FOUND: "lookup-certno", CLERK_REGION: "lookup-certno", NOT_FOUND: "lookup-certno" };
  let current = null;
  let clerk = "";

  async function start() {
    const me = await api("GET", "/web/clerk");
    clerk = `${me.clerk_id}（${me.admdvs}）`;
    $("me-name").textContent = clerk;
    G.showApp();
  }

  $("lookup-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    G.clearErrors(form);
    const certno = $("lookup-certno").value.trim().toUpperCase();
    await G.busy(form.querySelector("button"), () => lookUp(certno));
  });

  // Show a person, or say why not: never an older person's data beside a lookup error.
  async function lookUp(certno) {
    const form = $("lookup-form");
    G.clearErrors(form);
    $("person").hidden = true;
    current = null;
    try { await showPerson(certno); }
    catch (err) { G.showError(form, err, LOOKUP_FIELD); }
  }

  async function showPerson(certno) {
    const base = `/api/v1/hall/persons/${encodeURIComponent(certno)}`;
    const [person, bindings, entries] = await Promise.all([
      api("GET", base), api("GET", `${base}/bindings`), api("GET", `${base}/entries`)]);
    current = certno;
    $("person-error").textContent = "";
    $("p-name").textContent = person.psn_name || "";
    $("p-psn").textContent = person.psn_no;
    $("p-insutype").textContent = INSUTYPE[person.insutype] || person.insutype;
    $("p-insu-stas").textContent = INSU_STAS[person.psn_insu_stas] || person.psn_insu_stas;
    $("p-admdvs").textContent = person.insuplc_name ? `${person.insuplc_name}（${person.insuplc_admdvs}）` : person.insuplc_admdvs;
    $("p-balance").textContent = yuan(person.balance);
    $("p-status").textContent = { normal: "正常", frozen: "冻结", none: "无个人账户" }[person.status || person.account_status] || "";
    const rows = [...bindings.as_helper.map((b) => ["为其付费", b]), ...bindings.as_beneficiary.map((b) => ["为本人付费", b])];
    $("p-bindings").tBodies[0].replaceChildren(...rows.map(([side, b]) => el("tr", {},
      el("td", {}, side), el("td", {}, `${b.counterpart_name}（${b.counterpart_certno}）`),
      el("td", {}, b.relation_to_you || RELATION[b.relation] || b.relation), el("td", {}, { active: "有效", unbound: "已解绑", ended: "已终止" }[b.status]),
      el("td", { class: "num" }, b.quota === null ? "未设" : `${yuan(b.quota_remaining)} / ${yuan(b.quota)}`),
      el("td", {}, b.status === "active" ? el("button", { type: "button", onclick: () => unbind(b) }, "窗口解绑") : ""))));
    $("p-entries").tBodies[0].replaceChildren(...entries.entries.map((e) => el("tr", {},
      el("td", {}, when(e.time)), el("td", {}, KIND[e.kind] || e.kind),
      el("td", { class: `num ${e.amount < 0 ? "neg" : "pos"}` }, yuan(e.amount)),
      el("td", {}, e.beneficiary_certno ? `其${e.relation_to_you || "亲属"} ${e.beneficiary_name || e.beneficiary_certno}` : "本人"), el("td", {}, e.fixmedins_name || e.fixmedins_code || ""))));
    if (!entries.entries.length) $("p-entries").tBodies[0].append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "暂无使用明细")));
    if (!rows.length) $("p-bindings").tBodies[0].append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "暂无共济关系")));
    $("person").hidden = false;
  }

  $("bind-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    G.clearErrors(form);
    const docs = [...form.querySelectorAll("input[name=doc]")];
    if (docs.some((d) => !d.checked)) {
      G.showError(form, { code: "DOCUMENTS_NOT_CHECKED", message: "须核验并勾选双方的身份证件和社保卡" });
      return;
    }
    const body = { helper_certno: $("bind-helper").value.trim().toUpperCase(),
      beneficiary_certno: $("bind-beneficiary").value.trim().toUpperCase(),
      relation: $("bind-relation").value, documents_checked: true };
    await G.busy(form.querySelector("button[type=submit]"), async () => {
      try {
        const made = await api("POST", "/api/v1/bindings", body);
        form.reset();
        G.toast("绑定已办理，即时生效");
        await showReceipt(made.binding_id);
        // The helper's record, with the binding just made in it.
        $("lookup-certno").value = body.helper_certno;
        await lookUp(body.helper_certno);
        $("receipt").scrollIntoView({ block: "start" });
        $("receipt-print").focus();
      } catch (err) {
        G.showError(form, err, { INVALID_CERTNO: "bind-helper", HELPER_NOT_ELIGIBLE: "bind-helper",
          BENEFICIARY_NOT_ELIGIBLE: "bind-beneficiary", KINSHIP_NOT_VERIFIED: "bind-beneficiary", BINDING_EXISTS: "bind-beneficiary" });
      }
    });
  });

  // The receipt (回执) handed over the counter: masked ID numbers, printable on A5 (app.css).
  async function showReceipt(bindingId) {
    const b = await api("GET", `/api/v1/bindings/${bindingId}`);
    $("rc-id").textContent = String(b.binding_id);
    $("rc-time").textContent = when(b.activated_at);
    $("rc-helper").textContent = `${b.helper_name}（${b.helper_certno}）`;
    $("rc-beneficiary").textContent = `${b.beneficiary_name}（${b.beneficiary_certno}）`;
    $("rc-relation").textContent = `被共济人是共济人的${b.beneficiary_is}，共济人是被共济人的${b.helper_is}`;
    $("rc-clerk").textContent = clerk;
    $("receipt").hidden = false;
  }
  $("receipt-print").addEventListener("click", () => window.print());

  function unbind(binding) {
    const dialog = $("unbind-dialog");
    $("unbind-text").textContent = `解除与其${binding.relation_to_you || RELATION[binding.relation] || "亲属"} ${binding.counterpart_name} 的共济关系。`;
    $("unbind-docs").checked = false;
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", async () => {
      if (dialog.returnValue !== "ok") return;
      if (!$("unbind-docs").checked) { $("person-error").textContent = "须核验双方有效身份证件后方可解绑"; return; }
      try {
        await api("DELETE", `/api/v1/bindings/${binding.binding_id}`, { documents_checked: true });
        G.toast("已办理解绑");
        await lookUp(current);
      } catch (err) { $("person-error").textContent = err.message; }
    }, { once: true });
  }

  G.signIn(start);
})();
