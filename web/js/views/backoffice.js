// backoffice.js: the managers' screens, over the HTTP API with the user token:
// counters (configs) with the "Sync with" links and auto-share; products, categories,
// taxes, customers, payment methods and users (list, create, edit); sessions (open,
// close with counted cash, report); and orders by state with each order's full
// history (who changed what, from which counter, when).

import { h, replace } from '../dom.js';
import { formatMoney, parseMoney, percentToBp, bpToPercent } from '../money.js';
import { parseQty, formatQty } from '../quantity.js';
import { describeOp, orderLabel } from '../wording.js';
import { openDialog, toast } from './ui.js';

const SECTIONS = [
  ['configs', 'Counters'],
  ['products', 'Products'],
  ['categories', 'Categories'],
  ['taxes', 'Taxes'],
  ['customers', 'Customers'],
  ['payment_methods', 'Payment methods'],
  ['users', 'Users'],
  ['sessions', 'Sessions'],
  ['orders', 'Orders'],
];

/** Field kinds: text, money, qty, percent, select, multi, checkbox, password, choice. */
const RESOURCES = {
  products: {
    title: 'Product',
    fields: [
      { name: 'name', label: 'Name', type: 'text', required: true },
      { name: 'price', label: 'Price', type: 'money', required: true },
      { name: 'category_id', label: 'Category', type: 'select', options: 'categories', nullable: true },
      { name: 'tax_ids', label: 'Taxes', type: 'multi', options: 'taxes' },
      { name: 'barcode', label: 'Barcode', type: 'text', nullable: true },
      { name: 'tracks_stock', label: 'Track stock', type: 'checkbox' },
      { name: 'on_hand', label: 'On hand', type: 'qty' },
    ],
    columns: ['name', 'price', 'category_id', 'tax_ids', 'barcode', 'on_hand'],
  },
  categories: { title: 'Category', fields: [{ name: 'name', label: 'Name', type: 'text', required: true }], columns: ['name'] },
  taxes: {
    title: 'Tax',
    fields: [
      { name: 'name', label: 'Name', type: 'text', required: true },
      { name: 'rate', label: 'Rate (%)', type: 'percent', required: true },
      { name: 'price_included', label: 'Included in price', type: 'checkbox' },
    ],
    columns: ['name', 'rate', 'price_included'],
  },
  customers: {
    title: 'Customer',
    fields: [
      { name: 'name', label: 'Name', type: 'text', required: true },
      { name: 'email', label: 'Email', type: 'text', nullable: true, input: 'email' },
      { name: 'phone', label: 'Phone', type: 'text', nullable: true, input: 'tel' },
    ],
    columns: ['name', 'email', 'phone'],
  },
  payment_methods: {
    title: 'Payment method',
    fields: [
      { name: 'name', label: 'Name', type: 'text', required: true },
      { name: 'kind', label: 'Kind', type: 'choice', choices: ['cash', 'card', 'other'], required: true },
    ],
    columns: ['name', 'kind'],
  },
  users: {
    title: 'User',
    fields: [
      // The server takes a login only when the user is created (PATCH refuses it).
      { name: 'login', label: 'Login', type: 'text', required: true, fixedOnEdit: true },
      { name: 'name', label: 'Name', type: 'text', required: true },
      { name: 'role', label: 'Role', type: 'choice', choices: ['cashier', 'manager'], required: true },
      { name: 'password', label: 'Password', type: 'password', requiredOnCreate: true },
    ],
    columns: ['login', 'name', 'role'],
  },
};

const COLUMN_LABELS = {
  name: 'Name', price: 'Price', category_id: 'Category', tax_ids: 'Taxes', barcode: 'Barcode', on_hand: 'On hand',
  rate: 'Rate', price_included: 'Included', email: 'Email', phone: 'Phone', kind: 'Kind', login: 'Login', role: 'Role',
};

