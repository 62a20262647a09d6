// ids.js: client-chosen UUIDs. Orders, lines and ops get UUID v7 (time-ordered, as
// PROTOCOL.md recommends) so the server's indexes stay append-friendly; random bits
// come from crypto.getRandomValues.

/** A UUID v7 string for `ms` (default now). */
export function uuidv7(ms = Date.now(), randomBytes = (n) => crypto.getRandomValues(new Uint8Array(n))) {
  const bytes = randomBytes(16);
  let t = ms;
  for (let i = 5; i >= 0; i -= 1) {
    bytes[i] = t % 256;
    t = Math.floor(t / 256);
  }
  bytes[6] = (bytes[6] & 0x0f) | 0x70; // version 7
  bytes[8] = (bytes[8] & 0x3f) | 0x80; // RFC 4122 variant
  const hex = [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
