// lookups.js: the lists a back-office page needs to name things (categories, taxes,
// customers, payment methods...), each loaded once per page, and names by id.

export class Lookups {
  /** @param {import('../../api.js').Api} api  with the user token */
  constructor(api) {
    this.api = api;
    this.lists = {};
  }

  /** Loads the named collections (`GET /<name>`) not loaded yet. */
  async load(names) {
    await Promise.all(names.filter((name) => !this.lists[name]).map(async (name) => {
      this.lists[name] = await this.api.list(name);
    }));
  }

  /** A loaded collection (an empty one when it was not loaded). */
  get(name) {
    return this.lists[name] || [];
  }

  /** Replaces a collection with rows the page fetched itself. */
  set(name, rows) {
    this.lists[name] = rows;
  }

  /** The name of `id` in `list` ('' for none, `#id` for one not in the list). */
  name(listName, id) {
    return nameIn(this.lists[listName], id);
  }
}

export function nameIn(list, id) {
  const found = (list || []).find((x) => x.id === id);
  return found ? found.name : id == null ? '' : `#${id}`;
}
