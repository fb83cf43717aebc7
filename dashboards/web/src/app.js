// Brooks dashboards: htmx for the self-loading panels and Chart.js for the
// charts. Charts are described by the server in a canvas's data-chart
// attribute (dashboards/charts.go: chartSpec); this file only draws them.
import htmx from 'htmx.org';
import Chart from 'chart.js/auto';

window.htmx = htmx;
const charts = (window.brooksCharts = {});

function hexA(hex, a) {
  const n = parseInt(hex.slice(1), 16);
  return `rgba(${(n >> 16) & 255},${(n >> 8) & 255},${n & 255},${a})`;
}

function build(canvas) {
  const spec = JSON.parse(canvas.dataset.chart);
  const alert = '#D55E00';
  const datasets = spec.datasets.map((d) => {
    const hl = d.highlight || [];
    const ds = {
      label: d.label,
      data: d.data,
      type: d.kind || spec.type,
      borderColor: d.color,
      backgroundColor: spec.type === 'bar' ? hexA(d.color, 0.8) : hexA(d.color, 0.15),
      borderDash: d.dashed ? [6, 4] : [],
      borderWidth: spec.spark ? 1.5 : 2,
      pointRadius: (ctx) => (hl[ctx.dataIndex] ? 5 : spec.spark ? 0 : 1.5),
      pointBackgroundColor: (ctx) => (hl[ctx.dataIndex] ? alert : d.color),
      pointBorderColor: (ctx) => (hl[ctx.dataIndex] ? alert : d.color),
      spanGaps: false,
      tension: 0.2,
    };
    return ds;
  });
  const axisTitle = (t) => (t ? { display: true, text: t } : { display: false });
  const cfg = {
    type: spec.type,
    data: { labels: spec.labels, datasets },
    options: {
      animation: false,
      responsive: true,
      maintainAspectRatio: false,
      indexAxis: spec.horizontal ? 'y' : 'x',
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: { display: !spec.spark, position: 'bottom' },
        tooltip: { enabled: true },
      },
      scales: spec.spark
        ? { x: { display: false }, y: { display: false, beginAtZero: true } }
        : spec.horizontal
          ? {
              x: { title: axisTitle(spec.x_title), beginAtZero: true },
              y: { title: axisTitle(spec.y_title), ticks: { autoSkip: false } },
            }
          : {
              x: { title: axisTitle(spec.x_title), ticks: { maxRotation: 0, autoSkip: true, maxTicksLimit: 12 } },
              y: { title: axisTitle(spec.y_title), beginAtZero: true },
            },
    },
  };
  charts[canvas.id] = new Chart(canvas, cfg);
}

function drawAll(root) {
  root.querySelectorAll('canvas[data-chart]').forEach((c) => {
    if (!Chart.getChart(c)) build(c);
  });
}

function destroyIn(root) {
  root.querySelectorAll('canvas[data-chart]').forEach((c) => {
    const ch = Chart.getChart(c);
    if (ch) {
      ch.destroy();
      delete charts[c.id];
    }
  });
}

document.addEventListener('htmx:beforeSwap', (e) => destroyIn(e.detail.target));
document.addEventListener('htmx:afterSettle', (e) => drawAll(e.detail.target));
document.addEventListener('htmx:responseError', (e) => {
  if (e.detail.xhr.status === 401) return; // HX-Redirect to sign-in
  e.detail.target.innerHTML = '';
  const div = document.createElement('div');
  div.className = 'state state-error';
  div.setAttribute('role', 'alert');
  div.textContent = `Could not load (HTTP ${e.detail.xhr.status}): ${e.detail.xhr.responseText.slice(0, 300)}`;
  e.detail.target.appendChild(div);
});
document.addEventListener('htmx:sendError', (e) => {
  e.detail.target.setAttribute('data-offline', 'true');
});
// A panel whose metric the serving system lacks hides itself.
document.addEventListener('htmx:afterSettle', (e) => {
  const t = e.detail.target;
  if (t.querySelector && t.querySelector(':scope > .panel-hidden')) t.hidden = true;
});
// Confirmations of cutover transitions (the reason input is required).
document.addEventListener('submit', (e) => {
  const f = e.target;
  if (f.dataset && f.dataset.confirm && !window.confirm(f.dataset.confirm + '\n\nReason: ' + f.reason.value)) {
    e.preventDefault();
  }
});
document.addEventListener('DOMContentLoaded', () => drawAll(document));
