// customerpicker.js: the customer picker: search by name, email or phone; pick one or
// "No customer". Resolves with the customer id, null (none) or undefined (closed).

import { h, replace } from '../../dom.js';
import { openDialog } from '../ui.js';

export async function pickCustomer(till, current) {
  const picked = await openDialog((close) => {
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
    return h('div', { class: 'dialog-form dialog-wide' },
      h('h2', {}, 'Customer'),
      input,
      list,
      h('div', { class: 'dialog-actions' },
        h('button', { class: 'btn', testid: 'customer-none', onclick: () => close({ id: null }) }, 'No customer'),
        h('button', { class: 'btn', testid: 'customer-cancel', onclick: () => close(null) }, 'Close')));
  }, { testid: 'customer-picker', label: 'Choose a customer' });
  return picked === null ? undefined : picked.id;
}