export function mountBackOffice(root, app, { section, id }) {
  const api = app.userApi();
  const content = h('section', { class: 'office-content', testid: 'bo-content', 'aria-live': 'polite' });
  const nav = h('nav', { class: 'office-nav', 'aria-label': 'Back office' },
    SECTIONS.map(([key, title]) => h('a', {
      href: `#/office/${key}`, testid: `bo-nav-${key}`, class: key === section ? 'active' : null,
      'aria-current': key === section ? 'page' : null,
    }, title)));
  const el = h('div', { class: 'screen screen-office' },
    h('header', { class: 'topbar topbar-office' },
      h('div', { class: 'topbar-left' }, h('span', { class: 'counter-name' }, 'Back office'), h('span', { class: 'counter-sub' }, app.auth.user ? app.auth.user.name : '')),
      h('div', { class: 'spacer' }),
      h('div', { class: 'topbar-right' },
        app.till ? h('a', { class: 'btn', href: '#/pos', testid: 'bo-to-till' }, `Till: ${app.till.config.name}`) : h('a', { class: 'btn', href: '#/session', testid: 'bo-to-session' }, 'Open a till'),
        h('button', { class: 'btn', testid: 'logout', onclick: () => app.logout() }, 'Sign out'))),
    h('div', { class: 'office' }, nav, content));
  replace(root, el);

  const ctx = { app, api, content, lists: {} };
  const fail = (err) => {
    if (err && err.status === 401) return app.handleUserError(err);
    replace(content, h('p', { class: 'form-error', testid: 'bo-error', role: 'alert' }, err && err.message ? err.message : 'Request failed'));
    return undefined;
  };
  replace(content, h('p', { class: 'muted' }, 'Loading…'));
  let job;
  if (section === 'configs') job = configsSection(ctx, id);
  else if (section === 'sessions') job = sessionsSection(ctx, id);
  else if (section === 'orders') job = ordersSection(ctx, id);
  else if (RESOURCES[section]) job = resourceSection(ctx, section, id);
  else job = Promise.resolve(replace(content, h('p', {}, 'Unknown section.')));
  job.catch(fail);
  return { unmount() {} };
}

// ---- shared helpers ---------------------------------------------------------------

async function loadLists(ctx, names) {
  await Promise.all(names.filter((n) => !ctx.lists[n]).map(async (n) => {
    ctx.lists[n] = await ctx.api.list(n);
  }));
}

function nameOf(list, id) {
  const found = (list || []).find((x) => x.id === id);
  return found ? found.name : id == null ? '' : `#${id}`;
}

function cellText(ctx, key, value) {
  if (value === null || value === undefined) return '';
  if (key === 'price') return formatMoney(value);
  if (key === 'category_id') return nameOf(ctx.lists.categories, value);
  if (key === 'tax_ids') return (value || []).map((v) => nameOf(ctx.lists.taxes, v)).join(', ');
  if (key === 'rate') return `${value}%`;
  if (key === 'on_hand') return formatQty(parseQty(value) ?? 0);
  if (typeof value === 'boolean') return value ? 'yes' : 'no';
  return String(value);
}

function errorLine() {
  return h('p', { class: 'form-error', testid: 'bo-error', role: 'alert' });
}

function sectionHead(title, ...actions) {
  return h('div', { class: 'office-head' }, h('h1', {}, title), h('div', { class: 'spacer' }), actions);
}

// ---- generic catalog and staff resources -------------------------------------------

async function resourceSection(ctx, key, id) {
  const def = RESOURCES[key];
  const optionLists = [...new Set(def.fields.filter((f) => f.options).map((f) => f.options))];
  await loadLists(ctx, [key, ...optionLists]);
  const rows = ctx.lists[key];
  const title = SECTIONS.find(([k]) => k === key)[1];

  if (id) {
    const existing = id === 'new' ? null : rows.find((r) => String(r.id) === id);
    if (id !== 'new' && !existing) throw new Error(`No ${def.title.toLowerCase()} #${id}`);
    replace(ctx.content, sectionHead(existing ? `${def.title}: ${existing.name || existing.login}` : `New ${def.title.toLowerCase()}`),
      resourceForm(ctx, key, def, existing));
    return;
  }

  let filter = '';
  const tbody = h('tbody', {});
  const renderRows = () => {
    const f = filter.toLowerCase();
    const shown = rows.filter((r) => !f || def.columns.some((c) => cellText(ctx, c, r[c]).toLowerCase().includes(f)));
    replace(tbody, shown.length ? shown.map((r) => h('tr', {
      testid: 'bo-row', 'data-id': r.id, tabindex: '0', class: 'clickable',
      onclick: () => { location.hash = `#/office/${key}/${r.id}`; },
      onkeydown: (e) => { if (e.key === 'Enter') location.hash = `#/office/${key}/${r.id}`; },
    }, def.columns.map((c) => h('td', { class: c === 'price' || c === 'on_hand' ? 'num' : null, 'data-col': c }, cellText(ctx, c, r[c])))))
      : h('tr', {}, h('td', { colspan: def.columns.length, class: 'empty' }, 'Nothing here yet.')));
  };
  renderRows();
  replace(ctx.content,
    sectionHead(title,
      h('input', { type: 'search', placeholder: 'Filter', testid: 'bo-filter', 'aria-label': 'Filter', oninput: (e) => { filter = e.target.value; renderRows(); } }),
      h('a', { class: 'btn btn-primary', href: `#/office/${key}/new`, testid: 'bo-new' }, `+ New ${def.title.toLowerCase()}`)),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'bo-list' },
      h('thead', {}, h('tr', {}, def.columns.map((c) => h('th', { class: c === 'price' || c === 'on_hand' ? 'num' : null }, COLUMN_LABELS[c] || c)))),
      tbody)));
}

