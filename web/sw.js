// sw.js: the service worker that keeps the till's own files (the page, its styles
// and modules) in the browser, so a till reloaded while the server or the network
// is down still starts, from IndexedDB, with every draft and pending change, and
// sends them when the server is back. Network first: while the server answers, the
// till always runs today's files (and the copy is refreshed); only when it does not
// answer is the copy used. The API and the WebSocket are never touched.
// A classic script (not a module) so every browser that has service workers runs it.

const CACHE_NAME = 'possync-shell-v1';
const NETWORK_TIMEOUT_MS = 5000;

// Every file the till needs to start. web/tests/sw.test.js checks this list
// against the files in web/, so a new module cannot be forgotten here.
const SHELL_FILES = [
  '/',
  '/css/app.css',
  '/js/api.js',
  '/js/app.js',
  '/js/app/account.js',
  '/js/app/lifecycle.js',
  '/js/app/profile.js',
  '/js/app/router.js',
  '/js/app/screens.js',
  '/js/apply.js',
  '/js/boundedmap.js',
  '/js/catalog.js',
  '/js/charts.js',
  '/js/dom.js',
  '/js/idb.js',
  '/js/ids.js',
  '/js/limits.js',
  '/js/lineentry.js',
  '/js/money.js',
  '/js/numpad.js',
  '/js/orderstore.js',
  '/js/outbox.js',
  '/js/patch.js',
  '/js/payment.js',
  '/js/quantity.js',
  '/js/scanner.js',
  '/js/sync.js',
  '/js/till.js',
  '/js/totals.js',
  '/js/views/backoffice/audit.js',
  '/js/views/backoffice/catalog.js',
  '/js/views/backoffice/configs.js',
  '/js/views/backoffice/dashboard.js',
  '/js/views/backoffice/fields.js',
  '/js/views/backoffice/layout.js',
  '/js/views/backoffice/lookups.js',
  '/js/views/backoffice/orders.js',
  '/js/views/backoffice/resource.js',
  '/js/views/backoffice/sessions.js',
  '/js/views/backoffice/shell.js',
  '/js/views/backoffice/stock.js',
  '/js/views/backoffice/users.js',
  '/js/views/dialogs/approval.js',
  '/js/views/dialogs/cashmove.js',
  '/js/views/dialogs/countedcash.js',
  '/js/views/dialogs/customerpicker.js',
  '/js/views/dialogs/refund.js',
  '/js/views/dialogs/sessionreport.js',
  '/js/views/dialogs/tillsettings.js',
  '/js/views/login.js',
  '/js/views/orderlines.js',
  '/js/views/orders.js',
  '/js/views/paid.js',
  '/js/views/payment.js',
  '/js/views/pos.js',
  '/js/views/receipt.js',
  '/js/views/session.js',
  '/js/views/topbar.js',
  '/js/views/ui.js',
  '/js/wording.js',
];

/** The cache key of a request: the page itself for every navigation (`/?t=2`,
 * `/#/pos`), the path without query for the files. Undefined: not ours to serve. */
function shellKey(request, origin) {
  if (request.method !== 'GET') return undefined;
  const url = new URL(request.url);
  if (url.origin !== origin) return undefined;
  if (url.pathname === '/api' || url.pathname.startsWith('/api/')) return undefined;
  if (request.mode === 'navigate' || url.pathname === '/index.html') return '/';
  return url.pathname;
}

function fetchWithTimeout(request) {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), NETWORK_TIMEOUT_MS);
  return fetch(request, { signal: controller.signal }).finally(() => clearTimeout(timer));
}

async function networkFirst(request, key) {
  const cache = await caches.open(CACHE_NAME);
  try {
    const response = await fetchWithTimeout(request);
    if (response.ok) await cache.put(key, response.clone());
    return response;
  } catch (err) {
    const kept = await cache.match(key);
    if (kept) return kept;
    throw err;
  }
}

if (typeof self !== 'undefined' && typeof self.addEventListener === 'function') {
  self.addEventListener('install', (event) => {
    event.waitUntil(caches.open(CACHE_NAME).then((cache) => cache.addAll(SHELL_FILES)).then(() => self.skipWaiting()));
  });

  self.addEventListener('activate', (event) => {
    event.waitUntil(caches.keys()
      .then((names) => Promise.all(names.filter((n) => n.startsWith('possync-shell-') && n !== CACHE_NAME).map((n) => caches.delete(n))))
      .then(() => self.clients.claim()));
  });

  self.addEventListener('fetch', (event) => {
    const key = shellKey(event.request, self.location.origin);
    if (key === undefined) return; // the browser does it as if there were no worker
    event.respondWith(networkFirst(event.request, key));
  });
}

// For web/tests/sw.test.js (Node): nothing above runs there but these.
if (typeof module !== 'undefined') module.exports = { SHELL_FILES, shellKey };
