// sessionreport.js: a session's report (orders paid, sales and tax, payments per
// method, the cash drawer), as a table for the back office's session page and as
// the dialog the till shows after closing its own session.

import { h } from '../../dom.js';
import { formatMoney } from '../../money.js';
import { openDialog } from '../ui.js';

/** The report as a table. */
export function renderSessionReport(report, { configName = '' } = {}) {
  const s = report.session || {};
  const cash = report.cash || {};
  const row = (label, value, testid) => h('tr', {}, h('th', {}, label), h('td', { class: 'num', testid }, value));
  return h('div', { class: 'report', testid: 'session-report' },
    h('p', {}, `${configName ? `${configName} · ` : ''}Session #${s.id ?? ''} · ${s.state || ''}`),
    h('p', { class: 'muted small' }, `Opened ${s.opened_at ? new Date(s.opened_at).toLocaleString() : '—'}${s.closed_at ? ` · closed ${new Date(s.closed_at).toLocaleString()}` : ''}`),
    h('table', { class: 'table table-compact' }, h('tbody', {},
      row('Orders paid', String(report.orders_paid ?? 0), 'report-orders-paid'),
      row('Sales total', formatMoney(report.sales_total ?? 0), 'report-sales-total'),
      row('Tax total', formatMoney(report.tax_total ?? 0), 'report-tax-total'))),
    h('h3', {}, 'Payments'),
    h('table', { class: 'table table-compact' }, h('tbody', {},
      (report.payments || []).length ? report.payments.map((p) => h('tr', { testid: 'report-payment', 'data-method-id': p.method_id }, h('th', {}, `${p.name} (${p.kind})`), h('td', { class: 'num' }, formatMoney(p.amount))))
        : h('tr', {}, h('td', { class: 'empty' }, 'No payments.')))),
    h('h3', {}, 'Cash'),
    h('table', { class: 'table table-compact' }, h('tbody', {},
      row('Opening', formatMoney(cash.opening ?? 0)),
      row('Cash payments', formatMoney(cash.payments ?? 0)),
      row('Change given', formatMoney(cash.change_given ?? 0)),
      row('Expected', formatMoney(cash.expected ?? 0), 'report-cash-expected'),
      row('Counted', cash.counted == null ? '—' : formatMoney(cash.counted), 'report-cash-counted'),
      row('Difference', cash.difference == null ? '—' : formatMoney(cash.difference), 'report-cash-difference'))));
}

/** The report in a dialog, with Print and Done; resolves when closed. */
export function showSessionReportDialog(report, { configName = '' } = {}) {
  return openDialog((close) => h('div', { class: 'dialog-form dialog-wide' },
    h('h2', {}, 'Session closed'),
    renderSessionReport(report, { configName }),
    h('div', { class: 'dialog-actions' },
      h('button', { class: 'btn', onclick: () => window.print() }, 'Print'),
      h('button', { class: 'btn btn-primary', testid: 'report-done', onclick: () => close(true) }, 'Done'))),
  { testid: 'session-report-dialog', label: 'Session report' });
}