function fieldInput(ctx, f, value) {
  const testid = `bo-field-${f.name}`;
  const idAttr = `f-${f.name}`;
  switch (f.type) {
    case 'checkbox':
      return h('input', { type: 'checkbox', id: idAttr, testid, checked: !!value });
    case 'money':
      return h('input', { type: 'text', inputmode: 'decimal', id: idAttr, testid, value: value == null ? '' : formatMoney(value) });
    case 'qty':
      return h('input', { type: 'text', inputmode: 'decimal', id: idAttr, testid, value: value == null ? '0' : formatQty(parseQty(value) ?? 0) });
    case 'percent':
      return h('input', { type: 'text', inputmode: 'decimal', id: idAttr, testid, value: value == null ? '' : String(value) });
    case 'password':
      return h('input', { type: 'password', id: idAttr, testid, autocomplete: 'new-password', placeholder: value === undefined ? '' : 'unchanged' });
    case 'select': {
      const opts = ctx.lists[f.options] || [];
      return h('select', { id: idAttr, testid },
        f.nullable ? h('option', { value: '' }, '—') : null,
        opts.map((o) => h('option', { value: String(o.id), selected: o.id === value }, o.name)));
    }
    case 'choice':
      return h('select', { id: idAttr, testid }, f.choices.map((c) => h('option', { value: c, selected: c === value }, c)));
    case 'multi': {
      const opts = ctx.lists[f.options] || [];
      const set = new Set(value || []);
      return h('fieldset', { class: 'checks', id: idAttr, testid },
        h('legend', { class: 'sr-only' }, f.label),
        opts.length ? opts.map((o) => h('label', { class: 'check' },
          h('input', { type: 'checkbox', value: String(o.id), 'data-value': o.id, checked: set.has(o.id) }), ` ${o.name}`)) : h('span', { class: 'muted' }, 'none defined'));
    }
    default:
      return h('input', { type: f.input || 'text', id: idAttr, testid, value: value == null ? '' : String(value), required: !!f.required });
  }
}

/** Read a field back into the API's shape; throws Error with a message for the cashier. */
function readField(f, input) {
  switch (f.type) {
    case 'checkbox': return input.checked;
    case 'money': {
      const v = parseMoney(input.value);
      if (v === null) throw new Error(`${f.label}: not a valid amount`);
      return v;
    }
    case 'qty': {
      const v = parseQty(input.value || '0');
      if (v === null) throw new Error(`${f.label}: not a valid quantity`);
      return formatQty(v);
    }
    case 'percent': {
      const bp = percentToBp(input.value);
      if (bp === null || bp < 0 || bp > 10000) throw new Error(`${f.label}: a percentage from 0 to 100, two decimals at most`);
      return bpToPercent(bp);
    }
    case 'select': return input.value === '' ? null : Number(input.value);
    case 'choice': return input.value;
    case 'multi': return [...input.querySelectorAll('input:checked')].map((c) => Number(c.value));
    case 'password': return input.value;
    default: {
      const v = input.value.trim();
      if (f.required && !v) throw new Error(`${f.label} is required`);
      return f.nullable && v === '' ? null : v;
    }
  }
}

function same(a, b) {
  return JSON.stringify(a) === JSON.stringify(b);
}

