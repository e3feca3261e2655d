// The service-hall console: look a person up by ID number, bind at the window, unbind.
"use strict";
(() => {
  const { api, el, yuan, when, RELATION, KIND } = G;
  const $ = (id) => document.getElementById(id);
  let current = null;

  async function start() {
    const me = await api("GET", "/web/clerk");
    $("me-name").textContent = `${me.clerk_id}（${me.admdvs}）`;
    G.showApp();
  }

  $("lookup-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    G.clearErrors(form);
    const certno = $("lookup-certno").value.trim().toUpperCase();
    await G.busy(form.querySelector("button"), async () => {
      try { await showPerson(certno); }
      catch (err) { $("person").hidden = true; G.showError(form, err, { INVALID_CERTNO: "lookup-certno", PERSON_NOT_FOUND: "lookup-certno", CLERK_REGION: "lookup-certno", NOT_FOUND: "lookup-certno" }); }
    });
  });

  async function showPerson(certno) {
    const base = `/api/v1/hall/persons/${encodeURIComponent(certno)}`;
    const [person, bindings, entries] = await Promise.all([
      api("GET", base), api("GET", `${base}/bindings`), api("GET", `${base}/entries`)]);
    current = certno;
    $("p-name").textContent = person.psn_name || "";
    $("p-psn").textContent = person.psn_no;
    $("p-balance").textContent = yuan(person.balance);
    $("p-status").textContent = { normal: "正常", frozen: "冻结", none: "无个人账户" }[person.status || person.account_status] || "";
    const rows = [...bindings.as_helper.map((b) => ["为其付费", b]), ...bindings.as_beneficiary.map((b) => ["为本人付费", b])];
    $("p-bindings").tBodies[0].replaceChildren(...rows.map(([side, b]) => el("tr", {},
      el("td", {}, side), el("td", {}, `${b.counterpart_name}（${b.counterpart_certno}）`),
      el("td", {}, RELATION[b.relation] || b.relation), el("td", {}, { active: "有效", unbound: "已解绑", ended: "已终止" }[b.status]),
      el("td", {}, b.status === "active" ? el("button", { type: "button", onclick: () => unbind(b) }, "窗口解绑") : ""))));
    $("p-entries").tBodies[0].replaceChildren(...entries.entries.map((e) => el("tr", {},
      el("td", {}, when(e.time)), el("td", {}, KIND[e.kind] || e.kind),
      el("td", { class: `num ${e.amount < 0 ? "neg" : "pos"}` }, yuan(e.amount)),
      el("td", {}, e.beneficiary_certno || "本人"), el("td", {}, e.fixmedins_name || e.fixmedins_code || ""))));
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
        await api("POST", "/api/v1/bindings", body);
        form.reset();
        G.toast("绑定已办理，即时生效");
        if (current) await showPerson(current);
      } catch (err) {
        G.showError(form, err, { INVALID_CERTNO: "bind-helper", HELPER_NOT_ELIGIBLE: "bind-helper",
          BENEFICIARY_NOT_ELIGIBLE: "bind-beneficiary", KINSHIP_NOT_VERIFIED: "bind-beneficiary", BINDING_EXISTS: "bind-beneficiary" });
      }
    });
  });

  function unbind(binding) {
    const dialog = $("unbind-dialog");
    $("unbind-text").textContent = `解除与 ${binding.counterpart_name} 的共济关系（${RELATION[binding.relation] || ""}）。`;
    $("unbind-docs").checked = false;
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", async () => {
      if (dialog.returnValue !== "ok") return;
      if (!$("unbind-docs").checked) { $("person-error").textContent = "须核验双方有效身份证件后方可解绑"; return; }
      try {
        await api("DELETE", `/api/v1/bindings/${binding.binding_id}`, { documents_checked: true });
        G.toast("已办理解绑");
        await showPerson(current);
      } catch (err) { $("person-error").textContent = err.message; }
    }, { once: true });
  }

  G.signIn(start);
})();
