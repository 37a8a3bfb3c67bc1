"""The report page: styles and script inline (the file must open with no network). Filled by html.py.

The summary rows arrive as one JSON blob and the table is drawn from it at once; each video's detail (frames,
questions) sits in its own JSON script element and is parsed and drawn only when its row is opened.
"""

STYLE = """
:root{--clamp-lines:3;--fg:#1d2330;--muted:#5d6575;--line:#d9dde5;--bad:#c0392b;--good:#2e8b57;--bar:#3b6fd8;--bg:#f6f7f9}
*{box-sizing:border-box}body{font:14px/1.4 system-ui,sans-serif;color:var(--fg);margin:0;padding:16px 24px;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:20px 0 8px}.meta,.hint,.note{color:var(--muted)}
.hists{display:flex;flex-wrap:wrap;gap:12px}.hist{margin:0;border:1px solid var(--line);border-radius:6px;padding:6px 8px;background:var(--bg)}
.hist h3{font-size:13px;margin:0 0 2px}.hist rect.bin{fill:var(--bar)}.hist text{font-size:10px;fill:var(--muted)}
table{border-collapse:collapse;width:100%}th,td{padding:4px 6px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
#videos th{cursor:pointer;user-select:none;background:var(--bg);position:sticky;top:0}
#videos th[aria-sort=ascending]::after{content:" \\25B2"}#videos th[aria-sort=descending]::after{content:" \\25BC"}
tr.video{cursor:pointer}tr.video:hover,tr.video.open{background:#eef3fd}
td.prompt{width:30em}.clamp{display:-webkit-box;-webkit-box-orient:vertical;min-width:16em;max-width:30em;
-webkit-line-clamp:var(--clamp-lines);line-clamp:var(--clamp-lines);overflow:hidden;overflow-wrap:anywhere}
td.name{min-width:7em;max-width:16em;overflow-wrap:anywhere}.video-detail h3.prompt{font-weight:500;overflow-wrap:anywhere}
td.score{font-variant-numeric:tabular-nums;background:linear-gradient(90deg,#cfe0ff calc(var(--v,0)*100%),transparent 0)}
td.failed{color:var(--bad)}tr.detail>td{background:var(--bg);padding:10px 14px}
.bars{display:grid;grid-template-columns:170px 260px 50px;gap:2px 8px;align-items:center;margin:6px 0}
.track{height:10px;background:#e3e6ec;border-radius:5px;overflow:hidden}.fill{height:100%;background:var(--bar)}
.bars .overall{font-weight:600}.strip{display:flex;gap:6px;overflow-x:auto;margin:8px 0}
.strip figure{margin:0;text-align:center}.strip img{display:block;border-radius:3px}.strip figcaption{font-size:11px;color:var(--muted)}
.strip figure.conditioning{padding-right:6px;border-right:2px solid var(--muted)}
table.questions{background:#fff;font-size:13px}table.questions td.lost{font-variant-numeric:tabular-nums}
table.questions td.lost.some{color:var(--bad)}table.questions td.num{font-variant-numeric:tabular-nums}.flag{color:var(--bad);font-size:12px}
"""

