// idb.js: the till's durable storage. Drafts (confirmed copies), the outbox of
// pending ops and small cached facts (catalog, session) live in IndexedDB so that a
// reload, a closed tab, a crash or a lost network never loses a draft. Both
// implementations answer the same small interface, used by outbox.js, orderstore.js
// and app.js:
//   getAll(store) -> Promise<object[]>, get(store, key) -> Promise<object|undefined>,
//   put(store, value) -> Promise, delete(store, key) -> Promise, clear(store) -> Promise
// Stores: 'orders' (keyPath id), 'outbox' (keyPath op_id), 'meta' (keyPath key).

export const STORE_NAMES = ['orders', 'outbox', 'meta'];
const KEY_PATHS = { orders: 'id', outbox: 'op_id', meta: 'key' };
const DB_VERSION = 1;

function promisify(request) {
  return new Promise((resolve, reject) => {
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

/** Open (or create) the IndexedDB database `name`. Rejects where IndexedDB is missing. */
export async function openIdbStorage(name, indexedDB = globalThis.indexedDB) {
  if (!indexedDB) throw new Error('IndexedDB is not available');
  const request = indexedDB.open(name, DB_VERSION);
  request.onupgradeneeded = () => {
    const db = request.result;
    for (const store of STORE_NAMES) {
      if (!db.objectStoreNames.contains(store)) {
        db.createObjectStore(store, { keyPath: KEY_PATHS[store] });
      }
    }
  };
  const db = await promisify(request);

  // One transaction per call; IndexedDB runs readwrite transactions on one store in
  // the order they were created, which keeps the outbox's writes in op order.
  function run(store, mode, fn) {
    return new Promise((resolve, reject) => {
      const tx = db.transaction(store, mode);
      let result;
      const req = fn(tx.objectStore(store));
      if (req) req.onsuccess = () => { result = req.result; };
      tx.oncomplete = () => resolve(result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error('transaction aborted'));
    });
  }

  return {
    kind: 'indexeddb',
    getAll: (store) => run(store, 'readonly', (s) => s.getAll()),
    get: (store, key) => run(store, 'readonly', (s) => s.get(key)),
    put: (store, value) => run(store, 'readwrite', (s) => s.put(value)),
    delete: (store, key) => run(store, 'readwrite', (s) => s.delete(key)),
    clear: (store) => run(store, 'readwrite', (s) => s.clear()),
    close: () => db.close(),
  };
}

/** The same interface in memory: for tests, and as a fallback where IndexedDB is
 * refused (some private windows), in which case the app warns the cashier. */
export function memoryStorage() {
  const stores = new Map(STORE_NAMES.map((s) => [s, new Map()]));
  const copy = (v) => (v === undefined ? v : structuredClone(v));
  const of = (store) => {
    const s = stores.get(store);
    if (!s) throw new Error(`unknown store ${store}`);
    return s;
  };
  return {
    kind: 'memory',
    getAll: async (store) => [...of(store).values()].map(copy),
    get: async (store, key) => copy(of(store).get(key)),
    put: async (store, value) => { of(store).set(value[KEY_PATHS[store]], copy(value)); },
    delete: async (store, key) => { of(store).delete(key); },
    clear: async (store) => { of(store).clear(); },
    close: () => {},
  };
}

/** Ask the browser to keep this origin's storage under pressure. Answers whether it
 * is persisted; never throws (the till works either way, only less safely). */
export async function requestPersistence(storage = globalThis.navigator && navigator.storage) {
  try {
    if (!storage || !storage.persist) return false;
    if (storage.persisted && (await storage.persisted())) return true;
    return await storage.persist();
  } catch {
    return false;
  }
}
