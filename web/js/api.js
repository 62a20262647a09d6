// api.js: the HTTP side of the contract (base /api/v1): JSON in and out, a bearer
// token, a timeout, and errors turned into ApiError {status, code, message} from the
// contract's {"error": {"code", "message"}} body.

export const API_BASE = '/api/v1';
const TIMEOUT_MS = 15_000;

export class ApiError extends Error {
  constructor(status, code, message) {
    super(message || code);
    this.status = status;
    this.code = code;
  }
  /** No answer at all (offline, server down, timeout), as opposed to a refusal. */
  get unreachable() {
    return this.status === 0;
  }
}

export class Api {
  /** @param {{token?: string, base?: string, fetch?: Function}} o */
  constructor({ token = null, base = API_BASE, fetch = globalThis.fetch.bind(globalThis) } = {}) {
    this.token = token;
    this.base = base;
    this.fetch = fetch;
    /** Requests sent and not yet answered. */
    this.inFlight = new Set();
    this.held = false;
  }

  /** Holds back this token's requests from now on (each fails at once as
   * unreachable, without reaching the server), and resolves once those already
   * sent are answered. For a token about to be revoked, such as a till's when
   * its session closes: a request crossing the close would only be refused,
   * and the browser logs every refusal as an error. */
  async hold() {
    this.held = true;
    await Promise.allSettled([...this.inFlight]);
  }

  /** Sends requests again, after a `hold()` whose reason fell through. */
  release() {
    this.held = false;
  }

  withToken(token) {
    return new Api({ token, base: this.base, fetch: this.fetch });
  }

  async request(method, path, body) {
    return (await this.exchange(method, path, body)).data;
  }

  /** One page of a paged listing (PROTOCOL.md "Paging"): its items, and the
   * path of the next page (from the `Link: rel="next"` header) or null. */
  async page(path) {
    const { data, link } = await this.exchange('GET', path);
    return { items: data || [], next: nextPagePath(link, this.base) };
  }

  /** Every page of a listing, one bounded request after another. */
  async allPages(path) {
    const items = [];
    for (let next = path; next;) {
      const page = await this.page(next);
      items.push(...page.items);
      next = page.next;
    }
    return items;
  }

  /** A text answer (the printable receipt's HTML), refused like any other call. */
  async text(path) {
    return (await this.exchange('GET', path, undefined, { accept: 'text/html', raw: true })).data;
  }

  async exchange(method, path, body, { accept = 'application/json', raw = false, headers: extra = {} } = {}) {
    if (this.held) throw new ApiError(0, 'held', 'The request was held back: this terminal is closing its session');
    const headers = { ...extra, Accept: accept };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let res;
    const sent = this.fetch(this.base + path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: controller.signal,
      credentials: 'same-origin',
    });
    this.inFlight.add(sent);
    try {
      res = await sent;
    } catch (err) {
      throw new ApiError(0, 'unreachable', 'The server cannot be reached');
    } finally {
      clearTimeout(timer);
      this.inFlight.delete(sent);
    }
    const text = await res.text();
    let data = null;
    if (raw && res.ok) return { data: text, link: null };
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = null;
      }
    }
    if (!res.ok) {
      const err = data && data.error ? data.error : {};
      throw new ApiError(res.status, err.code || `http_${res.status}`, err.message || res.statusText || 'Request failed');
    }
    return { data, link: res.headers && res.headers.get ? res.headers.get('Link') : null };
  }

  get(path) { return this.request('GET', path); }
  post(path, body = {}) { return this.request('POST', path, body); }
  put(path, body = {}) { return this.request('PUT', path, body); }
  patch(path, body = {}) { return this.request('PATCH', path, body); }

  // Named calls, so views read like the contract.
  login(login, password) { return this.post('/login', { login, password }); }
  me() { return this.get('/me'); }
  logout() { return this.post('/logout'); }
  configs() { return this.get('/configs'); }
  openSession(config_id, opening_cash) {
    const body = { config_id };
    if (opening_cash !== undefined && opening_cash !== null) body.opening_cash = opening_cash;
    return this.post('/sessions', body);
  }
  closeSession(session_id, counted_cash) {
    const body = {};
    if (counted_cash !== undefined && counted_cash !== null) body.counted_cash = counted_cash;
    return this.post(`/sessions/${session_id}/close`, body);
  }
  sessionReport(session_id) { return this.get(`/sessions/${session_id}/report`); }
  sessions() { return this.get('/sessions'); }
  setSyncWith(config_id, config_ids) { return this.put(`/configs/${config_id}/sync_with`, { config_ids }); }
  orders(state) { return this.get(`/orders?state=${encodeURIComponent(state)}`); }
  ordersPage(state, limit = 100) { return this.page(`/orders?state=${encodeURIComponent(state)}&limit=${limit}`); }
  sessionsPage(limit = 100) { return this.page(`/sessions?limit=${limit}`); }
  order(id) { return this.get(`/orders/${encodeURIComponent(id)}`); }
  paidOrdersPage(limit = 200) { return this.page(`/orders?state=paid&limit=${limit}`); }
  receiptHtml(id) { return this.text(`/orders/${encodeURIComponent(id)}/receipt`); }
  reprint(id) { return this.post(`/orders/${encodeURIComponent(id)}/print`, {}); }
  printerStatus(config_id) { return this.get(`/configs/${config_id}/printer`); }
  history(id) { return this.allPages(`/orders/${encodeURIComponent(id)}/history`); }
  list(collection) { return this.get(`/${collection}`); }
  create(collection, body) { return this.post(`/${collection}`, body); }
  update(collection, id, body) { return this.patch(`/${collection}/${id}`, body); }
}

/** The path (under `base`) of a `Link` header's rel="next" target, or null. */
export function nextPagePath(link, base = API_BASE) {
  if (!link) return null;
  for (const part of link.split(',')) {
    const m = part.match(/<([^>]*)>\s*;\s*rel="?next"?/);
    if (!m) continue;
    let target = m[1];
    try {
      target = new URL(target, 'http://x').pathname + new URL(target, 'http://x').search;
    } catch {
      return null;
    }
    return target.startsWith(base + '/') ? target.slice(base.length) : null;
  }
  return null;
}
