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
  }

  withToken(token) {
    return new Api({ token, base: this.base, fetch: this.fetch });
  }

  async request(method, path, body) {
    const headers = { Accept: 'application/json' };
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), TIMEOUT_MS);
    let res;
    try {
      res = await this.fetch(this.base + path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: controller.signal,
        credentials: 'same-origin',
      });
    } catch (err) {
      throw new ApiError(0, 'unreachable', 'The server cannot be reached');
    } finally {
      clearTimeout(timer);
    }
    const text = await res.text();
    let data = null;
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
    return data;
  }

  get(path) { return this.request('GET', path); }
  post(path, body = {}) { return this.request('POST', path, body); }
  put(path, body = {}) { return this.request('PUT', path, body); }
  patch(path, body = {}) { return this.request('PATCH', path, body); }

  // Named calls, so views read like the contract.
  login(login, password) { return this.post('/login', { login, password }); }
  me() { return this.get('/me'); }
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
  order(id) { return this.get(`/orders/${encodeURIComponent(id)}`); }
  history(id) { return this.get(`/orders/${encodeURIComponent(id)}/history`); }
  list(collection) { return this.get(`/${collection}`); }
  create(collection, body) { return this.post(`/${collection}`, body); }
  update(collection, id, body) { return this.patch(`/${collection}/${id}`, body); }
}
