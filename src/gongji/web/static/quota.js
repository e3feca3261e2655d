// 共济额度 in the personal portal: a helper sets or changes a relative's quota and sees what
// is left of it; a relative sees how much of each helper's quota remains; the account card
// says what the quotas reserve and what is free. Self-contained on purpose: it adds its own
// card to the 共济 panel and reads the REST API itself, so portal.js needs only the hook.
"use strict";
(() => {
  const { api, el, yuan } = G;
  const app = document.getElementById("app");
  const panel = document.querySelector('section[data-panel="bindings"]');
  if (!app || !panel) return;
  const CHANNEL = app.dataset.channel || undefined;
  const card = el("div", { class: "card", id: "quota-card" });
  panel.append(card);
  const summary = el("p", { class: "muted", id: "quota-summary" });
  const balanceCard = document.querySelector(".card.balance");
  if (balanceCard) balanceCard.append(summary);

  const AMOUNT = /^\d{1,8}(\.\d{1,2})?$/;  // yuan ≥ 0, at most two decimals, as the server parses
  const who = (b) => b.relation_to_you ? `${b.relation_to_you} ${b.counterpart_name}` : b.counterpart_name;
  const left = (b) => `剩余 ${yuan(b.quota_remaining)} 元（额度 ${yuan(b.quota)} 元）`;

  async function refresh() {
    let account, bindings;
    try {
      [account, bindings] = await Promise.all([api("GET", "/api/v1/account"), api("GET", "/api/v1/bindings")]);
    } catch (err) {
      card.replaceChildren(el("p", { class: "error", role: "alert" }, err.message));
      return;
    }
    summary.textContent = Number(account.quota_reserved) > 0
      ? `其中共济额度预留 ${yuan(account.quota_reserved)} 元，本人可用 ${yuan(account.available)} 元` : "";
    const mine = bindings.as_helper.filter((b) => b.status === "active");
    const theirs = bindings.as_beneficiary.filter((b) => b.status === "active" && b.quota !== null);
    const parts = [el("h3", {}, "共济额度")];
    if (mine.length) {
      parts.push(el("p", { class: "hint" }, "为亲属设置额度后，其结算和代缴最多使用剩余额度；额度内的钱为其预留，"
        + "您本人和未设额度的亲属都不能使用。额度用完时会发消息告诉您；解除共济关系即释放剩余额度。"));
      parts.push(el("ul", { class: "list" }, mine.map(helperItem)));
    }
    if (theirs.length) {
      parts.push(el("h4", {}, "亲属为我设置的额度"));
      parts.push(el("ul", { class: "list" }, theirs.map((b) => el("li", {}, who(b), el("div", { class: "muted" }, left(b))))));
    }
    if (!mine.length && !theirs.length) parts.push(el("p", { class: "muted" }, "暂无共济额度"));
    card.replaceChildren(...parts);
  }

  function helperItem(b) {
    const input = el("input", { type: "text", inputmode: "decimal", maxlength: "11", autocomplete: "off",
      "aria-label": `为${who(b)} 设置共济额度（元）`, value: b.quota === null ? "" : yuan(b.quota) });
    const error = el("p", { class: "error", role: "alert" });
    const button = el("button", { type: "submit" }, b.quota === null ? "设置额度" : "修改额度");
    const form = el("form", { class: "row", novalidate: true, onsubmit: async (event) => {
      event.preventDefault();
      error.textContent = "";
      const value = input.value.trim();
      if (!AMOUNT.test(value)) { error.textContent = "请输入不小于 0 的金额（元），最多两位小数"; input.focus(); return; }
      await G.busy(button, async () => {
        try {
          const answer = await api("PUT", `/api/v1/bindings/${b.binding_id}/quota`, { quota: value, channel: CHANNEL });
          G.toast(`已为${who(b)} 设置共济额度 ${yuan(answer.quota)} 元`);
          await refresh();
        } catch (err) { error.textContent = err.message; }
      });
    } }, input, button);
    return el("li", {}, who(b),
      el("div", { class: "muted" }, b.quota === null ? "未设额度：可使用您未被额度预留的余额" : left(b)), form, error);
  }

  // Refresh whenever the account or 共济 panel is opened, and once the app is shown.
  document.addEventListener("click", (event) => {
    const tab = event.target.closest && event.target.closest("[data-tab]");
    if (tab && ["account", "bindings"].includes(tab.dataset.tab)) setTimeout(refresh, 0);
  });
  new MutationObserver(() => { if (!app.hidden) refresh(); }).observe(app, { attributes: true, attributeFilter: ["hidden"] });
  if (!app.hidden) refresh();
})();
