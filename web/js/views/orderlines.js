// orderlines.js: the lines of the open order on the till. The list takes the
// height the order panel has left and scrolls; the selected line is kept in view;
// a strip under the list counts the lines and, when some are out of sight,
// "▲ 2 more" / "▼ 4 more" say how many and scroll to them on a tap. (The strip is
// always there, so the list never jumps when the markers come and go, and it never
// covers a line the cashier may tap.) Each line shows its quantity, price, discount and note, and, when
// it applies, who last changed it from another counter and a stock warning.

import { h, replace } from '../dom.js';
import { formatMoney, bpToPercent, discountToBp } from '../money.js';
import { formatQty, parseQty } from '../quantity.js';

/**
 * @param {{onSelect: (line_id: string) => void}} o
 * @returns {{el: Element, render: Function, update: Function, destroy: Function}}
 */
export function orderLines({ onSelect }) {
  const list = h('ul', { class: 'order-lines', testid: 'order-lines', 'aria-label': 'Order lines' });
  const above = h('button', { type: 'button', class: 'lines-more', testid: 'lines-more-above', hidden: true, onclick: () => scrollBy(-1) });
  const below = h('button', { type: 'button', class: 'lines-more', testid: 'lines-more-below', hidden: true, onclick: () => scrollBy(1) });
  const count = h('span', { class: 'lines-count', testid: 'lines-count' });
  const el = h('div', { class: 'order-lines-wrap' }, list, h('div', { class: 'lines-strip' }, above, count, below));

  /** Scroll one screenful up (-1) or down (1). */
  function scrollBy(direction) {
    list.scrollBy({ top: direction * Math.max(40, list.clientHeight - 40), behavior: 'smooth' });
  }

  /** How many lines are not wholly in sight above and below. */
  function update() {
    const box = list.getBoundingClientRect();
    let hiddenAbove = 0;
    let hiddenBelow = 0;
    for (const li of list.querySelectorAll('.line')) {
      const r = li.getBoundingClientRect();
      if (r.top < box.top - 1) hiddenAbove += 1;
      else if (r.bottom > box.bottom + 1) hiddenBelow += 1;
    }
    above.hidden = hiddenAbove === 0;
    below.hidden = hiddenBelow === 0;
    above.textContent = `▲ ${hiddenAbove} more`;
    below.textContent = `▼ ${hiddenBelow} more`;
    above.dataset.count = String(hiddenAbove);
    below.dataset.count = String(hiddenBelow);
    above.setAttribute('aria-label', `${hiddenAbove} more line${hiddenAbove === 1 ? '' : 's'} above`);
    below.setAttribute('aria-label', `${hiddenBelow} more line${hiddenBelow === 1 ? '' : 's'} below`);
  }
  list.addEventListener('scroll', update, { passive: true });
  const resize = typeof ResizeObserver === 'function' ? new ResizeObserver(update) : null;
  if (resize) resize.observe(list);

  /**
   * @param {object|null} order
   * @param {{selected: string|null, flashing: Map, changedBy: Map, stockShort: Map}} marks
   *   changedBy: line_id -> counter name; stockShort: line_id -> units on hand (short of the order)
   */
  function render(order, { selected, flashing, changedBy, stockShort }) {
    const n = order ? order.lines.length : 0;
    count.textContent = n ? `${n} line${n === 1 ? '' : 's'}` : '';
    if (!order || !order.lines.length) {
      replace(list, h('li', { class: 'empty', testid: 'order-empty' }, 'No items yet. Tap a product or scan a barcode.'));
      list.removeAttribute('role');
      update();
      return;
    }
    const scroll = list.scrollTop;
    const now = Date.now();
    replace(list, order.lines.map((l) => {
      const isSelected = l.id === selected;
      const disc = discountToBp(l.discount) || 0;
      const changed = changedBy.get(l.id);
      const short = stockShort.get(l.id);
      return h('li', {
        class: ['line', isSelected ? 'selected' : null, (flashing.get(l.id) || 0) > now ? 'flash' : null],
        testid: 'order-line', 'data-line-id': l.id, 'data-product-id': l.product_id,
        'aria-selected': String(isSelected), role: 'option', tabindex: isSelected ? '0' : '-1',
        onclick: () => onSelect(l.id),
      },
      h('div', { class: 'line-main' },
        h('span', { class: 'line-name', testid: 'line-name' }, l.name),
        h('span', { class: 'line-total money', testid: 'line-total' }, formatMoney(l.total))),
      h('div', { class: 'line-sub' },
        h('span', { testid: 'line-qty', class: 'line-qty' }, formatQty(parseQty(l.qty) ?? 0)),
        ` × ${formatMoney(l.unit_price)}`,
        disc ? h('span', { class: 'line-disc', testid: 'line-discount' }, ` −${bpToPercent(disc)}%`) : null,
        changed ? h('span', { class: 'line-changed', testid: 'line-changed' }, `changed at ${changed}`) : null,
        short !== undefined ? h('span', { class: 'line-stock', testid: 'line-stock' }, `only ${short} in stock`) : null),
      l.note ? h('div', { class: 'line-note' }, l.note) : null);
    }));
    list.setAttribute('role', 'listbox');
    list.scrollTop = scroll;
    const sel = list.querySelector('.line.selected');
    if (sel && sel.scrollIntoView) sel.scrollIntoView({ block: 'nearest' });
    update();
  }

  return { el, render, update, destroy: () => { if (resize) resize.disconnect(); } };
}
