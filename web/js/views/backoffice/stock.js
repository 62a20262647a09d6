// stock.js: the back office's stock (`#/office/stock[/<product id>]`): every tracked
// product with its on-hand, low ones (at or below their threshold) highlighted and
// listed first; a product's page has the adjustment form (a delivery, a count,
// damage, a loss, a correction) and its moves, newest first, a page at a time
// (`GET /products/{id}/stock_moves`): sales and refunds with their receipt
// numbers, adjustments with who made them and why.

import { h, replace } from '../../dom.js';
import { parseQty, formatQty } from '../../quantity.js';
import { toast } from '../ui.js';
import { nameIn } from './lookups.js';
import { sectionHead, errorLine, linkRow, listTable, emptyRow } from './layout.js';

export const stockSection = { key: 'stock', title: 'Stock', mount: (ctx, id) => mountStock(ctx, id) };

/** The reasons a manager may give, in the shop's words, and how the quantity is typed:
 * `counted` (what is on the shelf), `in` or `out` (a positive number of units, moved
 * that way), or `signed` (either way). */
export const ADJUSTMENTS = [
  { reason: 'delivery', label: 'Delivery', amount: 'in', help: 'Units received' },
  { reason: 'count', label: 'Count', amount: 'counted', help: 'Units counted on the shelf' },
  { reason: 'damage', label: 'Damaged', amount: 'out', help: 'Units thrown away' },
  { reason: 'loss', label: 'Lost', amount: 'out', help: 'Units missing' },
  { reason: 'correction', label: 'Correction', amount: 'signed', help: 'Units to add (negative to remove); say why in the note' },
];

/** A move's reason as the list shows it. */
export const REASON_LABELS = {
  sale: 'Sale', refund: 'Refund', count: 'Count', delivery: 'Delivery', damage: 'Damaged', loss: 'Lost', correction: 'Correction',
};

/** Whether a product is low: tracked, with a threshold, and on hand at or below it. */
export function isLow(product) {
  if (!product.tracks_stock || product.low_stock == null) return false;
  const onHand = parseQty(product.on_hand);
  const threshold = parseQty(product.low_stock);
  return onHand !== null && threshold !== null && onHand <= threshold;
}

/** The body of `POST /products/{id}/stock_moves` for a reason, a typed quantity and a
 * note; throws Error with a message for the manager when the quantity does not fit. */
export function adjustmentBody(reason, typed, note) {
  const kind = ADJUSTMENTS.find((a) => a.reason === reason);
  if (!kind) throw new Error('Choose a reason');
  const milli = parseQty(typed);
  if (milli === null) throw new Error('Not a valid quantity');
  const body = { reason };
  if (note.trim()) body.note = note.trim();
  switch (kind.amount) {
    case 'counted':
      if (milli < 0) throw new Error('A count cannot be negative');
      body.counted = formatQty(milli);
      return body;
    case 'in':
    case 'out':
      if (milli <= 0) throw new Error('Type how many units, more than zero');
      body.qty = formatQty(kind.amount === 'out' ? -milli : milli);
      return body;
    default:
      if (milli === 0) throw new Error('Type how many units to add or remove');
      if (!body.note) throw new Error('Say why in the note');
      body.qty = formatQty(milli);
      return body;
  }
}

/** A signed quantity as a move shows it: "+24", "-3". */
export function signedQty(qty) {
  const milli = parseQty(qty) ?? 0;
  return milli > 0 ? `+${formatQty(milli)}` : formatQty(milli);
}

async function mountStock(ctx, id) {
  const products = (await ctx.api.list('products')).filter((p) => p.tracks_stock);
  if (id) {
    const product = products.find((p) => String(p.id) === id);
    if (!product) throw new Error(`No tracked product #${id}`);
    return mountProductStock(ctx, product);
  }
  // Low ones first, then by name.
  const sorted = [...products].sort((a, b) => (isLow(b) - isLow(a)) || a.name.localeCompare(b.name));
  const nLow = sorted.filter(isLow).length;
  const rows = sorted.map((p) => linkRow(`#/office/stock/${p.id}`,
    { testid: 'stock-row', 'data-product-id': p.id, 'data-low': String(isLow(p)), class: ['clickable', isLow(p) ? 'row-low' : null] },
    h('td', { 'data-col': 'name' }, p.name, isLow(p) ? h('span', { class: 'tag tag-low', testid: 'stock-low' }, 'Low') : null),
    h('td', { class: 'num', 'data-col': 'on_hand' }, formatQty(parseQty(p.on_hand) ?? 0)),
    h('td', { class: 'num', 'data-col': 'low_stock' }, p.low_stock == null ? '—' : formatQty(parseQty(p.low_stock) ?? 0))));
  replace(ctx.content,
    sectionHead('Stock', h('span', { class: ['tag', nLow ? 'tag-low' : 'tag-open'], testid: 'stock-low-count' }, nLow ? `${nLow} low` : 'None low')),
    h('p', { class: 'muted' }, 'Products that track stock. Set "Low stock at" on a product to be warned here; open a product to adjust its stock and see its moves.'),
    listTable(['Product', ['On hand', 'num'], ['Low stock at', 'num']], h('tbody', {}, rows.length ? rows : emptyRow(3, 'No product tracks stock.'))));
  return undefined;
}

