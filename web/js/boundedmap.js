// boundedmap.js: a Map that keeps at most `max_entries` entries, dropping the least
// recently used first. For caches that live as long as the page (the back office's
// orders), so a long day of browsing never grows memory without end.

export class BoundedMap {
  constructor(max_entries) {
    if (!Number.isInteger(max_entries) || max_entries < 1) throw new RangeError('max_entries must be a positive integer');
    this.max_entries = max_entries;
    this.map = new Map();
  }

  get size() {
    return this.map.size;
  }

  has(key) {
    return this.map.has(key);
  }

  /** The value, and `key` becomes the most recently used. */
  get(key) {
    if (!this.map.has(key)) return undefined;
    const value = this.map.get(key);
    this.map.delete(key);
    this.map.set(key, value);
    return value;
  }

  set(key, value) {
    this.map.delete(key);
    this.map.set(key, value);
    while (this.map.size > this.max_entries) this.map.delete(this.map.keys().next().value);
    return this;
  }

  delete(key) {
    return this.map.delete(key);
  }

  keys() {
    return this.map.keys();
  }
}
