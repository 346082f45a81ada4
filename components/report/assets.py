"""The report's inline style sheet and scripts (no external resource is ever fetched).

`ERROR_SCRIPT` runs first (in `<head>`): it counts uncaught errors and `console.error` calls.
`PAGE_SCRIPT` runs at the end of `<body>`: it renders every per-class table (sortable by
clicking a header or initially from a `#sort=COLUMN:asc|desc` fragment, filterable, paginated
so 1,000 classes stay usable), then, once the page is rendered and whenever its size changes,
checks that every `[data-plot]` element drew something and writes the result on `<body>`:
`data-plots-total`, `data-plots-drawn`, `data-errors` and `data-ready="1"`, and fires a
`report-checked` event on `window`.
"""

STYLE = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 0 auto; max-width: 1320px; padding: 16px;
  color: #222; }
h1 { font-size: 22px; } h2 { font-size: 18px; border-bottom: 1px solid #ccc; margin-top: 32px; }
h3 { font-size: 15px; margin-bottom: 4px; }
table { border-collapse: collapse; margin: 6px 0 12px; }
th, td { border: 1px solid #ddd; padding: 3px 8px; text-align: right; }
th { background: #f3f3f3; } td.name, th.name { text-align: left; }
.note { color: #666; font-style: italic; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 10px; color: #fff;
  font-weight: bold; }
.blessed { background: #2a7f2a; } .not-blessed { background: #b22222; }
.unknown { background: #888; }
tr.small td { background: #fff4e0; } .flag { color: #b35900; font-weight: bold; }
.up { color: #2a7f2a; } .down { color: #b22222; }
.charts { display: flex; flex-wrap: wrap; gap: 8px; }
svg.chart { width: 360px; height: 300px; background: #fff; border: 1px solid #eee; }
svg .grid { stroke: #eee; } svg .axes { fill: none; stroke: #999; }
svg .chance { stroke: #bbb; stroke-dasharray: 4,4; }
svg .series { fill: none; stroke-width: 2; }
svg circle.series { fill: #1f77b4; fill-opacity: 0.6; stroke: #1f77b4; stroke-width: 1; }
svg text { font-size: 11px; }
svg .title { font-size: 13px; font-weight: bold; text-anchor: middle; }
svg .tick { text-anchor: middle; fill: #555; } svg .label { text-anchor: middle; fill: #333; }
.confusion td, .confusion th { min-width: 70px; }
th.sortable { cursor: pointer; user-select: none; } th.sortable:hover { background: #e4e4e4; }
th[data-order="asc"]::after { content: " \\25B2"; }
th[data-order="desc"]::after { content: " \\25BC"; }
.pager button { margin: 0 4px; }
"""

ERROR_SCRIPT = """
window.__reportErrors = 0;
window.addEventListener('error', function () { window.__reportErrors += 1; });
(function () {
  var original = console.error;
  console.error = function () { window.__reportErrors += 1; original.apply(console, arguments); };
})();
"""

PAGE_SCRIPT = """
(function () {
  'use strict';
  var PAGE_SIZE = 25;
  function fmt(v) {
    if (v === null || v === undefined) return '';
    if (typeof v !== 'number') return String(v);
    if (!isFinite(v)) return 'NaN';
    var a = Math.abs(v);
    if (a !== 0 && (a < 1e-4 || a >= 1e6)) return v.toExponential(3);
    return String(Number(v.toPrecision(4)));
  }
  function classTable(holder) {
    var spec = JSON.parse(document.getElementById(holder.dataset.source).textContent);
    var rows = spec.rows, columns = spec.columns, state = {key: null, asc: true, page: 0, q: ''};
    var filter = document.createElement('input');
    filter.placeholder = 'filter classes'; filter.className = 'filter';
    var table = document.createElement('table'); table.className = 'classes';
    var head = table.createTHead().insertRow(), body = table.createTBody();
    var pager = document.createElement('div'); pager.className = 'pager';
    columns.forEach(function (column) {
      var th = document.createElement('th');
      th.textContent = column.label;
      th.className = 'sortable' + (column.key === 'class' ? ' name' : '');
      th.dataset.key = column.key;
      th.addEventListener('click', function () {
        state.asc = state.key === column.key ? !state.asc : column.key === 'class';
        state.key = column.key; state.page = 0; draw();
      });
      head.appendChild(th);
    });
    filter.addEventListener('input', function () {
      state.q = filter.value.toLowerCase(); state.page = 0; draw();
    });
    function value(row, key) {
      var v = row[key]; return (typeof v === 'number' && isFinite(v)) ? v : null;
    }
    function draw() {
      var shown = rows.filter(function (r) {
        return String(r['class']).toLowerCase().indexOf(state.q) >= 0;
      });
      if (state.key) {
        var k = state.key, sign = state.asc ? 1 : -1;
        shown = shown.slice().sort(function (a, b) {
          if (k === 'class') {
            return sign * String(a[k]).localeCompare(String(b[k]), undefined, {numeric: true});
          }
          var x = value(a, k), y = value(b, k);
          if (x === null) return y === null ? 0 : 1; if (y === null) return -1;
          return sign * (x - y);
        });
      }
      head.querySelectorAll('th').forEach(function (th) {
        if (th.dataset.key === state.key) th.dataset.order = state.asc ? 'asc' : 'desc';
        else delete th.dataset.order;
      });
      var pages = Math.max(1, Math.ceil(shown.length / PAGE_SIZE));
      state.page = Math.min(state.page, pages - 1);
      body.textContent = '';
      shown.slice(state.page * PAGE_SIZE, (state.page + 1) * PAGE_SIZE).forEach(function (r) {
        var tr = body.insertRow();
        columns.forEach(function (column) {
          var td = tr.insertCell(); var v = r[column.key];
          td.textContent = column.key === 'class' ? v : fmt(v);
          if (column.key === 'class') td.className = 'name';
          if (column.metric && typeof v === 'number') {
            td.dataset.key = column.metric.replace('{class}', r['class']);
          }
        });
      });
      pager.textContent = '';
      var prev = document.createElement('button'), next = document.createElement('button');
      prev.textContent = '\\u2039 prev'; next.textContent = 'next \\u203A';
      prev.disabled = state.page === 0; next.disabled = state.page >= pages - 1;
      prev.onclick = function () { state.page -= 1; draw(); };
      next.onclick = function () { state.page += 1; draw(); };
      var info = document.createElement('span');
      info.textContent =
        'page ' + (state.page + 1) + ' of ' + pages + ' (' + shown.length + ' classes)';
      pager.appendChild(prev); pager.appendChild(info); pager.appendChild(next);
    }
    holder.appendChild(filter); holder.appendChild(table); holder.appendChild(pager);
    var linked = /sort=([^:&]+):(asc|desc)/.exec(decodeURIComponent(location.hash));
    if (linked && columns.some(function (c) { return c.key === linked[1]; })) {
      state.key = linked[1]; state.asc = linked[2] === 'asc';
    }
    draw();
  }
  function drawn(plot) {
    var marks = plot.querySelectorAll('.series'), i;
    for (i = 0; i < marks.length; i += 1) {
      var box = marks[i].getBBox();
      if (box.width > 0 || box.height > 0) return true;
    }
    return false;
  }
  document.querySelectorAll('[data-class-table]').forEach(function (holder) {
    try { classTable(holder); } catch (e) { window.__reportErrors += 1; console.log(e); }
  });
  function checkPlots() {
    if (document.body.getClientRects().length === 0) return;  // not laid out: not shown
    var plots = document.querySelectorAll('[data-plot]'), count = 0;
    plots.forEach(function (plot) {
      var ok = drawn(plot); plot.dataset.drawn = ok ? '1' : '0'; if (ok) count += 1;
    });
    document.body.dataset.plotsTotal = String(plots.length);
    document.body.dataset.plotsDrawn = String(count);
    document.body.dataset.errors = String(window.__reportErrors);
    document.body.dataset.ready = '1';
    window.dispatchEvent(new Event('report-checked'));
  }
  // A plot has a size only once the page is laid out, which a browser skips while the page
  // is not shown (a collapsed notebook output, a frame whose size the notebook has not sent
  // yet): the check runs now if the page is laid out, and whenever its size changes.
  checkPlots();
  if (window.ResizeObserver) new ResizeObserver(checkPlots).observe(document.body);
})();
"""