async function mountProductStock(ctx, product) {
  const path = `/products/${product.id}/stock_moves?limit=50`;
  const [first, users] = await Promise.all([ctx.api.page(path), ctx.api.list('users')]);
  let next = first.next;

  const onHand = h('strong', { testid: 'stock-on-hand' }, formatQty(parseQty(product.on_hand) ?? 0));
  const lowTag = h('span', { class: 'tag tag-low', testid: 'stock-low', hidden: !isLow(product) }, 'Low');
  const showLevel = (p) => {
    onHand.textContent = formatQty(parseQty(p.on_hand) ?? 0);
    lowTag.hidden = !isLow(p);
  };

  const moveRow = (m) => h('tr', { testid: 'stock-move', 'data-reason': m.reason, 'data-id': m.id },
    h('td', {}, m.at ? new Date(m.at).toLocaleString() : ''),
    h('td', { testid: 'stock-move-reason' }, REASON_LABELS[m.reason] || m.reason),
    h('td', { class: 'num', testid: 'stock-move-qty' }, signedQty(m.qty)),
    h('td', {}, m.receipt_number || ''),
    h('td', {}, m.user_id == null ? '' : nameIn(users, m.user_id)),
    h('td', { testid: 'stock-move-note' }, m.note || ''));
  const tbody = h('tbody', {}, first.items.length ? first.items.map(moveRow) : emptyRow(6, 'No moves yet.'));
  const more = h('button', { type: 'button', class: 'btn', testid: 'bo-load-more', hidden: !next }, 'Load more');
  more.addEventListener('click', async () => {
    more.disabled = true;
    try {
      const page = await ctx.api.page(next);
      for (const m of page.items) tbody.append(moveRow(m));
      next = page.next;
      more.hidden = !next;
    } catch (err) {
      toast(err.message, 'warn');
    }
    more.disabled = false;
  });

  const reason = h('select', { id: 'adjust-reason', testid: 'adjust-reason' },
    ADJUSTMENTS.map((a) => h('option', { value: a.reason }, a.label)));
  const qtyLabel = h('label', { for: 'adjust-qty' });
  const qty = h('input', { type: 'text', inputmode: 'decimal', id: 'adjust-qty', testid: 'adjust-qty', autocomplete: 'off' });
  const note = h('input', { type: 'text', id: 'adjust-note', testid: 'adjust-note', maxlength: '1000', placeholder: 'Supplier note, what happened…' });
  const error = errorLine();
  const save = h('button', { type: 'submit', class: 'btn btn-primary', testid: 'adjust-save' }, 'Record');
  const followReason = () => { qtyLabel.textContent = ADJUSTMENTS.find((a) => a.reason === reason.value).help; };
  reason.addEventListener('change', followReason);
  followReason();
  const form = h('form', {
    class: 'office-form', testid: 'adjust-form',
    onsubmit: async (e) => {
      e.preventDefault();
      error.textContent = '';
      let body;
      try {
        body = adjustmentBody(reason.value, qty.value, note.value);
      } catch (err) {
        error.textContent = err.message;
        return;
      }
      save.disabled = true;
      try {
        const adjusted = await ctx.api.post(`/products/${product.id}/stock_moves`, body);
        product = { ...product, on_hand: adjusted.on_hand };
        showLevel(product);
        if (tbody.querySelector('td.empty')) replace(tbody);
        tbody.prepend(moveRow(adjusted.move));
        qty.value = '';
        note.value = '';
        toast(`${product.name}: ${signedQty(adjusted.move.qty)}, ${formatQty(parseQty(adjusted.on_hand) ?? 0)} on hand`, 'info');
      } catch (err) {
        if (err.status === 401) {
          ctx.app.account.handleUserError(err);
          return;
        }
        error.textContent = err.message;
      }
      save.disabled = false;
    },
  },
  h('h2', {}, 'Adjust stock'),
  h('div', { class: 'field' }, h('label', { for: 'adjust-reason' }, 'Reason'), reason),
  h('div', { class: 'field' }, qtyLabel, qty),
  h('div', { class: 'field' }, h('label', { for: 'adjust-note' }, 'Note'), note),
  error,
  h('div', { class: 'form-actions' }, save));

  replace(ctx.content,
    sectionHead(`Stock: ${product.name}`, h('a', { class: 'btn', href: `#/office/products/${product.id}` }, 'Edit product'), h('a', { class: 'btn', href: '#/office/stock' }, 'All stock')),
    h('p', { class: 'stock-level' }, 'On hand ', onHand, product.low_stock == null ? '' : ` · low at ${formatQty(parseQty(product.low_stock) ?? 0)} `, lowTag),
    form,
    h('h2', {}, 'Moves'),
    listTable(['When', 'Reason', ['Qty', 'num'], 'Receipt', 'By', 'Note'], tbody),
    h('div', { class: 'form-actions' }, more));
}
