// The router dashboard: one GET of dashboard/data, drawn with uPlot (vendored). No prompt text is shown
// (the ledger has none). window.lrpDashboard holds the data and the charts, for tests and the curious.
(() => {
  "use strict";
  const KEY = "lrp-dashboard-key";
  const COLORS = ["#3b7dd8", "#e67e22", "#27ae60", "#8e44ad", "#c0392b", "#16a085", "#7f8c8d", "#d4ac0d"];
  const $ = (sel) => document.querySelector(sel);
  const usd = (v) => (v === null || v === undefined ? "–" : "$" + Number(v).toFixed(6));
  const cell = (text, cls) => {
    const td = document.createElement("td");
    td.textContent = text === null || text === undefined ? "–" : String(text);
    if (cls) td.className = cls;
    return td;
  };
  const fill = (table, rows) => {
    const body = $(table + " tbody");
    body.replaceChildren(...rows.map((cells) => {
      const tr = document.createElement("tr");
      tr.append(...cells);
      return tr;
    }));
  };
  const dayStamp = (day) => Date.parse(day + "T00:00:00Z") / 1000;
  // Every day of the range (empty days are zeros), so one busy day is a point on a line, not the axis.
  const dayRange = (stats) => {
    const known = Object.keys(stats.savings_by_day).sort();
    const today = new Date().toISOString().slice(0, 10);
    const first = stats.since || known[0] || today;
    const last = stats.until || (known.length && known[known.length - 1] > today ? known[known.length - 1] : today);
    const days = [];
    for (let t = dayStamp(first); t <= dayStamp(last) && days.length < 3660; t += 86400) {
      days.push(new Date(t * 1000).toISOString().slice(0, 10));
    }
    return days;
  };

  function seriesChart(target, title, days, perDay, extra) {
    const names = [...new Set(days.flatMap((d) => Object.keys(perDay[d] || {})))].sort();
    const data = [days.map(dayStamp), ...names.map((n) => days.map((d) => (perDay[d] || {})[n] || 0))];
    const series = [{}, ...names.map((n, i) => ({ label: n, stroke: COLORS[i % COLORS.length], width: 2 }))];
    for (const [label, values, stroke] of extra) {
      data.push(values);
      series.push({ label, stroke, width: 2, dash: [6, 4] });
    }
    const el = $(target);
    el.replaceChildren();
    const opts = {
      title, width: Math.max(320, el.clientWidth || 900), height: 240, series,
      scales: { x: { time: true } },
      axes: [{}, { size: 80, values: (u, ticks) => ticks.map((t) => "$" + t.toPrecision(3)) }],
      points: { show: true },
    };
    return new uPlot(opts, data, el);
  }

  function draw(data) {
    const s = data.stats;
    $("#spent").textContent = usd(s.total_usd);
    $("#strongest").textContent = usd(s.strongest_usd);
    $("#saved").textContent = usd(s.savings_usd);
    $("#ratio").textContent = (100 * s.savings_ratio).toFixed(1) + "%";
    $("#calls").textContent = `${s.calls} (${s.failed})`;
    const days = dayRange(s);
    const daily = (field) => days.map((d) => (s.savings_by_day[d] || {})[field] || 0);
    const charts = {
      tier: seriesChart("#chart-tier", "USD per day", days, s.by_day_tier, [
        ["all tiers", daily("spent_usd"), "#1d2330"],
        ["all-strongest", daily("strongest_usd"), "#95a5a6"],
      ]),
      model: seriesChart("#chart-model", "USD per day", days, s.by_day_model, []),
    };
    const tiers = s.groups.tier;
    const calls = Object.values(tiers).reduce((a, t) => a + t.calls, 0) || 1;
    fill("#mix", Object.entries(tiers).map(([name, t]) => {
      const share = cell((100 * t.calls / calls).toFixed(1) + "%");
      const bar = document.createElement("span");
      bar.className = "bar";
      bar.style.width = (120 * t.calls / calls).toFixed(0) + "px";
      share.prepend(bar);
      const tr = [cell(name), cell(t.calls, "num"), share, cell(usd(t.spent_usd), "num"),
        cell(usd(t.strongest_usd), "num"), cell(usd(t.savings_usd), "num")];
      return tr;
    }));
    fill("#budgets", data.budgets.map((b) => [
      cell(b.scope), cell(usd(b.limit_usd), "num"), cell(usd(b.spent_usd), "num"), cell(usd(b.held_usd), "num"),
      cell(usd(b.remaining_usd), "num"), cell(b.resets_at),
    ]));
    fill("#breakers", data.breakers.map((b) => [cell(b.deployment), cell(b.tier), cell(b.state, "state-" + b.state)]));
    fill("#decisions", data.decisions.map((d) => [
      cell(d.ts ? new Date(d.ts * 1000).toISOString().replace("T", " ").slice(0, 19) : null), cell(d.tier),
      cell(d.model), cell(d.reason), cell(d.status), cell(usd(d.cost_usd), "num"),
    ]));
    const learning = $("#learning");
    if (data.learning) {
      const pre = document.createElement("pre");
      pre.textContent = JSON.stringify(data.learning, null, 2);
      learning.replaceChildren(pre);
    } else {
      learning.textContent = "No learning status: the learning loop is not configured on this server.";
    }
    window.lrpDashboard = { data, charts };
    document.body.dataset.ready = "true";
  }

  async function load() {
    const params = new URLSearchParams();
    for (const name of ["since", "until"]) if ($("#" + name).value) params.set(name, $("#" + name).value);
    const key = sessionStorage.getItem(KEY);
    const headers = key ? { Authorization: "Bearer " + key } : {};
    const res = await fetch("dashboard/data?" + params, { headers });
    if (res.status === 401 || res.status === 403) {
      $("#main").hidden = true;
      $("#login").hidden = false;
      $("#login-error").textContent = key ? "That key was refused (" + res.status + ")." : "";
      return;
    }
    const body = await res.json();
    if (!res.ok) {
      $("#error").hidden = false;
      $("#error").textContent = (body.error && body.error.message) || "HTTP " + res.status;
      return;
    }
    $("#error").hidden = true;
    $("#login").hidden = true;
    $("#main").hidden = false;
    if (!$("#since").value && body.stats.since) $("#since").value = body.stats.since;
    draw(body);
  }

  $("#range").addEventListener("submit", (e) => { e.preventDefault(); load(); });
  $("#login").addEventListener("submit", (e) => {
    e.preventDefault();
    sessionStorage.setItem(KEY, $("#key").value);
    load();
  });
  load();
})();
