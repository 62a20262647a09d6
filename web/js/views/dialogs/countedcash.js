// countedcash.js: the one counted-cash dialog, used wherever a session is closed (the
// till's menu, the back office's sessions). Empty means "not counted"; anything
// else must be an amount. Before closing it says which drafts stay open and which
// linked counters will still see them (`openDraftsWarning`). Resolves
// {counted: minor units | null}, or null when the cashier cancels.

import { h } from '../../dom.js';
import { parseMoney } from '../../money.js';
import { openDialog } from '../ui.js';

const plural = (n, one, many) => `${n} ${n === 1 ? one : many}`;

/** Joins names as a sentence does: "A", "A and B", "A, B and C". */
export function joinNames(names) {
  if (names.length <= 1) return names.join('');
  return `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/**
 * What closing the session of `config` leaves behind, in a sentence or two, or null
 * when no draft of that counter is open. `drafts` are the open drafts known (any
 * counter's; only those started at `config` count), `linked` the counters linked to
 * it ({id, name}): they keep seeing its shared drafts and may finish them.
 */
export function openDraftsWarning(drafts, config, linked) {
  const own = (drafts || []).filter((o) => o && o.state === 'draft' && o.origin && o.origin.config_id === config.id);
  const total = own.length;
  if (!total) return null;
  const shared = own.filter((o) => o.shared).length;
  const names = joinNames((linked || []).map((c) => c.name));
  const seen = names ? shared : 0;
  const unseen = total - seen;
  const parts = [`${plural(total, 'open order stays', 'open orders stay')} open after closing.`];
  if (seen) {
    const which = seen === total ? (seen === 1 ? 'it' : 'them') : `the ${seen} shared`;
    parts.push(`${names} will still see ${which} and can finish ${seen === 1 ? 'it' : 'them'}.`);
  }
  if (unseen) {
    const which = unseen === total ? (unseen === 1 ? 'It comes' : 'They come') : `The other ${unseen} ${unseen === 1 ? 'comes' : 'come'}`;
    parts.push(`${which} back when ${config.name} opens again.`);
  }
  return parts.join(' ');
}

export function askCountedCash({ title, hint = 'Count the cash in the drawer. Drafts stay drafts and come back at the next session.', warning = null }) {
  return openDialog((close) => {
    const input = h('input', { type: 'text', inputmode: 'decimal', id: 'counted-cash', testid: 'counted-cash', placeholder: '0.00', autofocus: true, autocomplete: 'off' });
    const error = h('p', { class: 'form-error', role: 'alert' });
    return h('form', {
      class: 'dialog-form',
      onsubmit: (e) => {
        e.preventDefault();
        if (input.value.trim() === '') return close({ counted: null });
        const counted = parseMoney(input.value);
        if (counted === null || counted < 0) {
          error.textContent = 'Not a valid amount.';
          input.focus();
          return undefined;
        }
        return close({ counted });
      },
    },
    h('h2', {}, title),
    warning ? h('p', { class: 'notice notice-warn', testid: 'close-session-drafts', role: 'alert' }, warning) : null,
    hint ? h('p', { class: 'muted' }, hint) : null,
    h('label', { for: 'counted-cash' }, 'Counted cash'),
    input, error,
    h('div', { class: 'dialog-actions' },
      h('button', { type: 'button', class: 'btn', testid: 'close-session-cancel', onclick: () => close(null) }, 'Cancel'),
      h('button', { type: 'submit', class: 'btn btn-danger', testid: 'close-session-confirm' }, 'Close session')));
  }, { testid: 'close-session', label: title });
}
