// layout.js: the pieces every back-office section is built from: its heading with
// actions, the error line, and a table whose rows open a detail page.

import { h } from '../../dom.js';

export function sectionHead(title, ...actions) {
  return h('div', { class: 'office-head' }, h('h1', {}, title), h('div', { class: 'spacer' }), actions);
}

export function errorLine() {
  return h('p', { class: 'form-error', testid: 'bo-error', role: 'alert' });
}

/** A table row (`bo-row`) that opens `href` on click or Enter. */
export function linkRow(href, props, ...cells) {
  const open = () => { location.hash = href; };
  return h('tr', {
    testid: 'bo-row', class: 'clickable', tabindex: '0', ...props,
    onclick: open,
    onkeydown: (e) => { if (e.key === 'Enter') open(); },
  }, cells);
}

/** The list table of a section: head labels (strings or [label, class]) and body. */
export function listTable(headings, body) {
  return h('div', { class: 'table-wrap' }, h('table', { class: 'table', testid: 'bo-list' },
    h('thead', {}, h('tr', {}, headings.map((heading) => (Array.isArray(heading)
      ? h('th', { class: heading[1] }, heading[0])
      : h('th', {}, heading))))),
    body));
}

/** The single row of an empty table. */
export function emptyRow(columns, text) {
  return h('tr', {}, h('td', { colspan: columns, class: 'empty' }, text));
}
