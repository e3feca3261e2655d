// The clerk's monthly report: bindings opened and ended, mutual-aid amounts by scene, the
// top institutions. Each bar carries its value; a panel with nothing in it says 无数据.
"use strict";
(() => {
  const { api, el, yuan } = G;
  const $ = (id) => document.getElementById(id);

  async function start() {
    const me = await api("GET", "/web/clerk");
    $("me-name").textContent = `${me.clerk_id}（${me.admdvs}）`;
    G.showApp();
    // The server's current Beijing month (beijing.js), not the device's.
    if (!$("report-month").value) $("report-month").value = Beijing.lastMonths(Beijing.now(), 1)[0];
    await show();
  }

  // Horizontal bars drawn with boxes, not a canvas: the values are text a screen reader and
  // a phone's narrow screen both handle; the chart's label says every bar.
  function bars(id, rows, unit) {
    const box = $(id);
    if (!rows.some(([, value]) => value > 0)) {
      box.replaceChildren(el("p", { class: "muted empty" }, "无数据"));
      box.setAttribute("aria-label", "无数据");
      return;
    }
    const max = Math.max(...rows.map(([, value]) => value));
    box.replaceChildren(...rows.map(([label, value, text]) => el("div", { class: "hbar" },
      el("span", { class: "hbar-label" }, label),
      el("span", { class: "hbar-track" }, el("span", { class: "hbar-fill", "data-share": String(Math.round((value / max) * 100)) })),
      el("span", { class: "hbar-value" }, text))));
    // Widths by a class per 5 %: the pages' Content-Security-Policy allows no inline style.
    box.querySelectorAll(".hbar-fill").forEach((fill) => fill.classList.add(`w${Math.round(Number(fill.dataset.share) / 5) * 5}`));
    box.setAttribute("aria-label", rows.map(([label, , text]) => `${label} ${text}${unit}`).join("，"));
  }

  async function show() {
    const month = $("report-month").value;
    const data = await api("GET", `/web/report?month=${encodeURIComponent(month)}`);
    $("report-title").textContent = `${data.region_name}（${data.region}）${Number(month.slice(0, 4))}年${Number(month.slice(5))}月`;
    const b = data.bindings;
    bars("bindings-chart", [["新建", b.opened, `${b.opened} 件`], ["解绑", b.unbound, `${b.unbound} 件`],
      ["参保变动终止", b.ended, `${b.ended} 件`]], "");
    bars("scenes-chart", data.scenes.map((s) => [s.item, s.amount, `${yuan(s.amount)} 元（${s.count} 次）`]), "");
    bars("top-chart", data.top_institutions.map((s) => [s.item, s.amount, `${yuan(s.amount)} 元（${s.count} 次）`]), "");
    $("report").hidden = false;
  }

  $("report-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    const form = event.target;
    G.clearErrors(form);
    if (!$("report-month").value) {
      G.showError(form, { code: "EMPTY", message: "请选择月份" }, { EMPTY: "report-month" });
      return;
    }
    await G.busy(form.querySelector("button[type=submit]"), async () => {
      try { await show(); } catch (err) { $("report").hidden = true; G.showError(form, err, { INVALID_INPUT: "report-month" }); }
    });
  });

  G.signIn(start);
})();
