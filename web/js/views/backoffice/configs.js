// configs.js: the back office's counters (configs): the list with each counter's
// links, receipt printer and price control, a form to create or rename one
// (auto-share, restricted price control, the printer's "host:port"), and its
// "Sync with" multi-select (PUT /configs/{id}/sync_with; links are two-way).

import { h, replace } from '../../dom.js';
import { toast } from '../ui.js';
import { sectionHead, errorLine } from './layout.js';

export const configsSection = { key: 'configs', title: 'Counters', mount: (ctx, id) => mountConfigs(ctx, id) };

async function mountConfigs(ctx, id) {
  const configs = (await ctx.api.configs()).sort((a, b) => a.name.localeCompare(b.name));
  const byId = new Map(configs.map((c) => [c.id, c]));
  if (!id) {
    replace(ctx.content,
      sectionHead('Counters', h('a', { class: 'btn btn-primary', href: '#/office/configs/new', testid: 'bo-new' }, '+ New counter')),
      h('p', { class: 'muted' }, 'Linked counters see and edit each other’s shared drafts. Links work both ways.'),
      h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'bo-list' },
        h('thead', {}, h('tr', {}, h('th', {}, 'Name'), h('th', {}, 'Sync with'), h('th', {}, 'Auto-share'), h('th', {}, 'Price control'), h('th', {}, 'Printer'), h('th', {}, 'Session'))),
        h('tbody', {}, configs.length ? configs.map((c) => h('tr', {
          testid: 'bo-row', 'data-id': c.id, class: 'clickable', tabindex: '0',
          onclick: () => { location.hash = `#/office/configs/${c.id}`; },
          onkeydown: (e) => { if (e.key === 'Enter') location.hash = `#/office/configs/${c.id}`; },
        },
        h('td', {}, c.name),
        h('td', { 'data-col': 'sync_with' }, (c.sync_with || []).map((o) => byId.has(o) ? byId.get(o).name : `#${o}`).join(', ') || h('span', { class: 'muted' }, '—')),
        h('td', { 'data-col': 'auto_share' }, c.auto_share ? 'yes' : 'no'),
        h('td', { 'data-col': 'restrict_price_control' }, c.restrict_price_control ? 'managers' : 'everyone'),
        h('td', { 'data-col': 'printer' }, c.printer || h('span', { class: 'muted' }, '—')),
        h('td', {}, c.open_session_id ? `open (#${c.open_session_id})` : 'closed'))) : h('tr', {}, h('td', { colspan: 6, class: 'empty' }, 'No counters yet.'))))));
    return;
  }

  const existing = id === 'new' ? null : byId.get(Number(id));
  if (id !== 'new' && !existing) throw new Error(`No counter #${id}`);
  const others = configs.filter((c) => !existing || c.id !== existing.id);
  const linked = new Set(existing ? existing.sync_with || [] : []);
  const name = h('input', { type: 'text', id: 'f-name', testid: 'bo-field-name', value: existing ? existing.name : '', required: true });
  const autoShare = h('input', { type: 'checkbox', id: 'f-auto_share', testid: 'bo-field-auto_share', checked: !!(existing && existing.auto_share) });
  const printer = h('input', {
    type: 'text', id: 'f-printer', testid: 'bo-field-printer', value: existing && existing.printer ? existing.printer : '',
    placeholder: '192.168.1.50:9100', maxlength: 262, spellcheck: 'false', autocomplete: 'off',
  });
  const restrict = h('input', { type: 'checkbox', id: 'f-restrict_price_control', testid: 'bo-field-restrict_price_control', checked: !!(existing && existing.restrict_price_control) });
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
          const p = printer.value.trim() || null;
          if (p !== (existing.printer || null)) body.printer = p;
          if (restrict.checked !== !!existing.restrict_price_control) body.restrict_price_control = restrict.checked;
          if (Object.keys(body).length) await ctx.api.patch(`/configs/${existing.id}`, body);
        } else {
          await ctx.api.post('/configs', { name: n, auto_share: autoShare.checked, restrict_price_control: restrict.checked, sync_with: selectedLinks(), printer: printer.value.trim() || null });
        }
        toast('Counter saved', 'info');
        location.hash = '#/office/configs';
      } catch (err) {
        if (err.status === 401) return ctx.app.account.handleUserError(err);
        error.textContent = err.message;
      }
      return undefined;
    },
  },
  h('div', { class: 'field' }, h('label', { for: 'f-name' }, 'Name'), name),
  h('div', { class: 'field field-check' }, autoShare, h('label', { for: 'f-auto_share' }, 'Auto-share new drafts with linked counters')),
  h('div', { class: 'field field-check' }, restrict, h('label', { for: 'f-restrict_price_control' }, 'Prices, discounts and returns need a manager (a manager approves at the till with their PIN or password)')),
  h('div', { class: 'field' }, h('label', { for: 'f-printer' }, 'Receipt printer'), printer,
    h('p', { class: 'muted small' }, 'The network receipt printer of this counter, as host:port (ESC/POS over TCP, usually port 9100). It prints every receipt paid here and opens the cash drawer for cash. Leave empty for none.')),
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
        if (err.status === 401) return ctx.app.account.handleUserError(err);
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