function resourceForm(ctx, key, def, existing) {
  const inputs = {};
  const error = errorLine();
  const save = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'bo-save' }, existing ? 'Save' : 'Create');
  const form = h('form', {
    class: 'office-form', testid: 'bo-form', 'data-resource': key,
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      const body = {};
      try {
        for (const f of def.fields) {
          if (existing && f.fixedOnEdit) continue;
          const v = readField(f, inputs[f.name]);
          if (f.type === 'password') {
            if (v) body.password = v;
            else if (!existing && f.requiredOnCreate) throw new Error(`${f.label} is required`);
            continue;
          }
          if (!existing || !same(v, normalizeForCompare(f, existing[f.name]))) body[f.name] = v;
        }
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      if (existing && !Object.keys(body).length) {
        location.hash = `#/office/${key}`;
        return;
      }
      save.disabled = true;
      try {
        if (existing) await ctx.api.update(key, existing.id, body);
        else await ctx.api.create(key, body);
        toast(`${def.title} saved`, 'info');
        location.hash = `#/office/${key}`;
      } catch (err) {
        if (err.status === 401) return ctx.app.handleUserError(err);
        error.textContent = err.message;
        save.disabled = false;
      }
      return undefined;
    },
  },
  def.fields.map((f) => {
    const input = fieldInput(ctx, f, existing ? existing[f.name] : f.type === 'choice' ? f.choices[0] : undefined);
    if (existing && f.fixedOnEdit) {
      input.readOnly = true;
      input.title = `${f.label} cannot be changed`;
    }
    inputs[f.name] = input;
    return f.type === 'checkbox'
      ? h('div', { class: 'field field-check' }, input, h('label', { for: `f-${f.name}` }, f.label))
      : h('div', { class: 'field' }, h('label', { for: `f-${f.name}` }, f.label), input);
  }),
  error,
  h('div', { class: 'form-actions' },
    h('a', { class: 'btn', href: `#/office/${key}`, testid: 'bo-cancel' }, 'Cancel'),
    save));
  return form;
}

function normalizeForCompare(f, value) {
  if (f.type === 'qty') return formatQty(parseQty(value ?? '0') ?? 0);
  if (f.type === 'percent') return value == null ? value : bpToPercent(percentToBp(value));
  if (f.type === 'multi') return value || [];
  if (f.type === 'checkbox') return !!value;
  return value ?? (f.nullable ? null : value);
}

// ---- configs (counters) with Sync with ---------------------------------------------------

