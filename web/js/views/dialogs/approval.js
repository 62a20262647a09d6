// approval.js: a manager approves one op at the till. Shown when the server refuses
// an op `forbidden` for rights (a price, a discount, a return at a counter with
// restricted price control; a lock another till holds): the manager picks their
// name (GET /approvers: every active manager, with `has_pin`), types their PIN or
// their password, and the op is sent again, as a new op, with the approval. The
// PIN is offered first to a manager who has one; a manager without a PIN gets the
// password field. A wrong PIN or password says so and lets them try again; too
// many wrong tries say to wait. Neither is ever kept: both fields are cleared
// after each try.

import { h, replace } from '../../dom.js';
import { openDialog } from '../ui.js';

/** The longest password the server takes (possync-core's `Password`). */
const PASSWORD_CHARS_MAX = 256;

/** How `approver` is asked first: 'pin' when they have a PIN, else 'password'. */
export function defaultMethod(approver) {
  return approver && approver.has_pin ? 'pin' : 'password';
}

/** The approval to send for what was typed by `method` ('pin' or 'password'):
 * {approval} or {error} in words. A PIN is trimmed; a password is sent as typed. */
export function approvalFrom(user_id, method, typed) {
  if (method === 'pin') {
    const pin = typed.trim();
    if (!/^[0-9]{4,8}$/.test(pin)) return { error: 'A PIN is 4 to 8 digits.' };
    return { approval: { user_id, pin } };
  }
  if (!typed) return { error: 'Type the manager’s password.' };
  return { approval: { user_id, password: typed } };
}

/** What the dialog says when the server refused the approval ({code, message}). */
export function refusalText(answer, method) {
  if (answer.code === 'forbidden') {
    return method === 'pin' ? 'That PIN is not right for this manager.' : 'That password is not right for this manager.';
  }
  if (answer.code === 'rate_limited') {
    // The server says how long ("… try again in 42 s") when wrong tries are the cause.
    const seconds = /(\d+) s\b/.exec(answer.message || '');
    return seconds
      ? `Too many tries from this till: wait ${seconds[1]} s, then try again.`
      : 'Too many tries: wait a moment, then try again.';
  }
  return answer.message || 'The approval could not be sent.';
}

/** Opens the dialog. `what` says in words what needs the approval; `send(approval)`
 * sends the op with it and resolves {ok} or {ok:false, code, message}. Resolves true
 * when the op went through, null when the cashier gave up. */
export async function askApproval(till, { what, send }) {
  let approvers = [];
  let loadError = '';
  try {
    approvers = (await till.api.get('/approvers')) || [];
  } catch (err) {
    loadError = err.message || 'The managers could not be listed';
  }
  return openDialog((close) => {
    const form = h('form', { class: 'dialog-form', testid: 'approval-form' });
    const message = h('p', { class: 'error', testid: 'approval-error', role: 'alert' }, loadError);
    const manager = h('select', { testid: 'approval-manager', 'aria-label': 'Manager' },
      approvers.map((a) => h('option', { value: String(a.id) }, a.name)));
    const pin = h('input', {
      type: 'password', testid: 'approval-pin', inputmode: 'numeric', autocomplete: 'off',
      maxlength: '8', placeholder: 'PIN', 'aria-label': 'Manager’s PIN', autofocus: true,
    });
    const password = h('input', {
      type: 'password', testid: 'approval-password', autocomplete: 'off',
      maxlength: String(PASSWORD_CHARS_MAX), placeholder: 'Password', 'aria-label': 'Manager’s password',
    });
    const pinField = h('div', { class: 'field' }, h('label', {}, 'PIN'), pin);
    const passwordField = h('div', { class: 'field' }, h('label', {}, 'Password'), password);
    // Only a manager with a PIN has a choice; without one the password is the way.
    const toggle = h('button', { type: 'button', class: 'btn btn-small', testid: 'approval-use-password' });
    const approve = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'approval-ok', disabled: !approvers.length }, 'Approve');

    const chosen = () => approvers.find((a) => String(a.id) === manager.value) || null;
    let method = 'pin';
    const show = (next) => {
      method = next;
      pin.value = '';
      password.value = '';
      pinField.hidden = method !== 'pin';
      passwordField.hidden = method !== 'password';
      toggle.hidden = !(chosen() && chosen().has_pin);
      toggle.textContent = method === 'pin' ? 'Use password instead' : 'Use PIN instead';
    };
    show(defaultMethod(chosen()));
    manager.addEventListener('change', () => {
      message.textContent = '';
      show(defaultMethod(chosen()));
    });
    toggle.addEventListener('click', () => {
      message.textContent = '';
      show(method === 'pin' ? 'password' : 'pin');
      (method === 'pin' ? pin : password).focus();
    });

    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const tried = method;
      const typed = approvalFrom(Number(manager.value), tried, tried === 'pin' ? pin.value : password.value);
      // What was typed is never kept, not even when it was refused here.
      pin.value = '';
      password.value = '';
      if (typed.error) {
        message.textContent = typed.error;
        return;
      }
      approve.disabled = true;
      message.textContent = '';
      const answer = await send(typed.approval);
      approve.disabled = false;
      if (answer.ok) close(true);
      else message.textContent = refusalText(answer, tried);
    });
    replace(form,
      h('h2', {}, 'Manager approval'),
      h('p', { testid: 'approval-what' }, what),
      approvers.length ? h('div', { class: 'field' }, h('label', {}, 'Manager'), manager)
        : h('p', { class: 'muted' }, loadError ? '' : 'No active manager can approve here.'),
      pinField,
      passwordField,
      toggle,
      message,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', testid: 'approval-cancel', onclick: () => close(null) }, 'Cancel'),
        approve));
    return form;
  }, { testid: 'approval-dialog', label: 'Manager approval' });
}
