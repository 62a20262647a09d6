// catalog.js: the products, categories, taxes, customers and payment methods a till
// works with, indexed for the screen: search by name or barcode, filter by category,
// find a product by a scanned barcode. Pure: app.js loads and caches the data.

export class Catalog {
  constructor({ products = [], categories = [], taxes = [], customers = [], payment_methods = [] } = {}) {
    this.products = new Map(products.map((p) => [p.id, p]));
    this.categories = new Map(categories.map((c) => [c.id, c]));
    this.taxes = new Map(taxes.map((t) => [t.id, t]));
    this.customers = new Map(customers.map((c) => [c.id, c]));
    this.payment_methods = new Map(payment_methods.map((m) => [m.id, m]));
    this.byBarcode = new Map();
    for (const p of products) if (p.barcode) this.byBarcode.set(String(p.barcode).trim(), p);
  }

  toJSON() {
    return {
      products: [...this.products.values()],
      categories: [...this.categories.values()],
      taxes: [...this.taxes.values()],
      customers: [...this.customers.values()],
      payment_methods: [...this.payment_methods.values()],
    };
  }

  /** Products matching `query` (name words or barcode prefix) in `category_id`
   * (null: all), sorted by name. */
  search(query = '', category_id = null) {
    const words = normalize(query).split(/\s+/).filter(Boolean);
    const out = [];
    for (const p of this.products.values()) {
      if (category_id !== null && p.category_id !== category_id) continue;
      if (words.length) {
        const name = normalize(p.name);
        const barcode = p.barcode ? String(p.barcode) : '';
        const hit = words.every((w) => name.includes(w)) || (words.length === 1 && barcode.startsWith(words[0]));
        if (!hit) continue;
      }
      out.push(p);
    }
    return out.sort((a, b) => a.name.localeCompare(b.name));
  }

  productByBarcode(code) {
    return this.byBarcode.get(String(code).trim()) || null;
  }

  /** Customers matching a name, email or phone fragment. */
  searchCustomers(query = '') {
    const q = normalize(query);
    return [...this.customers.values()]
      .filter((c) => !q || [c.name, c.email, c.phone].some((f) => f && normalize(f).includes(q)))
      .sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Categories in name order, only those that have products. */
  usedCategories() {
    const used = new Set([...this.products.values()].map((p) => p.category_id));
    return [...this.categories.values()].filter((c) => used.has(c.id)).sort((a, b) => a.name.localeCompare(b.name));
  }
}

function normalize(s) {
  return String(s).toLowerCase().normalize('NFD').replace(/[\u0300-\u036f]/g, '');
}
