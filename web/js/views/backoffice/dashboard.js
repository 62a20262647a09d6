// dashboard.js: the day's numbers (`#/office/dashboard`): for a chosen period (today by
// default), the orders paid, sales and tax, and four charts drawn as SVG in the page:
// sales per hour (per day for longer periods), per payment method, per product (the
// ten best) and per counter, where an order started at one counter and paid at another
// counts at both: "started here" and "paid here" side by side. Everything comes from
// `GET /reports/sales` in the shop's own hours (the browser's UTC offset).

import { h, replace } from '../../dom.js';
import { formatMoney } from '../../money.js';
import { barChart } from '../../charts.js';
import { sectionHead, errorLine, listTable, emptyRow } from './layout.js';

export const dashboardSection = { key: 'dashboard', title: 'Dashboard', mount: (ctx) => mountDashboard(ctx) };

/** `YYYY-MM-DD` of a local date. */
export function isoDate(date) {
  const pad = (n) => String(n).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())}`;
}

/** The preset periods, as [from, to] local dates (both included), for `today`. */
export function presetPeriod(preset, today) {
  const day = (offset) => { const d = new Date(today); d.setDate(d.getDate() + offset); return isoDate(d); };
  switch (preset) {
    case 'yesterday': return [day(-1), day(-1)];
    case 'week': return [day(-6), day(0)];
    case 'month': { const first = new Date(today); first.setDate(1); return [isoDate(first), day(0)]; }
    default: return [day(0), day(0)];
  }
}

/** Per hour for a period of up to two days, per day beyond. */
export function timeGrouping(from, to) {
  const days = (Date.parse(`${to}T00:00:00Z`) - Date.parse(`${from}T00:00:00Z`)) / 86_400_000 + 1;
  return days <= 2 ? 'hour' : 'day';
}

/** The query of a report of `group` over local dates `from`..`to` (both included). */
export function salesQuery(group, from, to, utcOffsetMinutes) {
  return `/reports/sales?group=${group}&from=${from}&to=${to}&utc_offset_minutes=${utcOffsetMinutes}`;
}

/** An hour label ("2026-11-30 14:00") as the chart's axis shows it: "14h" within
 * one day, "30 14h" across two; a day ("2026-11-30") as "11-30". */
export function shortTimeLabel(label, group, severalDays = false) {
  if (group === 'day') return label.slice(5);
  const [date, time] = label.split(' ');
  return severalDays ? `${date.slice(8)} ${time.slice(0, 2)}h` : `${time.slice(0, 2)}h`;
}

function chartCard(title, testid, chart, empty) {
  return h('figure', { class: 'chart-card', testid },
    h('figcaption', {}, title),
    empty ? h('p', { class: 'muted chart-empty' }, 'No sales in this period.') : chart);
}

async function mountDashboard(ctx) {
  const offset = -new Date().getTimezoneOffset();
  const [todayFrom, todayTo] = presetPeriod('today', new Date());
  const from = h('input', { type: 'date', testid: 'dash-from', value: todayFrom, 'aria-label': 'From' });
  const to = h('input', { type: 'date', testid: 'dash-to', value: todayTo, 'aria-label': 'To' });
  const error = errorLine();
  const body = h('div', { class: 'dashboard', testid: 'dashboard' }, h('p', { class: 'muted' }, 'Loading…'));

  async function show() {
    error.textContent = '';
    if (!from.value || !to.value) { error.textContent = 'Choose both dates.'; return; }
    const time = timeGrouping(from.value, to.value);
    body.dataset.state = 'loading';
    let reports;
    try {
      reports = await Promise.all([time, 'method', 'product', 'config'].map((group) => ctx.api.get(salesQuery(group, from.value, to.value, offset))));
    } catch (err) {
      if (err.status === 401) { ctx.app.account.handleUserError(err); return; }
      error.textContent = err.message;
      body.dataset.state = 'error';
      return;
    }
    const [perTime, perMethod, perProduct, perCounter] = reports;
    const empty = perTime.orders === 0;
    const topProducts = [...perProduct.rows].sort((a, b) => b.total - a.total).slice(0, 10);
    replace(body,
      h('div', { class: 'kpis' },
        h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, 'Orders paid'), h('strong', { testid: 'dash-orders' }, String(perTime.orders))),
        h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, 'Sales'), h('strong', { testid: 'dash-total' }, formatMoney(perTime.total))),
        h('div', { class: 'kpi' }, h('span', { class: 'kpi-label' }, 'Tax'), h('strong', { testid: 'dash-tax' }, formatMoney(perTime.tax)))),
      h('div', { class: 'chart-grid' },
        chartCard(time === 'hour' ? 'Sales per hour' : 'Sales per day', 'dash-time', barChart({
          labels: perTime.rows.map((r) => shortTimeLabel(r.label, time, perTime.rows.length > 24)),
          series: [{ name: 'Sales', className: 'bar-sales', values: perTime.rows.map((r) => r.total) }],
          format: formatMoney, testid: 'chart-time', title: time === 'hour' ? 'Sales per hour' : 'Sales per day',
          every: perTime.rows.length > 24 ? Math.ceil(perTime.rows.length / 12) : (perTime.rows.length > 12 ? 3 : 1),
        }), empty),
        chartCard('Per payment method', 'dash-method', barChart({
          labels: perMethod.rows.map((r) => r.label),
          series: [{ name: 'Kept', className: 'bar-method', values: perMethod.rows.map((r) => r.total) }],
          format: formatMoney, testid: 'chart-method', title: 'Sales per payment method',
        }), empty),
        chartCard('Best products', 'dash-product', barChart({
          labels: topProducts.map((r) => r.label),
          series: [{ name: 'Sales', className: 'bar-product', values: topProducts.map((r) => r.total) }],
          format: formatMoney, testid: 'chart-product', title: 'Sales per product',
        }), empty),
        chartCard('Per counter: started here, paid here', 'dash-config', barChart({
          labels: perCounter.rows.map((r) => r.label),
          series: [
            { name: 'Started here', className: 'bar-started', values: perCounter.rows.map((r) => r.started.total) },
            { name: 'Paid here', className: 'bar-paid', values: perCounter.rows.map((r) => r.paid.total) },
          ],
          format: formatMoney, testid: 'chart-config', title: 'Sales per counter, by where orders were started and paid',
        }), empty)),
      h('p', { class: 'legend' }, h('span', { class: 'swatch bar-started' }), ' Started here ', h('span', { class: 'swatch bar-paid' }), ' Paid here: an order started at one counter and paid at another counts at both.'),
      h('h2', {}, 'Per counter'),
      listTable(['Counter', ['Started here', 'num'], ['Paid here', 'num'], ['Orders paid', 'num']],
        h('tbody', {}, perCounter.rows.length ? perCounter.rows.map((r) => h('tr', { testid: 'dash-config-row', 'data-config-id': r.key },
          h('td', {}, r.label),
          h('td', { class: 'num', testid: 'dash-config-started' }, formatMoney(r.started.total)),
          h('td', { class: 'num', testid: 'dash-config-paid' }, formatMoney(r.paid.total)),
          h('td', { class: 'num' }, String(r.paid.orders)))) : emptyRow(4, 'No sales in this period.'))),
      h('h2', {}, 'Per payment method'),
      listTable(['Method', ['Orders', 'num'], ['Kept', 'num']],
        h('tbody', {}, perMethod.rows.length ? perMethod.rows.map((r) => h('tr', { testid: 'dash-method-row', 'data-method-id': r.key },
          h('td', {}, r.label), h('td', { class: 'num' }, String(r.orders)), h('td', { class: 'num' }, formatMoney(r.total)))) : emptyRow(3, 'No sales in this period.'))));
    body.dataset.state = 'shown';
    body.dataset.from = from.value;
    body.dataset.to = to.value;
  }

  const preset = (name, label) => h('button', {
    type: 'button', class: 'btn btn-small', testid: `dash-preset-${name}`,
    onclick: () => { [from.value, to.value] = presetPeriod(name, new Date()); show(); },
  }, label);
  replace(ctx.content,
    sectionHead('Dashboard'),
    h('form', { class: 'inline-form', testid: 'dash-period', onsubmit: (e) => { e.preventDefault(); show(); } },
      preset('today', 'Today'), preset('yesterday', 'Yesterday'), preset('week', 'Last 7 days'), preset('month', 'This month'),
      from, h('span', {}, 'to'), to,
      h('button', { type: 'submit', class: 'btn btn-primary', testid: 'dash-show' }, 'Show')),
    error, body);
  await show();
}
