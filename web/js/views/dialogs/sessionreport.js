// sessionreport.js: a session's report (orders paid, sales and tax per rate, payments
// per method, the cash drawer and its moves), as a table for the back office's session
// page and as the dialog the till shows after closing its own session. Methods are
// named as the shop named them; a shortage or surplus in the drawer stands out. The
// report prints on its own (the print stylesheet hides the rest of the page).

import { h } from '../../dom.js';
import { formatMoney } from '../../money.js';
import { openDialog, toast } from '../ui.js';

/** What the counted cash says about the drawer: `{tone, label}`, tone one of
 * `none` (not counted), `even`, `short` or `over`. */
export function cashVerdict(cash) {
  if (!cash || cash.difference == null) return { tone: 'none', label: 'Not counted' };
  if (cash.difference < 0) return { tone: 'short', label: `Shortage of ${formatMoney(-cash.difference)}` };
  if (cash.difference > 0) return { tone: 'over', label: `Surplus of ${formatMoney(cash.difference)}` };
  return { tone: 'even', label: 'The drawer balances' };
}

/** A tax rate as the report names it: its name, with the rate when the name lacks it. */
export function taxLabel(tax) {
  const rate = `${tax.rate}%`;
  return tax.name && tax.name.includes(rate) ? tax.name : `${tax.name || 'Tax'} ${rate}`;
}

const when = (at) => (at ? new Date(at).toLocaleString() : '—');

/** The report as a table. */
export function renderSessionReport(report, { configName = '', userName = () => '' } = {}) {
  const s = report.session || {};
  const cash = report.cash || {};
  const verdict = cashVerdict(cash);
  const row = (label, value, testid, props = {}) => h('tr', props, h('th', {}, label), h('td', { class: 'num', testid }, value));
  const taxes = report.taxes || [];
  const payments = report.payments || [];
  const moves = report.cash_moves || [];
  return h('div', { class: 'report', testid: 'session-report' },
    h('p', { class: 'report-title' }, `${configName ? `${configName} · ` : ''}Session #${s.id ?? ''} · ${s.state || ''}`),
    h('p', { class: 'muted small' }, `Opened ${when(s.opened_at)}${s.closed_at ? ` · closed ${when(s.closed_at)}` : ''}`),
    h('table', { class: 'table table-compact' }, h('tbody', {},
      row('Orders paid', String(report.orders_paid ?? 0), 'report-orders-paid'),
      row('Sales total', formatMoney(report.sales_total ?? 0), 'report-sales-total'),
      row('Tax total', formatMoney(report.tax_total ?? 0), 'report-tax-total'))),
    h('h3', {}, 'Tax'),
    h('table', { class: 'table table-compact' },
      h('thead', {}, h('tr', {}, h('th', {}, 'Rate'), h('th', { class: 'num' }, 'Base'), h('th', { class: 'num' }, 'Tax'))),
      h('tbody', {}, taxes.length
        ? taxes.map((t) => h('tr', { testid: 'report-tax', 'data-tax-id': t.tax_id },
          h('th', {}, taxLabel(t)), h('td', { class: 'num' }, formatMoney(t.base)), h('td', { class: 'num' }, formatMoney(t.amount))))
        : h('tr', {}, h('td', { class: 'empty', colspan: 3 }, 'No tax.')))),
    h('h3', {}, 'Payments'),
    h('table', { class: 'table table-compact' }, h('tbody', {},
      payments.length ? payments.map((p) => h('tr', { testid: 'report-payment', 'data-method-id': p.method_id, 'data-kind': p.kind },
        h('th', {}, p.name), h('td', { class: 'num' }, formatMoney(p.amount))))
        : h('tr', {}, h('td', { class: 'empty' }, 'No payments.')))),
    h('h3', {}, 'Cash drawer'),
    h('table', { class: 'table table-compact' }, h('tbody', {},
      row('Opening cash', formatMoney(cash.opening ?? 0), 'report-cash-opening'),
      row('Cash received', formatMoney(cash.payments ?? 0), 'report-cash-payments'),
      row('Change given', formatMoney(-(cash.change_given ?? 0)), 'report-cash-change'),
      row('Net cash sales', formatMoney(cash.net ?? 0), 'report-cash-net'),
      row('Cash in / out', formatMoney(cash.moves ?? 0), 'report-cash-moves'),
      row('Expected in the drawer', formatMoney(cash.expected ?? 0), 'report-cash-expected', { class: 'report-strong' }),
      row('Counted', cash.counted == null ? '—' : formatMoney(cash.counted), 'report-cash-counted'),
      row('Difference', cash.difference == null ? '—' : formatMoney(cash.difference), 'report-cash-difference',
        { class: ['report-difference', `cash-${verdict.tone}`], 'data-tone': verdict.tone }))),
    h('p', { class: ['cash-verdict', `cash-${verdict.tone}`], testid: 'report-cash-verdict', 'data-tone': verdict.tone, role: verdict.tone === 'short' || verdict.tone === 'over' ? 'alert' : null }, verdict.label),
    moves.length ? [
      h('h3', {}, 'Cash in and out'),
      h('table', { class: 'table table-compact' }, h('tbody', {}, moves.map((m) => h('tr', { testid: 'report-cash-move' },
        h('td', {}, when(m.at)), h('td', {}, m.reason), h('td', {}, userName(m.user_id)), h('td', { class: 'num' }, formatMoney(m.amount)))))),
    ] : null);
}

/** The report in a dialog, with Print, Print on the receipt printer (when
 * `printOnPrinter` is given: POST /sessions/{id}/print) and Done; resolves when closed. */
export function showSessionReportDialog(report, { configName = '', userName, printOnPrinter = null } = {}) {
  const onPrinter = printOnPrinter ? h('button', {
    class: 'btn', testid: 'report-print-printer',
    onclick: async () => {
      onPrinter.disabled = true;
      try {
        await printOnPrinter();
        toast('Sent to the receipt printer', 'info');
      } catch (err) {
        toast(err.message, 'warn');
      } finally {
        onPrinter.disabled = false;
      }
    },
  }, 'Print on receipt printer') : null;
  return openDialog((close) => h('div', { class: 'dialog-form dialog-wide' },
    h('h2', {}, 'Session closed'),
    renderSessionReport(report, { configName, userName }),
    h('div', { class: 'dialog-actions' },
      h('button', { class: 'btn', testid: 'report-print', onclick: () => window.print() }, 'Print'),
      onPrinter,
      h('button', { class: 'btn btn-primary', testid: 'report-done', onclick: () => close(true) }, 'Done'))),
  { testid: 'session-report-dialog', label: 'Session report' });
}
