// customerpicker.js: the customer picker: search by name, email or phone; pick one,
// "No customer", or add a new customer at the counter (name, phone, email) and pick
// it. Resolves with the customer id, null (none) or undefined (closed).

import { h, replace } from '../../dom.js';
import { NAME_CHARS_MAX, charCount } from '../../limits.js';
import { openDialog } from '../ui.js';

/** A new customer as typed, checked: {ok, body} or {ok:false, message} in words. */
export function readNewCustomer({ name, phone, email }) {
  const body = { name: String(name || '').trim() };
  if (!body.name) return { ok: false, message: 'A customer needs a name.' };
  if (charCount(body.name) > NAME_CHARS_MAX) return { ok: false, message: `A name is at most ${NAME_CHARS_MAX} characters.` };
  const p = String(phone || '').trim();
  if (p) {
    if (!/^\+?[0-9 ().\-/]{3,40}$/.test(p)) return { ok: false, message: 'A phone number has digits, spaces and + ( ) - . / only.' };
    body.phone = p;
  }
  const e = String(email || '').trim();
  if (e) {
    if (!/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(e) || charCount(e) > NAME_CHARS_MAX) return { ok: false, message: 'That email address does not look right.' };
    body.email = e;
  }
  return { ok: true, body };
}

export async function pickCustomer(till, current) {
  const picked = await openDialog((close) => {
    const holder = h('div', { class: 'dialog-form dialog-wide' });

    function showPicker() {
      const list = h('ul', { class: 'pick-list', testid: 'customer-list' });
      const input = h('input', {
        type: 'search', testid: 'customer-search', placeholder: 'Name, email or phone', autofocus: true,
        'aria-label': 'Search customers',
        oninput: () => render(),
        onkeydown: (e) => {
          if (e.key === 'Enter') {
            e.preventDefault();
            const first = list.querySelector('button[data-customer-id]');
            if (first) first.click();
          }
        },
      });
      function render() {
        const found = till.catalog.searchCustomers(input.value).slice(0, 200);
        replace(list,
          found.map((c) => h('li', {}, h('button', {
            class: ['pick', c.id === current ? 'active' : null], testid: 'customer-option', 'data-customer-id': c.id,
            onclick: () => close({ id: c.id }),
          }, h('span', { class: 'pick-name' }, c.name), h('span', { class: 'pick-sub' }, [c.email, c.phone].filter(Boolean).join(' · '))))),
          found.length ? null : h('li', { class: 'empty' }, till.catalog.customers.size ? 'No customer matches.' : 'No customers yet.'));
      }
      render();
      replace(holder,
        h('h2', {}, 'Customer'),
        input,
        list,
        h('div', { class: 'dialog-actions' },
          h('button', { class: 'btn', testid: 'customer-new', onclick: () => showForm(input.value) }, '+ New customer'),
          h('span', { class: 'spacer' }),
          h('button', { class: 'btn', testid: 'customer-none', onclick: () => close({ id: null }) }, 'No customer'),
          h('button', { class: 'btn', testid: 'customer-cancel', onclick: () => close(null) }, 'Close')));
      input.focus();
    }

    /** The new-customer form; what was typed in the search becomes the name. */
    function showForm(typed) {
      const looksLikePhone = /^\+?[0-9 ()\-]{3,}$/.test(typed.trim());
      const field = (id, label, props) => {
        const input = h('input', { id, testid: id, autocomplete: 'off', ...props });
        return [input, h('div', { class: 'field' }, h('label', { for: id }, label), input)];
      };
      const [name, nameRow] = field('customer-new-name', 'Name', { type: 'text', value: looksLikePhone ? '' : typed.trim(), autofocus: true });
      const [phone, phoneRow] = field('customer-new-phone', 'Phone', { type: 'tel', value: looksLikePhone ? typed.trim() : '' });
      const [email, emailRow] = field('customer-new-email', 'Email', { type: 'email' });
      const error = h('p', { class: 'form-error', testid: 'customer-new-error', role: 'alert' });
      const save = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'customer-new-save' }, 'Add customer');
      const form = h('form', {
        class: 'dialog-form-inner',
        onsubmit: async (e) => {
          e.preventDefault();
          const read = readNewCustomer({ name: name.value, phone: phone.value, email: email.value });
          if (!read.ok) {
            error.textContent = read.message;
            return;
          }
          save.disabled = true;
          error.textContent = '';
          try {
            const customer = await till.addCustomer(read.body);
            close({ id: customer.id });
          } catch (err) {
            // Nothing typed is lost: the form stays as it was.
            error.textContent = err && err.unreachable
              ? 'The server cannot be reached: a new customer needs it (an existing one can still be picked).'
              : (err && err.message) || 'The customer could not be added.';
            save.disabled = false;
          }
        },
      },
      nameRow, phoneRow, emailRow, error,
      h('div', { class: 'dialog-actions' },
        h('button', { type: 'button', class: 'btn', testid: 'customer-new-back', onclick: () => showPicker() }, 'Back'),
        save));
      form.addEventListener('input', () => { error.textContent = ''; }); // the message was about what is gone
      replace(holder, h('h2', {}, 'New customer'), form);
      (looksLikePhone ? name : name.value ? phone : name).focus();
    }

    showPicker();
    return holder;
  }, { testid: 'customer-picker', label: 'Choose a customer' });
  return picked === null ? undefined : picked.id;
}