async function configsSection(ctx, id) {
  const configs = (await ctx.api.configs()).sort((a, b) => a.name.localeCompare(b.name));
  const byId = new Map(configs.map((c) => [c.id, c]));
  if (!id) {
    replace(ctx.content,
      sectionHead('Counters', h('a', { class: 'btn btn-primary', href: '#/office/configs/new', testid: 'bo-new' }, '+ New counter')),
      h('p', { class: 'muted' }, 'Linked counters see and edit each other’s shared drafts. Links work both ways.'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'bo-list' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Sync with'), h('th', {}, 'Auto-share'), h('th', {}, 'Session'))),
        h('tbody', {}, configs.length ? configs.map((c) => h('tr', {
          testid: 'bo-row', 'data-id': c.id, class: 'clickable', tabindex: '0',
          onclick: () => { location.hash = `#/office/configs/${c.id}`; },
          onkeydown: (e) => { if (e.key === 'Enter') location.hash = `#/office/configs/${c.id}`; },
        },
        h('td', {}, c.name),
        h('td', { 'data-col': 'sync_with' }, (c.sync_with || []).map((o) => byId.has(o) ? byId.get(o).name : `#${o}`).join(', ') || h('span', { class: 'muted' }, '—')),
        h('td', { 'data-col': 'auto_share' }, c.auto_share ? 'yes' : 'no'),
        h('td', {}, c.open_session_id ? `open (#${c.open_session_id})` : 'closed'))) : h('tr', {}, h('td', { colspan: 4, class: 'empty' }, 'No counters yet.'))))));
    return;
  }

  const existing = id === 'new' ? null : byId.get(Number(id));
  if (id !== 'new' && !existing) throw new Error(`No counter #${id}`);
  const others = configs.filter((c) => !existing || c.id !== existing.id);
  const linked = new Set(existing ? existing.sync_with || [] : []);
  const name = h('input', { type: 'text', id: 'f-name', testid: 'bo-field-name', value: existing ? existing.name : '', required: true });
  const autoShare = h('input', { type: 'checkbox', id: 'f-auto_share', testid: 'bo-field-auto_share', checked: !!(existing && existing.auto_share) });
  const syncWith = h('fieldset', { class: 'checks sync-with', testid: 'sync-with', 'aria-label': 'Sync with' },
    h('legend', {}, 'Sync with'),
    others.length ? others.map((c) => h('label', { class: 'check' },
      h('input', { type: 'checkbox', testid: 'sync-with-option', 'data-config-id': c.id, value: String(c.id), checked: linked.has(c.id) }), ` ${c.name}`))
      : h('span', { class: 'muted' }, 'No other counters to link.'));
  const selectedLinks = () => [...syncWith.querySelectorAll('input:checked')].map((c) => Number(c.value));
  const error = errorLine();
  const linkError = errorLine();

  const form = h('form', {
    class: 'office-form', testid: 'bo-form', 'data-resource': 'configs',
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      const n = name.value.trim();
      if (!n) { error.textContent = 'Name is required'; return; }
      try {
        if (existing) {
          const body = {};
          if (n !== existing.name) body.name = n;
          if (autoShare.checked !== !!existing.auto_share) body.auto_share = autoShare.checked;
          if (Object.keys(body).length) await ctx.api.patch(`/configs/${existing.id}`, body);
        } else {
          await ctx.api.post('/configs', { name: n, auto_share: autoShare.checked, sync_with: selectedLinks() });
        }
        toast('Counter saved', 'info');
        location.hash = '#/office/configs';
      } catch (err) {
        if (err.status === 401) return ctx.app.handleUserError(err);
        error.textContent = err.message;
      }
      return undefined;
    },
  },
  h('div', { class: 'field' }, h('label', { for: 'f-name' }, 'Name'), name),
  h('div', { class: 'field field-check' }, autoShare, h('label', { for: 'f-auto_share' }, 'Auto-share new drafts with linked counters')),
  existing ? null : syncWith,
  error,
  h('div', { class: 'form-actions' },
    h('a', { class: 'btn', href: '#/office/configs', testid: 'bo-cancel' }, 'Cancel'),
    h('button', { type: 'submit', class: 'btn btn-primary', testid: 'bo-save' }, existing ? 'Save' : 'Create')));

  const linkForm = existing ? h('form', {
    class: 'office-form', testid: 'sync-with-form',
    onsubmit: async (e) => {
      e.preventDefault();
      linkError.textContent = '';
      try {
        await ctx.api.setSyncWith(existing.id, selectedLinks());
        toast('Links saved', 'info');
        location.hash = '#/office/configs';
      } catch (err) {
        if (err.status === 401) return ctx.app.handleUserError(err);
        linkError.textContent = err.message;
      }
      return undefined;
    },
  },
  syncWith,
  h('p', { class: 'muted small' }, 'Linking is two-way: the other counter lists this one too. Removing a link hides shared drafts from both.'),
  linkError,
  h('div', { class: 'form-actions' }, h('button', { type: 'submit', class: 'btn btn-primary', testid: 'sync-with-save' }, 'Save links'))) : null;

  replace(ctx.content, sectionHead(existing ? `Counter: ${existing.name}` : 'New counter'), form, linkForm);
}

// ---- sessions ------------------------------------------------------------------------------