SCRIPT = r"""
(function () {
  "use strict";
  const DATA = JSON.parse(document.getElementById("report-data").textContent);
  const COLS = DATA.columns, ROWS = DATA.videos;
  const tbody = document.querySelector("#videos tbody");
  const rowOf = [], detailOf = {};
  const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls;
    if (text !== undefined) e.textContent = text; return e; };
  const fmt = v => (v === null || v === undefined) ? "\u2013" : v.toFixed(3);
  const value = (r, key) => (key in r.dimensions) ? r.dimensions[key] : r[key];
  const clock = t => { const m = Math.floor(t / 60), s = t - 60 * m; return m + ":" + (s < 10 ? "0" : "") + s.toFixed(2); };

  function buildRow(r) {
    const tr = el("tr", "video"); tr.dataset.i = r.i; tr.tabIndex = 0;
    for (const c of COLS) {
      const v = value(r, c.key);
      const text = c.kind === "score" ? fmt(v) : (v === null || v === undefined ? "" : String(v));
      // a prompt is clamped to a few lines (a block inside the cell: a cell itself cannot clamp); the whole
      // text stays in the cell for search and copy, on hover as its title, and in the row's detail
      const td = c.kind === "prompt" ? el("td", c.kind) : el("td", c.kind, text);
      if (c.kind === "prompt") { td.appendChild(el("div", "clamp", text)); td.title = text; }
      if (c.kind === "score" && v !== null && v !== undefined) td.style.setProperty("--v", v);
      if (c.key === "status" && r.error) td.className = "failed";
      tr.appendChild(td);
    }
    tr.addEventListener("click", () => toggle(r));
    tr.addEventListener("keydown", e => { if (e.key === "Enter" || e.key === " ") { e.preventDefault(); toggle(r); } });
    return tr;
  }

  function bar(label, v, cls) {
    const box = document.createDocumentFragment();
    box.appendChild(el("span", cls, label));
    const track = el("div", "track"), fill = el("div", "fill");
    fill.style.width = (v == null ? 0 : 100 * v) + "%"; track.appendChild(fill); box.appendChild(track);
    box.appendChild(el("span", cls, fmt(v)));
    return box;
  }

  function renderDetail(r, d) {
    const box = el("div", "video-detail");
    box.appendChild(el("h3", "prompt", r.prompt));
    box.appendChild(el("p", "note", d.video + (d.model ? "  \u00b7  " + d.model : "") + (d.mode ? " (" + d.mode + ")" : "")));
    for (const f of d.flags) box.appendChild(el("p", "flag", f));
    if (!r.error) {
      const bars = el("div", "bars");
      bars.appendChild(bar("overall", r.overall, "overall"));
      for (const c of COLS) if (c.dimension) bars.appendChild(bar(c.label, r.dimensions[c.key], ""));
      box.appendChild(bars);
    }
    if (d.image && d.image.note) box.appendChild(el("p", "note image-note", d.image.note));
    if (d.frames.length || (d.image && d.image.src)) {
      const strip = el("div", "strip");
      if (d.image && d.image.src) {  // image-to-video: the image the video was generated from, before its frames
        const fig = el("figure", "conditioning"), img = el("img");
        img.src = d.image.src; img.alt = "conditioning image " + d.image.path; img.title = "sha256 " + d.image.sha256;
        fig.appendChild(img); fig.appendChild(el("figcaption", "", "image")); strip.appendChild(fig);
      }
      for (const f of d.frames) {
        const fig = el("figure"), img = el("img");
        img.src = f.src; img.alt = "frame at " + clock(f.t); img.decoding = "async";
        fig.appendChild(img); fig.appendChild(el("figcaption", "", clock(f.t))); strip.appendChild(fig);
      }
      box.appendChild(strip);
    }
    if (!d.frames.length && d.note) box.appendChild(el("p", "note frames-note", d.note));
    if (d.questions.length) {
      const t = el("table", "questions"), head = el("tr");
      for (const h of ["lost", "dimension", "entity", "question", "good", "answer", "p_yes", "score", "reason"]) head.appendChild(el("th", "", h));
      t.appendChild(el("thead")).appendChild(head);
      const body = el("tbody");
      for (const q of d.questions) {
        const tr = el("tr");
        tr.appendChild(el("td", 1 - q.score >= 0.0005 ? "lost some" : "lost", (1 - q.score).toFixed(3)));
        for (const k of ["dimension", "entity", "question", "good_answer", "answer"]) tr.appendChild(el("td", "", q[k] || ""));
        tr.appendChild(el("td", "num", q.p_yes.toFixed(3)));
        tr.appendChild(el("td", "num", q.score.toFixed(3)));
        tr.appendChild(el("td", "reason", (q.reason || "") + (q.flags.length ? " [" + q.flags.join(", ") + "]" : "")));
        body.appendChild(tr);
      }
      t.appendChild(body); box.appendChild(t);
    }
    return box;
  }

  function toggle(r) {
    const tr = rowOf[r.i];
    if (detailOf[r.i]) { detailOf[r.i].remove(); delete detailOf[r.i]; tr.classList.remove("open"); return; }
    const source = document.getElementById("detail-" + r.i);
    if (!source) {  // still being parsed: the detail scripts come after this one
      document.addEventListener("DOMContentLoaded", () => toggle(r), { once: true }); return;
    }
    const dtr = el("tr", "detail"), td = el("td");
    td.colSpan = COLS.length; td.appendChild(renderDetail(r, JSON.parse(source.textContent)));
    dtr.appendChild(td); tr.after(dtr); detailOf[r.i] = dtr; tr.classList.add("open");
  }

  let sortKey = null, direction = 1;
  function sortBy(key) {
    direction = sortKey === key ? -direction : 1; sortKey = key;
    const missing = v => v === null || v === undefined || v === "";
    const order = ROWS.slice().sort((a, b) => {
      const x = value(a, key), y = value(b, key);
      if (missing(x) || missing(y)) return missing(x) - missing(y);  // rows without a value stay last
      return (typeof x === "number" ? x - y : String(x).localeCompare(String(y))) * direction;
    });
    const frag = document.createDocumentFragment();
    for (const r of order) { frag.appendChild(rowOf[r.i]); if (detailOf[r.i]) frag.appendChild(detailOf[r.i]); }
    tbody.appendChild(frag);
    for (const th of document.querySelectorAll("#videos th"))
      th.setAttribute("aria-sort", th.dataset.key === key ? (direction > 0 ? "ascending" : "descending") : "none");
  }

  for (const th of document.querySelectorAll("#videos th")) th.addEventListener("click", () => sortBy(th.dataset.key));
  const frag = document.createDocumentFragment();
  for (const r of ROWS) { rowOf[r.i] = buildRow(r); frag.appendChild(rowOf[r.i]); }
  tbody.appendChild(frag);
  performance.mark("summary-rendered");
  if (DATA.eager) document.addEventListener("DOMContentLoaded", () => { for (const r of ROWS) toggle(r); performance.mark("details-rendered"); });
})();
"""

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title><style>{style}</style></head>
<body>
<header><h1>{title}</h1><p class="meta">{meta}</p></header>
<section id="distributions"><h2>Score distributions</h2><div class="hists">{histograms}</div></section>
{reliability}<section id="summary"><h2>Videos</h2>
<p class="hint">Click a column header to sort; click a row to open its frames and its questions, worst first.</p>
<table id="videos"><thead><tr>{headers}</tr></thead><tbody></tbody></table></section>
<script type="application/json" id="report-data">{data}</script>
<script>{script}</script>
{details}
</body></html>
"""
