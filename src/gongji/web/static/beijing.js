// Beijing time (Asia/Shanghai) for every date the pages show or group by, whatever zone the
// device is set to, and "now" by the server's clock, whatever the device's clock says: the
// server stamps every entry, so its month is the one the newest entries fall in.
"use strict";
const Beijing = (() => {
  const ZONE = "Asia/Shanghai";
  const format = new Intl.DateTimeFormat("en-US", { timeZone: ZONE, hourCycle: "h23",
    year: "numeric", month: "numeric", day: "numeric", hour: "numeric", minute: "numeric", second: "numeric" });
  const OFFSET = /(Z|[+-]\d\d:?\d\d)$/i;

  // {year, month (1–12), day, hour, minute, second} of an instant (ms since the epoch) in Beijing.
  function parts(ms) {
    const out = {};
    for (const p of format.formatToParts(new Date(ms))) if (p.type !== "literal") out[p.type] = Number(p.value);
    return out;
  }

  // The page carries the server's time when it was rendered (data-now); the device's clock
  // only measures the time since, so its zone and its date do not matter.
  const rendered = Date.parse(document.body.dataset.now || "");
  const skew = Number.isNaN(rendered) ? 0 : rendered - Date.now();
  const now = () => Date.now() + skew;

  const pad = (n, width = 2) => String(n).padStart(width, "0");
  const monthKey = (year, month) => `${pad(year, 4)}-${pad(month)}`;

  // The `count` calendar months up to the Beijing month of `ms`, oldest first, as "YYYY-MM".
  // Whole-month arithmetic (year * 12 + month): Date.setMonth would turn "31 March minus one
  // month" into 3 March and lose February.
  function lastMonths(ms, count) {
    const { year, month } = parts(ms);
    const last = year * 12 + month - 1;
    return Array.from({ length: count }, (_, i) => {
      const n = last - count + 1 + i;
      return monthKey(Math.floor(n / 12), (n % 12) + 1);
    });
  }

  // "YYYY-MM-DD HH:mm:ss" in Beijing time.
  function stamp(ms) {
    const p = parts(ms);
    return `${monthKey(p.year, p.month)}-${pad(p.day)} ${pad(p.hour)}:${pad(p.minute)}:${pad(p.second)}`;
  }

  // An API time as Beijing wall time: one with an offset is converted (the API sends +08:00,
  // but "Z" would be as right); one without is Beijing wall time already (gateway style).
  const text = (iso) => (OFFSET.test(iso) ? stamp(Date.parse(iso)) : iso.replace("T", " ").slice(0, 19));
  const monthOf = (iso) => text(iso).slice(0, 7);

  return { ZONE, parts, now, lastMonths, stamp, text, monthOf };
})();