/** A session report as a table (used here and after closing from the till). */
export function renderReport(report, { configName = '' } = {}) {
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

async function sessionsSection(ctx, id) {
  const [sessions, configs] = await Promise.all([ctx.api.sessions(), ctx.api.configs()]);
  const configName = (cid) => nameOf(configs, cid);
  if (id) {
    const report = await ctx.api.sessionReport(id);
    replace(ctx.content,
      sectionHead(`Session #${id}`, h('button', { class: 'btn', onclick: () => window.print() }, 'Print'), h('a', { class: 'btn', href: '#/office/sessions' }, 'All sessions')),
      renderReport(report, { configName: configName(report.session && report.session.config_id) }));
    return;
  }
  sessions.sort((a, b) => (a.opened_at < b.opened_at ? 1 : -1));
  const closedConfigs = configs.filter((c) => !c.open_session_id);
  const configSelect = h('select', { testid: 'bo-session-config', 'aria-label': 'Counter' },
    closedConfigs.map((c) => h('option', { value: String(c.id) }, c.name)));
  const opening = h('input', { type: 'text', inputmode: 'decimal', testid: 'bo-session-opening', placeholder: 'Opening cash', 'aria-label': 'Opening cash' });
  const error = errorLine();
  const openForm = h('form', {
    class: 'inline-form', testid: 'bo-session-form',
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      const cash = opening.value.trim() === '' ? undefined : parseMoney(opening.value);
      if (cash === null) { error.textContent = 'Opening cash: not a valid amount'; return; }
      try {
        await ctx.api.openSession(Number(configSelect.value), cash);
        toast('Session opened', 'info');
        sessionsSection(ctx, null);
      } catch (err) {
        error.textContent = err.message;
      }
    },
  }, configSelect, opening, h('button', { type: 'submit', class: 'btn btn-primary', testid: 'bo-session-open', disabled: !closedConfigs.length }, 'Open session'));

  async function closeSession(s) {
    const counted = await openDialog((close) => {
      const input = h('input', { type: 'text', inputmode: 'decimal', testid: 'counted-cash', placeholder: '0.00', autofocus: true, 'aria-label': 'Counted cash' });
      const err = h('p', { class: 'form-error', role: 'alert' });
      return h('form', {
        class: 'dialog-form',
        onsubmit: (e) => {
          e.preventDefault();
          if (input.value.trim() === '') return close({ counted: null });
          const v = parseMoney(input.value);
          if (v === null) { err.textContent = 'Not a valid amount.'; return undefined; }
          return close({ counted: v });
        },
      }, h('h2', {}, `Close session #${s.id} at ${configName(s.config_id)}`), h('label', {}, 'Counted cash'), input, err,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', onclick: () => close(null) }, 'Cancel'),
        h('button', { type: 'submit', class: 'btn btn-danger', testid: 'close-session-confirm' }, 'Close session')));
    }, { testid: 'close-session', label: 'Close session' });
    if (!counted) return;
    try {
      await ctx.api.closeSession(s.id, counted.counted ?? undefined);
      location.hash = `#/office/sessions/${s.id}`;
    } catch (err) {
      toast(err.message, 'warn');
    }
  }

  replace(ctx.content,
    sectionHead('Sessions'),
    openForm, error,
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'bo-list' },
      h('thead', {}, h('tr', {}, ['#', 'Counter', 'State', 'Opened', 'Closed', 'Opening cash', 'Counted', ''].map((t) => h('th', {}, t)))),
      h('tbody', {}, sessions.length ? sessions.map((s) => h('tr', { testid: 'bo-row', 'data-id': s.id, 'data-state': s.state },
        h('td', {}, String(s.id)),
        h('td', {}, configName(s.config_id)),
        h('td', {}, h('span', { class: ['tag', s.state === 'open' ? 'tag-open' : null] }, s.state)),
        h('td', {}, s.opened_at ? new Date(s.opened_at).toLocaleString() : ''),
        h('td', {}, s.closed_at ? new Date(s.closed_at).toLocaleString() : '—'),
        h('td', { class: 'num' }, formatMoney(s.opening_cash ?? 0)),
        h('td', { class: 'num' }, s.counted_cash == null ? '—' : formatMoney(s.counted_cash)),
        h('td', { class: 'actions' },
          h('a', { class: 'btn btn-small', href: `#/office/sessions/${s.id}`, testid: 'bo-session-report' }, 'Report'),
          s.state === 'open' ? h('button', { class: 'btn btn-small btn-danger-ghost', testid: 'bo-session-close', onclick: () => closeSession(s) }, 'Close…') : null)))
        : h('tr', {}, h('td', { colspan: 8, class: 'empty' }, 'No sessions yet.'))))));
}

// ---- orders and their history ---------------------------------------------------------------

const orderCache = new Map();

