// scanner.js: tells a barcode scanner from a person at the keyboard. A scanner types
// its characters a few milliseconds apart and ends with Enter; a person is slower.
// Keys are held for `gap_ms`; a burst of at least `min_length` fast characters that
// ends with Enter is a barcode, anything else is handed on as ordinary keys (numpad
// digits, shortcuts), only `gap_ms` late. Timers are injected for the tests.

export const SCAN_GAP_MS = 40;
export const SCAN_LENGTH_MIN = 4;

/**
 * @param {object} o
 * @param {(code:string) => void} o.onBarcode
 * @param {(keys:string[]) => void} o.onKeys   ordinary keys, in order
 * @param {{setTimeout:Function, clearTimeout:Function}} [o.timers]
 * @param {() => number} [o.now]
 */
export function createScanDetector({ onBarcode, onKeys, timers = globalThis, now = () => Date.now(), gap_ms = SCAN_GAP_MS, min_length = SCAN_LENGTH_MIN }) {
  let chars = [];
  let lastAt = 0;
  let fast = true; // every gap so far under gap_ms
  let timer = null;

  function release() {
    if (timer !== null) timers.clearTimeout(timer);
    timer = null;
    const keys = chars;
    chars = [];
    fast = true;
    if (keys.length) onKeys(keys);
  }

  /** Feed one key (KeyboardEvent.key). Answers 'barcode' when this Enter ended a
   * barcode (the caller must then keep Enter from doing anything else), else true. */
  function feed(key) {
    const t = now();
    if (key === 'Enter') {
      if (chars.length >= min_length && fast && t - lastAt < gap_ms * 3) {
        if (timer !== null) timers.clearTimeout(timer);
        timer = null;
        const code = chars.join('');
        chars = [];
        fast = true;
        onBarcode(code);
        return 'barcode';
      }
      release();
      onKeys(['Enter']);
      return true;
    }
    if (key.length !== 1) {
      release();
      onKeys([key]);
      return true;
    }
    if (chars.length && t - lastAt >= gap_ms) {
      // A person's pace: what came before is ordinary typing.
      release();
    }
    chars.push(key);
    lastAt = t;
    if (timer !== null) timers.clearTimeout(timer);
    timer = timers.setTimeout(release, gap_ms);
    return true;
  }

  /** Characters held, not yet handed on (a scan may be under way). */
  function pending() {
    return chars.length > 0;
  }

  return { feed, flush: release, pending };
}
