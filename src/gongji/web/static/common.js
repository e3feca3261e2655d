// Shared by the pages: the signed-in token, API calls, errors next to their cause.
"use strict";
const G = (() => {
  const page = document.body.dataset.page;
  // The admission office (住院处) is the hospital's counter too: one institution token for both.
  const key = `gongji.${page === "inpatient" ? "counter" : page}.token`;
  const roleOf = { portal: "persons", hall: "clerks", counter: "institutions", inpatient: "institutions",
                   reports: "clerks" };

  class ApiError extends Error {
    constructor(status, code, message) { super(message); this.status = status; this.code = code; }
  }

  const token = () => sessionStorage.getItem(key);
  const headers = (extra) => Object.assign({ Authorization: `Bearer ${token()}` }, extra || {});

  async function api(method, path, body, extraHeaders) {
    const init = { method, headers: headers(extraHeaders) };
    if (body !== undefined) { init.body = JSON.stringify(body); init.headers["Content-Type"] = "application/json"; }
    let response;
    try { response = await fetch(path, init); }
    catch (e) { throw new ApiError(0, "NETWORK", "网络连接失败，请稍后重试"); }
    const data = await response.json().catch(() => ({}));
    if (!response.ok) throw new ApiError(response.status, data.code || "HTTP_ERROR", data.message || `请求失败（${response.status}）`);
    return data;
  }

  // options (all optional): input, the whole input object (2204 feedetail, 2101/2102
  // druginfo + drugdetail, 9001 signIn) sent instead of { data }; sign_no, the counter's
  // sign-in (9001) carried in the envelope; opter / opter_name, the operator.
  async function gateway(infno, data, msgid, code, options) {
    const o = options || {};
    const envelope = { infno, msgid, mdtrtarea_admvs: "", insuplc_admdvs: "", fixmedins_code: code,
      opter: o.opter || "counter", inf_time: infTime(), input: o.input || { data } };
    if (o.opter_name) envelope.opter_name = o.opter_name;
    if (o.sign_no) envelope.sign_no = o.sign_no;
    const answer = await api("POST", "/fsi/api/rsfComIfsService/callService", envelope);
    if (answer.infcode !== 0) throw new ApiError(200, answer.err_code, answer.err_msg);
    return answer.output;
  }

  // The gateway's time format, Beijing time by the server's clock.
  const infTime = () => Beijing.stamp(Beijing.now());

  async function download(path, filename) {
    const response = await fetch(path, { headers: headers() });
    if (!response.ok) {
      const data = await response.json().catch(() => ({}));
      throw new ApiError(response.status, data.code, data.message || "下载失败");
    }
    const url = URL.createObjectURL(await response.blob());
    const a = el("a", { href: url, download: filename });
    document.body.append(a); a.click(); a.remove(); URL.revokeObjectURL(url);
  }

  // Put the message next to the field the code is about, else at the form's own slot.
  function showError(form, err, fieldFor) {
    clearErrors(form);
    const fieldId = fieldFor && fieldFor[err.code];
    const field = fieldId && document.getElementById(fieldId);
    const slot = (field && document.getElementById(`${fieldId}-error`)) || document.getElementById(`${form.id}-error`);
    if (field) { field.setAttribute("aria-invalid", "true"); field.setAttribute("aria-describedby", `${fieldId}-error`); field.focus(); }
    if (slot) slot.textContent = err.message || "操作失败";
  }

  function clearErrors(scope) {
    scope.querySelectorAll(".error").forEach((e) => { e.textContent = ""; });
    scope.querySelectorAll("[aria-invalid]").forEach((e) => e.removeAttribute("aria-invalid"));
  }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
      else if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v === true ? "" : v);
    }
    for (const child of children.flat()) if (child !== null && child !== undefined) node.append(child);
    return node;
  }

  const yuan = (n) => (n === null || n === undefined ? "—" : Number(n).toFixed(2));
  // Dates as people in China write them, Beijing time: 2026年11月30日, 2026年11月30日 14:05.
  const day = (iso) => {
    if (!iso) return "";
    const [y, m, d] = Beijing.text(iso).slice(0, 10).split("-");
    return `${y}年${Number(m)}月${Number(d)}日`;
  };
  const when = (iso) => (iso ? `${day(iso)} ${Beijing.text(iso).slice(11, 16)}` : "");
  const RELATION = { spouse: "配偶", parent: "父母", child: "子女", sibling: "兄弟姐妹",
    grandparent: "祖父母/外祖父母", grandchild: "孙子女/外孙子女" };
  const KIND = { credit: "划入", settlement: "结算支付", reversal: "结算撤销退回", premium: "代缴居民医保费",
    premium_reversal: "代缴撤销退回", credit_reversal: "划入冲正" };

  function toast(text) {
    const t = document.getElementById("toast");
    t.textContent = text; clearTimeout(toast.timer); toast.timer = setTimeout(() => { t.textContent = ""; }, 4000);
  }

  // Busy buttons: a second click while the first request runs does nothing.
  async function busy(button, work) {
    if (button.disabled) return;
    button.disabled = true;
    try { return await work(); } finally { button.disabled = false; }
  }

  // A sign-in through the identity service comes back as /page#token=… (web/oidc.py): keep
  // the token for this tab and take it out of the address bar and the history at once.
  function takeFragmentToken() {
    const found = /^#token=([^&]+)$/.exec(location.hash);
    if (!found) return;
    sessionStorage.setItem(key, decodeURIComponent(found[1]));
    sessionStorage.removeItem(`${key}.who`);
    history.replaceState(null, "", location.pathname);
  }

  // leaving (退出): a page may first end what it began at the centre (the counter signs its
  // cashier out, 9002); leaving never waits on that failing, the token goes either way.
  async function signIn(start, beforeLeaving) {
    takeFragmentToken();
    const form = document.getElementById("token-form");
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const value = document.getElementById("token-input").value.trim();
      if (!value) { showError(form, { code: "EMPTY", message: "请输入访问令牌" }, { EMPTY: "token-input" }); return; }
      sessionStorage.setItem(key, value);
      try { await start(); } catch (err) { sessionStorage.removeItem(key); showError(form, err, { UNAUTHENTICATED: "token-input", TOKEN_EXPIRED: "token-input", FORBIDDEN: "token-input" }); }
    });
    if (document.body.dataset.demo === "true") await listDemo(start);
    document.getElementById("signout").addEventListener("click", (event) => busy(event.target, async () => {
      if (beforeLeaving) await beforeLeaving().catch(() => {});
      sessionStorage.removeItem(key); location.reload();
    }));
    if (token()) { try { await start(); } catch (err) { sessionStorage.removeItem(key); } }
  }

  async function listDemo(start) {
    const list = document.getElementById("demo-list");
    const response = await fetch("/web/demo/identities");
    if (!response.ok) return;
    const data = await response.json();
    for (const item of data[roleOf[page]]) {
      const label = item.psn_name ? `${item.psn_name}（${item.insutype === "310" ? "职工医保" : "居民医保"} · ${item.insuplc_admdvs}）`
        : item.fixmedins_name ? `${item.fixmedins_name}（${item.fixmedins_code}）` : `经办人员 ${item.clerk_id}（${item.admdvs}）`;
      list.append(el("li", {}, el("button", { type: "button", onclick: async () => {
        sessionStorage.setItem(key, item.token); sessionStorage.setItem(`${key}.who`, JSON.stringify(item)); await start();
      } }, label)));
    }
  }

  const who = () => JSON.parse(sessionStorage.getItem(`${key}.who`) || "null");
  function showApp() { document.getElementById("signin").hidden = true; document.getElementById("app").hidden = false; }

  return { api, gateway, download, showError, clearErrors, el, yuan, day, when, RELATION, KIND, toast, busy,
           signIn, who, showApp, ApiError };
})();
