// fixtures.js: shared test data for the unit tests: a small catalog, the identity of
// two counters, an apply context, and a server-shaped draft.

export const TAXES = [
  { id: 1, name: 'VAT 21%', rate: '21', price_included: false },
  { id: 2, name: 'VAT 10% incl.', rate: '10', price_included: true },
  { id: 3, name: 'Eco 5%', rate: '5', price_included: false },
];

export const PRODUCTS = [
  { id: 10, name: 'Coffee', price: 250, tax_ids: [1], category_id: 1, barcode: '5400000000010', on_hand: '0', tracks_stock: false },
  { id: 11, name: 'Croissant', price: 1100, tax_ids: [2, 3], category_id: 2, barcode: null, on_hand: '12', tracks_stock: true },
  { id: 12, name: 'Water', price: 100, tax_ids: [], category_id: 1, barcode: '123', on_hand: '3', tracks_stock: true },
];

export const PAYMENT_METHODS = [
  { id: 1, name: 'Cash', kind: 'cash' },
  { id: 2, name: 'Card', kind: 'card' },
];

export const BY_1 = { session_id: 1, config_id: 1, config_name: 'Counter 1', terminal: 't-1' };
export const BY_2 = { session_id: 2, config_id: 2, config_name: 'Counter 2', terminal: 't-2' };

export const NOW = Date.parse('2025-01-01T12:00:00Z');

export function ctxFor(by = BY_1, extra = {}) {
  return {
    now: NOW,
    by,
    config: { id: by.config_id, auto_share: false },
    products: new Map(PRODUCTS.map((p) => [p.id, p])),
    taxes: new Map(TAXES.map((t) => [t.id, t])),
    payment_methods: new Map(PAYMENT_METHODS.map((m) => [m.id, m])),
    ...extra,
  };
}

/** A draft as the server would send it, at `version`, with the given lines. */
export function serverDraft(id, { version = 1, lines = [], origin = BY_1, shared = false } = {}) {
  const totals = lines.reduce(
    (t, l) => ({ subtotal: t.subtotal + l.subtotal, tax: t.tax + l.tax, total: t.total + l.total }),
    { subtotal: 0, tax: 0, total: 0 },
  );
  return {
    id, reference: 'C1-0001', state: 'draft', version,
    origin: { config_id: origin.config_id, session_id: origin.session_id }, shared,
    customer_id: null, note: '', lines, totals, lock: null, payments: [], change: 0,
    invoice: false, paid_by: null, removed_line_ids: [],
    created_at: '2025-01-01T11:00:00Z', updated_at: '2025-01-01T11:00:00Z', updated_by: origin,
  };
}

/** A coffee line (250, 21% excluded) as the server would send it. */
export function coffeeLine(id, qty = '1') {
  const n = Number(qty);
  const subtotal = 250 * n;
  const tax = Math.round(subtotal * 0.21);
  return {
    id, product_id: 10, name: 'Coffee', qty, unit_price: 250, discount: '0', note: '',
    subtotal, tax, total: subtotal + tax,
    taxes: [{ tax_id: 1, rate: '21', price_included: false }],
  };
}