async function ordersSection(ctx, id) {
  const configs = await ctx.api.configs();
  await loadLists(ctx, ['products', 'customers', 'payment_methods']);
  const configName = (cid) => nameOf(configs, cid);
  if (id) return orderDetail(ctx, id, configName);

  const state = sessionStorage.getItem('possync:bo-order-state') || 'draft';
  let invoicedOnly = false;
  const tbody = h('tbody', {});
  const tabs = h('div', { class: 'chips', role: 'group', 'aria-label': 'Order state' },
    ['draft', 'paid', 'cancelled'].map((s) => h('button', {
      class: ['chip', s === state ? 'active' : null], testid: `bo-orders-state-${s}`, 'aria-pressed': String(s === state),
      onclick: () => { sessionStorage.setItem('possync:bo-order-state', s); ordersSection(ctx, null); },
    }, s)));
  const orders = await ctx.api.orders(state);
  for (const o of orders) orderCache.set(o.id, o);
  const render = () => {
    const shown = orders.filter((o) => !invoicedOnly || o.invoice).sort((a, b) => (a.updated_at < b.updated_at ? 1 : -1));
    replace(tbody, shown.length ? shown.map((o) => h('tr', {
      testid: 'bo-row', 'data-id': o.id, class: 'clickable', tabindex: '0',
      onclick: () => { location.hash = `#/office/orders/${o.id}`; },
      onkeydown: (e) => { if (e.key === 'Enter') location.hash = `#/office/orders/${o.id}`; },
    },
    h('td', {}, orderLabel(o)),
    h('td', {}, configName(o.origin && o.origin.config_id)),
    h('td', {}, nameOf(ctx.lists.customers, o.customer_id) || '—'),
    h('td', { class: 'num' }, formatMoney(o.totals.total)),
    h('td', {}, o.invoice ? 'yes' : ''),
    h('td', {}, o.updated_at ? new Date(o.updated_at).toLocaleString() : ''),
    h('td', {}, o.updated_by ? o.updated_by.config_name : '')))
      : h('tr', {}, h('td', { colspan: 7, class: 'empty' }, `No ${state} orders.`)));
  };
  render();
  replace(ctx.content,
    sectionHead('Orders', tabs,
      state === 'paid' ? h('label', { class: 'check' }, h('input', { type: 'checkbox', testid: 'bo-orders-invoiced', onchange: (e) => { invoicedOnly = e.target.checked; render(); } }), ' Invoiced only') : null),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'bo-list' },
      h('thead', {}, h('tr', {}, ['Order', 'Counter', 'Customer', 'Total', 'Invoice', 'Last change', 'By'].map((t) => h('th', { class: t === 'Total' ? 'num' : null }, t)))),
      tbody)));
  return undefined;
}

async function orderDetail(ctx, id, configName) {
  let order = orderCache.get(id) || null;
  if (!order) {
    try {
      order = await ctx.api.order(id);
    } catch {
      order = null; // the history alone still tells the story
    }
  }
  const history = await ctx.api.history(id);
  const productName = (pid) => nameOf(ctx.lists.products, pid) || null;
  const lineNames = new Map();
  const rows = history.map((entry) => {
    const op = entry.op || {};
    if (op.kind === 'add_line' && op.line_id) lineNames.set(op.line_id, productName(op.product_id) || `product #${op.product_id}`);
    const text = describeOp(op, {
      productName,
      lineNames,
      customerName: (cid) => nameOf(ctx.lists.customers, cid),
      methodName: (mid) => nameOf(ctx.lists.payment_methods, mid),
    });
    const by = entry.by || {};
    return h('tr', { testid: 'history-row', 'data-version': entry.version },
      h('td', { class: 'num' }, String(entry.version)),
      h('td', {}, entry.at ? new Date(entry.at).toLocaleString() : ''),
      h('td', { testid: 'history-by' }, by.config_name || configName(by.config_id)),
      h('td', { class: 'muted small' }, `${by.terminal ? String(by.terminal).slice(0, 8) : ''}${by.session_id ? ` · session #${by.session_id}` : ''}`),
      h('td', { testid: 'history-what' }, text, h('details', {}, h('summary', {}, 'op'), h('code', {}, JSON.stringify(op)))));
  });
  replace(ctx.content,
    sectionHead(order ? `Order ${orderLabel(order)}` : `Order ${id}`, h('a', { class: 'btn', href: '#/office/orders' }, 'All orders')),
    order ? h('div', { class: 'order-facts', testid: 'bo-order' },
      h('span', {}, `State: ${order.state}`),
      h('span', {}, `Counter: ${configName(order.origin && order.origin.config_id)}`),
      h('span', {}, `Total: ${formatMoney(order.totals.total)} (tax ${formatMoney(order.totals.tax)})`),
      order.customer_id != null ? h('span', {}, `Customer: ${nameOf(ctx.lists.customers, order.customer_id)}`) : null,
      order.paid_by ? h('span', {}, `Paid at ${order.paid_by.config_name}`) : null,
      order.invoice ? h('span', { class: 'tag' }, 'invoice') : null) : null,
    h('h2', {}, 'History'),
    h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'order-history' },
      h('thead', {}, h('tr', {}, ['Version', 'When', 'Counter', 'Terminal', 'What'].map((t) => h('th', {}, t)))),
      h('tbody', {}, rows.length ? rows : h('tr', {}, h('td', { colspan: 5, class: 'empty' }, 'No history.'))))));
}
