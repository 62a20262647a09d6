// shell.js: the back office's frame (`#/office/<section>[/<id>]`): the top bar, the
// navigation, and the section shown in the content area. Each section is a module
// of its own that exports `{key, title, mount(ctx, id)}`; adding one is an import
// and an entry in SECTIONS. `mount` renders into `ctx.content` and may throw (or
// reject): the error is shown in the content area.
//
// ctx = {app, api (user token), content (element), lookups (lookups.js), fail(err)}

import { h, replace } from '../../dom.js';
import { configsSection } from './configs.js';
import { productsSection, categoriesSection, taxesSection, customersSection, paymentMethodsSection } from './catalog.js';
import { usersSection } from './users.js';
import { sessionsSection } from './sessions.js';
import { ordersSection } from './orders.js';
import { auditSection } from './audit.js';
import { stockSection } from './stock.js';
import { dashboardSection } from './dashboard.js';
import { Lookups } from './lookups.js';

export const SECTIONS = [
  dashboardSection,
  configsSection,
  productsSection,
  stockSection,
  categoriesSection,
  taxesSection,
  customersSection,
  paymentMethodsSection,
  usersSection,
  sessionsSection,
  ordersSection,
  auditSection,
];

export function mountBackOffice(root, app, { section, id }) {
  const api = app.account.userApi();
  const content = h('section', { class: 'office-content', testid: 'bo-content', 'aria-live': 'polite' });
  const nav = h('nav', { class: 'office-nav', 'aria-label': 'Back office' },
    SECTIONS.map(({ key, title }) => h('a', {
      href: `#/office/${key}`, testid: `bo-nav-${key}`, class: key === section ? 'active' : null,
      'aria-current': key === section ? 'page' : null,
    }, title)));
  const el = h('div', { class: 'screen screen-office' },
    h('header', { class: 'topbar topbar-office' },
      h('div', { class: 'topbar-left' }, h('span', { class: 'counter-name' }, 'Back office'), h('span', { class: 'counter-sub' }, app.account.user ? app.account.user.name : '')),
      h('div', { class: 'spacer' }),
      h('div', { class: 'topbar-right' },
        app.till ? h('a', { class: 'btn', href: '#/pos', testid: 'bo-to-till' }, `Till: ${app.till.config.name}`) : h('a', { class: 'btn', href: '#/session', testid: 'bo-to-session' }, 'Open a till'),
        h('button', { class: 'btn', testid: 'logout', onclick: () => app.account.logout() }, 'Sign out'))),
    h('div', { class: 'office' }, nav, content));
  replace(root, el);

  const fail = (err) => {
    if (err && err.status === 401) {
      app.account.handleUserError(err);
      return;
    }
    replace(content, h('p', { class: 'form-error', testid: 'bo-error', role: 'alert' }, err && err.message ? err.message : 'Request failed'));
  };
  const ctx = { app, api, content, lookups: new Lookups(api), fail };
  const chosen = SECTIONS.find((s) => s.key === section);
  replace(content, h('p', { class: 'muted' }, chosen ? 'Loading…' : 'Unknown section.'));
  if (chosen) {
    Promise.resolve().then(() => chosen.mount(ctx, id)).catch(fail);
  }
  return { unmount() {} };
}
