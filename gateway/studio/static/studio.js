// Slotwise Studio: progressive enhancement only; every page works without this script.
"use strict";
(function () {
  function debounce(fn, ms) {
    let t;
    return function () { clearTimeout(t); const a = arguments; t = setTimeout(() => fn.apply(null, a), ms); };
  }

  // Block type select: show the chosen type's fields, hide and disable the others.
  document.querySelectorAll("select.block-type").forEach((select) => {
    const form = select.closest("form");
    const sync = () => form.querySelectorAll(".block-fields").forEach((fs) => {
      const on = fs.dataset.type === select.value;
      fs.hidden = !on;
      fs.disabled = !on;
    });
    select.addEventListener("change", sync);
    sync();
  });

  // Live rule validation with the error column and the visitors matching now.
  document.querySelectorAll("input.rule").forEach((input) => {
    const status = input.closest("label").nextElementSibling;
    const check = debounce(async () => {
      if (!input.value.trim()) { status.textContent = ""; status.className = "rule-status"; return; }
      const q = new URLSearchParams({ rule: input.value, name: input.dataset.name || "" });
      const res = await fetch(input.dataset.check + "?" + q, { credentials: "same-origin" });
      if (!res.ok) { return; }
      const r = await res.json();
      if (r.ok) {
        status.className = "rule-status ok";
        const c = r.count;
        status.textContent = "✓ valid" + (c ? ` · matches ${c.matching} of ${c.of} visitors now` : "");
        input.setCustomValidity("");
      } else {
        status.className = "rule-status bad";
        status.textContent = `✗ ${r.error} at column ${r.column}: ` + input.value.slice(0, r.column - 1) + "⟨here⟩" + input.value.slice(r.column - 1);
        input.setCustomValidity(r.error);
      }
    }, 250);
    input.addEventListener("input", check);
  });

  // Live preview: re-render on every change of the context form.
  document.querySelectorAll("form.preview-form").forEach((form) => {
    const target = document.getElementById("preview");
    const refresh = debounce(async () => {
      const q = new URLSearchParams(new FormData(form));
      const res = await fetch(form.dataset.preview + "?" + q, { credentials: "same-origin" });
      if (res.ok) { target.innerHTML = await res.text(); }  // server-rendered, autoescaped fragment
      history.replaceState(null, "", form.action + "?" + q);
    }, 200);
    form.addEventListener("input", refresh);
    form.addEventListener("change", refresh);
    form.addEventListener("submit", (e) => { e.preventDefault(); refresh(); });
  });

  // Render-time plot (uPlot, vendored).
  const plot = document.getElementById("latency-plot");
  if (plot && window.uPlot) {
    const buckets = JSON.parse(plot.dataset.buckets || "[]").filter((b) => isFinite(b[0]));
    let prev = 0;
    const xs = [], ys = [];
    buckets.forEach((b, i) => { xs.push(i); ys.push(b[1] - prev); prev = b[1]; });
    const labels = buckets.map((b) => `≤${b[0] * 1000}`);
    new window.uPlot({
      width: Math.min(plot.clientWidth || 600, 900), height: 220,
      scales: { x: { time: false } },
      axes: [{ values: (u, vals) => vals.map((v) => labels[v] || "") }, {}],
      series: [{}, { label: "renders", stroke: "#3b5bdb", fill: "rgba(59,91,219,.15)", paths: window.uPlot.paths.bars({ size: [0.8] }) }],
    }, [xs, ys], plot);
  }

  // Daily series (KPIs, cumulative lift, bandits): {x: [day], series: [{label, values}], unit}.
  const COLORS = ["#3b5bdb", "#e8590c", "#2b8a3e", "#ae3ec9", "#c92a2a", "#1098ad", "#f08c00", "#495057"];
  document.querySelectorAll(".series-plot").forEach((el) => {
    if (!window.uPlot) { return; }
    const data = JSON.parse(el.dataset.plot || "{}");
    if (!data.x || !data.series || !data.series.length) { el.textContent = "No data yet."; return; }
    const xs = data.x.map((_, i) => i);
    const unit = data.unit || "";
    const fmt = (u, v) => (v == null ? "–" : (Math.round(v * 1000) / 1000) + unit);
    new window.uPlot({
      width: Math.min(el.clientWidth || 600, 1100), height: 240,
      scales: { x: { time: false } },
      axes: [
        { values: (u, vals) => vals.map((v) => (data.x[v] || "").slice(5)) },
        { values: (u, vals) => vals.map((v) => v + unit), size: 60 },
      ],
      series: [
        { label: "day", value: (u, v) => data.x[v] || "" },
        ...data.series.map((s, i) => ({ label: s.label, stroke: COLORS[i % COLORS.length], width: 2, value: fmt, spanGaps: false, points: { show: true, size: 4 } })),
      ],
    }, [xs, ...data.series.map((s) => s.values)], el);
  });
})();
