// doubles.js: test doubles for the sync tests: a manual clock with timers, and a
// fake of the browser WebSocket that records what the client sends and lets the
// test deliver server messages and closes.

export class ManualTimers {
  constructor(start = 1_000_000) {
    this.time = start;
    this.queue = []; // {id, at, fn}
    this.nextId = 1;
    this.setTimeout = (fn, ms) => {
      const id = this.nextId++;
      this.queue.push({ id, at: this.time + Math.max(0, ms), fn });
      return id;
    };
    this.clearTimeout = (id) => {
      this.queue = this.queue.filter((t) => t.id !== id);
    };
    this.now = () => this.time;
  }

  /** Move the clock forward by ms, running every timer that comes due, in time order. */
  advance(ms) {
    const end = this.time + ms;
    for (;;) {
      this.queue.sort((a, b) => a.at - b.at || a.id - b.id);
      const t = this.queue[0];
      if (!t || t.at > end) break;
      this.queue.shift();
      this.time = t.at;
      t.fn();
    }
    this.time = end;
  }

  pending() {
    return this.queue.length;
  }
}

export class FakeSocket {
  constructor(url) {
    this.url = url;
    this.sent = [];
    this.closed = false;
    this.onopen = this.onmessage = this.onclose = this.onerror = null;
  }
  send(text) {
    if (this.closed) throw new Error('socket closed');
    this.sent.push(JSON.parse(text));
  }
  close() {
    this.closed = true;
  }
  // test side
  open() {
    this.onopen && this.onopen({});
  }
  receive(msg) {
    this.onmessage && this.onmessage({ data: typeof msg === 'string' ? msg : JSON.stringify(msg) });
  }
  serverClose(code = 1006) {
    this.closed = true;
    this.onclose && this.onclose({ code, reason: '' });
  }
  sentOfType(type) {
    return this.sent.filter((m) => m.type === type);
  }
}

/** Let queued promise callbacks (storage writes) run. */
export async function settle() {
  for (let i = 0; i < 5; i += 1) await new Promise((r) => setImmediate(r));
}
