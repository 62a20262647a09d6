// approval.js: a manager approves one op at the till. Shown when the server refuses
// an op `forbidden` for rights (a price, a discount, a return at a counter with
// restricted price control; a lock another till holds): the manager picks their
// name (GET /approvers: active managers with a PIN), types their PIN, and the op
// is sent again, as a new op, with the approval. A wrong PIN says so and lets them
// try again; the PIN is never kept.

import { h, replace } from '../../dom.js';
import { openDialog } from '../ui.js';

/** Opens the dialog. `what` says in words what needs the approval; `send(approval)`
 * sends the op with it and resolves {ok} or {ok:false, message}. Resolves true when
 * the op went through, null when the cashier gave up. */
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
    const approve = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'approval-ok', disabled: !approvers.length }, 'Approve');
    form.addEventListener('submit', async (e) => {
      e.preventDefault();
      const typed = pin.value.trim();
      if (!/^[0-9]{4,8}$/.test(typed)) {
        message.textContent = 'A PIN is 4 to 8 digits.';
        return;
      }
      approve.disabled = true;
      message.textContent = '';
      const answer = await send({ user_id: Number(manager.value), pin: typed });
      pin.value = '';
      approve.disabled = false;
      if (answer.ok) close(true);
      else message.textContent = answer.code === 'forbidden' ? 'That PIN is not right for this manager.' : answer.message;
    });
    replace(form,
      h('h2', {}, 'Manager approval'),
      h('p', { testid: 'approval-what' }, what),
      approvers.length ? h('div', { class: 'field' }, h('label', {}, 'Manager'), manager)
        : h('p', { class: 'muted' }, loadError ? '' : 'No manager has a PIN yet: a manager sets one in the back office (Users).'),
      h('div', { class: 'field' }, h('label', {}, 'PIN'), pin),
      message,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', testid: 'approval-cancel', onclick: () => close(null) }, 'Cancel'),
        approve));
    return form;
  }, { testid: 'approval-dialog', label: 'Manager approval' });
}
