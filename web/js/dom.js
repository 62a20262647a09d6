// dom.js: a tiny element builder for the views, so they read as structure rather than
// as a string of HTML (and nothing a user typed is ever parsed as HTML).
//   h('button', {class: 'key', testid: 'numpad-key-1', onclick: fn}, '1')

/** Create an element. Props: class, testid (data-testid), on* listeners, properties
 * value/checked/disabled/selected/hidden, everything else as attributes (false and
 * null leave them out). Children: nodes, strings, numbers, arrays; null is skipped. */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'class') el.className = Array.isArray(value) ? value.filter(Boolean).join(' ') : value;
    else if (key === 'testid') el.setAttribute('data-testid', value);
    else if (key.startsWith('on') && typeof value === 'function') el.addEventListener(key.slice(2).toLowerCase(), value);
    else if (key === 'value' || key === 'checked' || key === 'disabled' || key === 'selected' || key === 'hidden' || key === 'multiple') el[key] = value;
    else if (key === 'ref' && typeof value === 'function') value(el);
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    if (Array.isArray(child)) append(el, child);
    else if (child instanceof Node) el.appendChild(child);
    else el.appendChild(document.createTextNode(String(child)));
  }
}

/** Replace the children of `el`. */
export function replace(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

/** Coalesce many change notifications into one render per animation frame. A
 * hidden tab gets no animation frames, and a till left in the background must
 * still be current when looked at (and for tests driving two windows), so there
 * a plain timer is used. */
export function frameScheduler(render) {
  let queued = false;
  const run = () => {
    if (!queued) return;
    queued = false;
    render();
  };
  return () => {
    if (queued) return;
    queued = true;
    if (document.visibilityState === 'hidden') setTimeout(run, 0);
    else {
      requestAnimationFrame(run);
      setTimeout(run, 100); // whichever comes first; run() renders once
    }
  };
}

/** True when a key event belongs to a text field (the field handles it). */
export function isTyping(event) {
  const t = event.target;
  if (!t || !t.tagName) return false;
  const tag = t.tagName;
  if (tag === 'TEXTAREA' || tag === 'SELECT' || t.isContentEditable) return true;
  if (tag === 'INPUT') return !['button', 'checkbox', 'radio', 'submit'].includes(t.type);
  return false;
}

/** Till controls that must not take the keyboard focus when tapped or clicked: every
 * button of the till's screens (tiles, numpad keys, methods, chips, order and top bar
 * buttons), order lines and payment lines. A focused button is clicked again by
 * Enter, and by the Enter that ends a barcode scan, which would repeat the last tap.
 * A till is worked by touch and a scanner; keyboard users still reach them with Tab. */
const TAP_WITHOUT_FOCUS = 'button, .line, .pay-entry-line';

/** Keeps taps and clicks inside `root` on till controls from moving the focus. */
export function tapWithoutFocus(root) {
  root.addEventListener('mousedown', (event) => {
    if (event.target && event.target.closest && event.target.closest(TAP_WITHOUT_FOCUS)) event.preventDefault();
  });
}
