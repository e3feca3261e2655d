// The insured person's portal: account, details, invitations, helpers' order, settlements,
// notices and the e-voucher.
"use strict";
(() => {
  const { api, el, yuan, when, KIND } = G;
  const $ = (id) => document.getElementById(id);
  let entriesCursor = null;

  const FIELD = { INVALID_CERTNO: "invite-certno", PERSON_NOT_FOUND: "invite-certno",
    NAME_MISMATCH: "invite-name", KINSHIP_NOT_VERIFIED: "invite-certno", INVALID_INPUT: null };

  // The channel is the app's own (a server setting), not the person's to pick.
  const CHANNEL = $("app").dataset.channel;
  // A relative as the reader says it: "您的母亲 卓*".
  const yours = (word, name) => `您的${word || "亲属"} ${name}`;

  async function start() {
    const [account, me] = await Promise.all([api("GET", "/api/v1/account"), api("GET", "/web/person")]);
    $("me-name").textContent = me.psn_name;
    $("me-psn").textContent = `人员编号 ${account.psn_no}`;
    // Helper features only for people who can be helpers (a 390 member cannot invite).
    document.querySelectorAll("[data-helper-only]").forEach((node) => { node.hidden = !account.can_help; });
    G.showApp();
    showAccount(account);
    await Promise.all([account.can_help ? Promise.all([loadEntries(true), loadChart()]) : loadEntries(true),
      loadNoticesCount(), loadPendingCount()]);
  }

  // Navigation: a bottom tab bar of four panels and "更多", a sheet with the rest ---------------
  const sheet = $("more-sheet");
  $("more-open").addEventListener("click", () => sheet.showModal());
  document.querySelectorAll("[data-tab]").forEach((button) => button.addEventListener("click", () => {
    if (sheet.open) sheet.close();
    openTab(button.dataset.tab);
  }));
  const loaders = { account: refreshAccount, invitations: loadInvitations, bindings: loadBindings,
    settlements: loadSettlements, notices: loadNotices };
  async function openTab(name) {
    const inBar = document.querySelector(`.tabbar [data-tab="${name}"]`);
    document.querySelectorAll(".tabbar button").forEach((b) => {
      if (b === inBar || (!inBar && b.id === "more-open")) b.setAttribute("aria-current", "page");
      else b.removeAttribute("aria-current");
    });
    document.querySelectorAll("[data-panel]").forEach((p) => { p.hidden = p.dataset.panel !== name; });
    window.scrollTo(0, 0);
    if (loaders[name]) await loaders[name]();
  }

  // Account, details, chart ----------------------------------------------------------------
  function showAccount(account) {
    $("balance").textContent = yuan(account.balance);
    $("account-status").textContent = { normal: "账户正常", frozen: "账户已冻结", none: "无职工医保个人账户" }[account.status];
  }
  async function refreshAccount() {
    const account = await api("GET", "/api/v1/account");
    showAccount(account);
    await (account.can_help ? Promise.all([loadEntries(true), loadChart()]) : loadEntries(true));
  }

  function period() {
    const params = new URLSearchParams();
    if ($("entries-from").value) params.set("from", $("entries-from").value);
    if ($("entries-to").value) params.set("to", $("entries-to").value);
    return params;
  }

  async function loadEntries(reset) {
    const params = period();
    if (!reset && entriesCursor) params.set("cursor", entriesCursor);
    const data = await api("GET", `/api/v1/account/entries?${params}`);
    const body = $("entries").tBodies[0];
    if (reset) body.replaceChildren();
    for (const e of data.entries) {
      body.append(el("tr", {},
        el("td", {}, when(e.time)), el("td", {}, KIND[e.kind] || e.kind),
        el("td", { class: `num ${e.amount < 0 ? "neg" : "pos"}` }, yuan(e.amount)),
        el("td", {}, e.beneficiary_certno ? yours(e.relation_to_you, e.beneficiary_name || e.beneficiary_certno) : "本人"),
        el("td", {}, e.fixmedins_name || e.fixmedins_code || "")));
    }
    if (!body.children.length) body.append(el("tr", {}, el("td", { colspan: 5, class: "muted" }, "暂无使用明细")));
    entriesCursor = data.next_cursor;
    $("entries-more").hidden = !entriesCursor;
  }
  $("entries-more").addEventListener("click", () => loadEntries(false));
  $("entries-filter").addEventListener("submit", async (event) => {
    event.preventDefault();
    G.clearErrors($("entries-filter"));
    try { await loadEntries(true); } catch (err) { G.showError($("entries-filter"), err, { INVALID_INPUT: "entries-from" }); }
  });
  for (const [button, ext] of [["export-csv", "csv"], ["export-xlsx", "xlsx"]]) {
    $(button).addEventListener("click", async () => {
      try { await G.download(`/api/v1/account/entries.${ext}?${period()}`, `使用明细.${ext}`); }
      catch (err) { G.showError($("entries-filter"), err); }
    });
  }

  // What relatives used each month, for the last 12 Beijing calendar months (the server's
  // clock decides which month is the current one), from the details.
  const USED = ["settlement", "reversal", "premium", "premium_reversal"];
  async function loadChart() {
    const used = new Map(Beijing.lastMonths(Beijing.now(), 12).map((month) => [month, 0]));
    const params = new URLSearchParams({ from: `${[...used.keys()][0]}-01`, limit: "500" });
    for (let pages = 0; pages < 20; pages += 1) {
      const data = await api("GET", `/api/v1/account/entries?${params}`);
      for (const e of data.entries) {
        if (!e.binding_id || !USED.includes(e.kind)) continue;
        const month = Beijing.monthOf(e.time);  // the entry's Beijing month, not the device's
        const fen = Math.round(Number(e.amount) * 100);  // whole fen: no 0.1 + 0.2 drift
        if (used.has(month)) used.set(month, used.get(month) - fen);
      }
      if (!data.next_cursor) break;
      params.set("cursor", data.next_cursor);
    }
    drawChart([...used.entries()].map(([month, fen]) => [month, fen / 100]));
  }

  const monthName = (key) => `${Number(key.slice(5))}月`;
  const longName = (key) => `${key.slice(0, 4)}年${monthName(key)}`;

  function svgNode(tag, attrs, text) {
    const node = document.createElementNS("http://www.w3.org/2000/svg", tag);
    Object.entries(attrs).forEach(([k, v]) => node.setAttribute(k, v));
    if (text !== undefined) node.textContent = text;
    return node;
  }

  // One bar per month, labelled 1月…12月; January also names its year, and the line under
  // the chart names the whole range.
  function drawChart(points) {
    const empty = points.every(([, v]) => v === 0);
    $("chart-empty").hidden = !empty;
    $("chart").hidden = empty;
    const svg = svgNode("svg", { viewBox: "0 0 360 184" });
    const max = Math.max(1, ...points.map(([, v]) => v));
    points.forEach(([month, value], i) => {
      const h = Math.round((Math.max(0, value) / max) * 130), x = 8 + i * 29, middle = x + 10;
      const rect = svgNode("rect", { x, y: 150 - h, width: 20, height: h, class: "bar-rect" });
      rect.append(svgNode("title", {}, `${longName(month)}：${yuan(value)} 元`));
      svg.append(rect, svgNode("text", { x: middle, y: 166, class: "month" }, monthName(month)));
      if (month.endsWith("-01")) svg.append(svgNode("text", { x: middle, y: 180, class: "year" }, `${month.slice(0, 4)}年`));
      if (value > 0) svg.append(svgNode("text", { x: middle, y: 146 - h, class: "amount" }, value >= 100 ? Math.round(value) : yuan(value)));
    });
    $("chart").replaceChildren(svg);
    $("chart").setAttribute("aria-label", "亲属每月使用共济资金：" + points.map(([m, v]) => `${longName(m)} ${yuan(v)}元`).join("，"));
    $("chart-range").textContent = `${longName(points[0][0])}—${longName(points[points.length - 1][0])}`;
  }

  // Invitations ------------------------------------------------------------------------------
  $("invite-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    G.clearErrors(form);
    const body = Object.fromEntries(new FormData(form));
    body.channel = CHANNEL;
    body.beneficiary_certno = body.beneficiary_certno.trim().toUpperCase();
    await G.busy(form.querySelector("button[type=submit]"), async () => {
      try {
        const answer = await api("POST", "/api/v1/invitations", body);
        form.reset();
        G.toast(answer.status === "active" ? "已为未成年子女直接开通共济" : "邀请已发送，等待对方确认");
      } catch (err) { G.showError(form, err, FIELD); }
    });
  });

  async function loadInvitations() {
    const data = await api("GET", "/api/v1/invitations");
    const status = { pending: "待确认", active: "已生效", declined: "已拒绝", withdrawn: "已撤回", expired: "已过期" };
    const item = (inv, title, actions) => el("li", {},
      el("strong", {}, title), ` · ${status[inv.status]}`,
      el("div", { class: "muted" }, inv.counterpart_certno),
      inv.status === "pending" ? el("div", { class: "muted" }, `有效期至 ${when(inv.expires_at)}`) : null,
      inv.status === "pending" ? el("div", {}, actions) : null);
    const receivedTitle = (inv) => (inv.for_minor
      ? `${inv.counterpart_name}（${yours(inv.for_minor.relation_to_you, inv.for_minor.name)} 的${inv.relation_to_you}）邀请为其付费`
      : `${yours(inv.relation_to_you, inv.counterpart_name)} 邀请为您付费`);
    $("received").replaceChildren(...data.received.map((inv) => item(inv, receivedTitle(inv), [
      el("button", { type: "button", class: "primary", onclick: (e) => answer(e.target, inv, "accept") }, "接受"),
      el("button", { type: "button", onclick: (e) => answer(e.target, inv, "decline") }, "拒绝")])));
    $("sent").replaceChildren(...data.sent.map((inv) => item(inv, `邀请${yours(inv.relation_to_you, inv.counterpart_name)}`, [
      el("button", { type: "button", onclick: (e) => answer(e.target, inv, "withdraw") }, "撤回")])));
    if (!data.received.length) $("received").append(el("li", { class: "muted" }, "暂无收到的邀请"));
    if (!data.sent.length) $("sent").append(el("li", { class: "muted" }, "暂无发出的邀请"));
    showPending(data.received.filter((inv) => inv.status === "pending").length);
  }

  // Invitations waiting for an answer are counted on "更多", where they are listed.
  function showPending(count) {
    $("pending").textContent = count ? String(count) : "";
    $("pending-more").textContent = count ? String(count) : "";
    $("more-open").setAttribute("aria-label", count ? `更多（${count} 个邀请待确认）` : "更多");
  }
  async function loadPendingCount() {
    const data = await api("GET", "/api/v1/invitations");
    showPending(data.received.filter((inv) => inv.status === "pending").length);
  }

  async function answer(button, inv, action) {
    await G.busy(button, async () => {
      try {
        await api("POST", `/api/v1/invitations/${inv.invitation_id}/${action}`);
        G.toast({ accept: "已接受，共济关系已生效", decline: "已拒绝邀请", withdraw: "已撤回邀请" }[action]);
        await loadInvitations();
      } catch (err) { $("invitations-error").textContent = err.message; }
      if (action === "accept") await loadBindings();
    });
  }

  // Bindings and deduction order -----------------------------------------------------------------
  // Two loads can be in flight (accepting an invitation reloads, and so does opening the tab):
  // only the newest one renders, and none undoes a move the person made while it was on the way.
  let helperOrder = [], bindingLoads = 0, orderMoves = 0;
  async function loadBindings() {
    const load = ++bindingLoads, moves = orderMoves;
    const data = await api("GET", "/api/v1/bindings");
    if (load !== bindingLoads) return;
    if (moves === orderMoves) {
      helperOrder = data.as_beneficiary.filter((b) => b.status === "active").sort((a, b) => a.order - b.order);
      renderHelpers();
    }
    const mine = data.as_helper.filter((b) => b.status === "active");
    $("beneficiaries").replaceChildren(...mine.map((b) => el("li", {},
      `为${yours(b.relation_to_you, b.counterpart_name)} 付费`, el("div", { class: "muted" }, `${b.counterpart_certno} · ${G.day(b.activated_at)}起`),
      el("button", { type: "button", onclick: () => unbind(b) }, "解绑"))));
    if (!mine.length) $("beneficiaries").append(el("li", { class: "muted" }, "暂无为亲属付费的共济关系"));
  }

  function renderHelpers() {
    $("helpers").replaceChildren(...helperOrder.map((b, i) => el("li", { "data-binding": b.binding_id },
      yours(b.relation_to_you, b.counterpart_name), el("div", { class: "muted" }, b.counterpart_certno),
      el("button", { type: "button", disabled: i === 0, "aria-label": `上移 ${b.counterpart_name}`, onclick: () => move(i, -1) }, "上移"),
      el("button", { type: "button", disabled: i === helperOrder.length - 1, "aria-label": `下移 ${b.counterpart_name}`, onclick: () => move(i, 1) }, "下移"),
      el("button", { type: "button", onclick: () => unbind(b) }, "解绑"))));
    if (!helperOrder.length) $("helpers").append(el("li", { class: "muted" }, "暂无亲属为您付费"));
    $("save-order").hidden = helperOrder.length < 2;
  }

  function move(i, step) {
    const j = i + step;
    orderMoves += 1;
    [helperOrder[i], helperOrder[j]] = [helperOrder[j], helperOrder[i]];
    renderHelpers();
    const buttons = $("helpers").children[j].querySelectorAll("button");
    (buttons[step < 0 ? 0 : 1].disabled ? buttons[step < 0 ? 1 : 0] : buttons[step < 0 ? 0 : 1]).focus();
  }

  $("save-order").addEventListener("click", (event) => G.busy(event.target, async () => {
    $("order-error").textContent = "";
    try {
      await api("PUT", "/api/v1/deduction-order", { binding_ids: helperOrder.map((b) => b.binding_id) });
      G.toast("扣款顺序已保存，下次结算起生效");
      await loadBindings();
    } catch (err) { $("order-error").textContent = err.message; }
  }));

  function unbind(binding) {
    const dialog = $("unbind-dialog");
    $("unbind-text").textContent = `解除与${yours(binding.relation_to_you, binding.counterpart_name)} 的共济关系后，之后的结算不再使用该账户；已发生的结算撤销时仍退回原账户。`;
    dialog.returnValue = "";
    dialog.showModal();
    dialog.addEventListener("close", async () => {
      if (dialog.returnValue !== "ok") return;
      try {
        await api("DELETE", `/api/v1/bindings/${binding.binding_id}`);
        G.toast("已解除共济关系");
        await loadBindings();
      } catch (err) { $("bindings-error").textContent = err.message; }
    }, { once: true });
  }

  // Settlements, notices, e-voucher -----------------------------------------------------------------
  async function loadSettlements() {
    const data = await api("GET", "/api/v1/settlements");
    $("settlements").replaceChildren(...data.settlements.map((s) => el("li", {},
      el("strong", {}, `${when(s.setl_time)} · ${s.fixmedins_name || s.fixmedins_code}${s.reversed ? "（已撤销）" : ""}`),
      el("dl", { class: "facts" },
        el("dt", {}, "医疗费总额"), el("dd", {}, yuan(s.medfee_sumamt)),
        el("dt", {}, "统筹基金"), el("dd", {}, yuan(s.fund_pay_sumamt)),
        el("dt", {}, "本人账户"), el("dd", {}, yuan(s.acct_pay)),
        ...s.mulaid_detail.flatMap((d) => [el("dt", {}, `共济：${yours(d.relation_to_you, d.helper_name || d.helper_certno)}`), el("dd", {}, yuan(d.amount))]),
        el("dt", {}, "现金"), el("dd", {}, yuan(s.psn_cash_pay))))));
    if (!data.settlements.length) $("settlements").append(el("li", { class: "muted" }, "暂无结算记录"));
  }

  async function loadNoticesCount() {
    const data = await api("GET", "/api/v1/notices");
    $("unread").textContent = data.unread ? String(data.unread) : "";
  }
  async function loadNotices() {
    const data = await api("GET", "/api/v1/notices");
    $("unread").textContent = data.unread ? String(data.unread) : "";
    $("notices").replaceChildren(...data.notices.map((n) => el("li", { class: n.read_at ? "" : "unread" },
      el("div", {}, n.text), el("div", { class: "muted" }, when(n.time || n.at)),
      n.read_at ? null : el("button", { type: "button", onclick: async () => { await api("POST", `/api/v1/notices/${n.notice_id || n.id}/read`); await loadNotices(); } }, "标为已读"))));
    if (!data.notices.length) $("notices").append(el("li", { class: "muted" }, "暂无消息"));
  }

  $("evoucher-new").addEventListener("click", (event) => G.busy(event.target, async () => {
    $("evoucher-error").textContent = "";
    try {
      const voucher = await api("POST", "/api/v1/evoucher");
      $("evoucher-qr").src = `/web/qr.svg?data=${encodeURIComponent(voucher.token)}`;
      $("evoucher-token").textContent = voucher.token;
      $("evoucher-expires").textContent = when(voucher.expires_at);
      $("evoucher").hidden = false;
    } catch (err) { $("evoucher-error").textContent = err.message; }
  }));

  G.signIn(start);
})();
