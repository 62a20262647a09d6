// lineentry.js: the numpad at work on the selected order line, DOM-free. It keeps
// what the cashier is typing (numpad.js does the keys), and decides per key what
// to send: a set_qty / set_price / set_discount op, nothing (with a message in
// words when the value is refused), or a quantity held back for confirmation.
//
// Three rules a cashier can trust:
//  - Digits belong to one line as it was: when the line changes under the cashier
//    (another counter edits it, the server undoes an edit), the next key starts a
//    new number. `remoteChanged` says so at once; a value that no longer matches
//    what was last typed says so at the next key.
//  - A value the server would refuse is refused here, before it is sent, with one
//    sentence (`hint`), and the typed value stays what it was.
//  - A quantity above `confirm_above_milli` (a slow-typed barcode, a finger that
//    stayed on 0) is held (`staged`) until `confirm()`; `cancel()` puts the line
//    back to the quantity it had before the typing began. Enter cancels too: it is
//    how a barcode ends, never a "yes".
//  - A value that needs a manager's approval here (`hold(op)`: a price or a
//    discount at a counter that keeps them for managers) is held the same way,
//    whole, until `confirm()`: the manager is asked once, for "10" %, never for
//    the "1" typed on the way to it. Nothing of it was sent, so `cancel()` sends
//    nothing back.

import { numpadStart, numpadPress } from './numpad.js';
import { parseQty, formatQty } from './quantity.js';
import { bpToPercent, discountToBp } from './money.js';
import { groupThousands } from './limits.js';

/** The value of `line` the numpad edits in `mode` (milli, minor units or basis points). */
export function lineValue(line, mode) {
  if (mode === 'qty') return parseQty(line.qty) ?? 0;
  if (mode === 'price') return line.unit_price;
  if (mode === 'discount') return discountToBp(line.discount) || 0;
  return 0;
}

/** The text the numpad starts from for `line` in `mode` ("2", "3.40", "10"). */
export function lineText(line, mode) {
  const v = lineValue(line, mode);
  if (mode === 'qty') return formatQty(v);
  if (mode === 'price') return (v / 100).toFixed(2);
  return bpToPercent(v);
}

/** The op that sets `line`'s value in `mode` to `value`. */
export function lineValueOp(line, mode, value) {
  if (mode === 'qty') return { kind: 'set_qty', line_id: line.id, qty: formatQty(value) };
  if (mode === 'price') return { kind: 'set_price', line_id: line.id, unit_price: value };
  return { kind: 'set_discount', line_id: line.id, discount: bpToPercent(value) };
}

/** A quantity for people: 123456000 -> "123,456", 1500 -> "1.5". */
export function quantityWords(milli) {
  const text = formatQty(milli);
  const [whole, fraction] = text.replace('-', '').split('.');
  return `${milli < 0 ? '-' : ''}${groupThousands(Number(whole))}${fraction ? `.${fraction}` : ''}`;
}

export class LineEntry {
  /** @param {{confirm_above_milli: number}} settings */
  constructor({ confirm_above_milli }) {
    this.confirm_above_milli = confirm_above_milli;
    this.mode = 'qty';
    this.pad = numpadStart('qty');
    this.line_id = null;
    this.expect = null; // the value the last accepted key gave the line
    this.before = null; // the line's value when this number began
    this.staged = null; // a quantity waiting for confirmation
    this.hint = '';
  }

  /** Start a new number (same line, same mode). */
  reset() {
    this.pad = numpadStart(this.mode);
    this.expect = null;
    this.before = null;
    this.staged = null;
  }

  setMode(mode) {
    this.mode = mode;
    this.hint = '';
    this.reset();
  }

  select(line_id) {
    if (line_id === this.line_id) return;
    this.line_id = line_id;
    this.hint = '';
    this.reset();
  }

  /** Another counter changed `line_id`: if it is the one being typed, start again.
   * Answers whether the typing was reset. */
  remoteChanged(line_id) {
    if (line_id !== this.line_id || this.pad.fresh) return false;
    this.reset();
    return true;
  }

  /**
   * One numpad key on `line`.
   * @param {string} key             a numpad key ('0'..'9', '.', 'backspace', '+/-')
   * @param {object} line            the selected line as shown now
   * @param {(op:object) => string|null} [check]  why the till would refuse `op`, or null
   * @param {(op:object) => boolean} [hold]  whether `op` waits for confirmation whole
   * @returns {{type:'none'} | {type:'send', op:object} | {type:'stage', value:number} | {type:'remove'}}
   */
  press(key, line, check = () => null, hold = () => false) {
    if (line.id !== this.line_id) this.select(line.id);
    const current = lineValue(line, this.mode);
    if (!this.pad.fresh && this.staged === null && current !== this.expect) {
      // The line is not what this number made it: someone else changed it.
      this.reset();
    }
    // Backspace on a quantity already at zero takes the line away, as on most tills.
    if (key === 'backspace' && this.mode === 'qty' && this.pad.fresh && current === 0) return { type: 'remove' };
    const r = numpadPress(this.pad, key, lineText(line, this.mode));
    if (r.refused) {
      this.hint = r.refused;
      return { type: 'none' };
    }
    if (r.value === undefined) return { type: 'none' };
    if (this.before === null) this.before = current;
    if (this.mode === 'qty' && Math.abs(r.value) > this.confirm_above_milli && r.value !== current) {
      this.pad = r.state;
      this.staged = r.value;
      this.hint = '';
      return { type: 'stage', value: r.value };
    }
    if (r.value === current && this.staged === null) {
      this.pad = r.state;
      this.expect = current;
      this.hint = '';
      return { type: 'none' };
    }
    const op = lineValueOp(line, this.mode, r.value);
    const refused = check(op);
    if (refused) {
      this.hint = refused;
      return { type: 'none' };
    }
    if (hold(op)) {
      this.pad = r.state;
      this.staged = r.value;
      this.hint = '';
      return { type: 'stage', value: r.value };
    }
    this.pad = r.state;
    this.staged = null;
    this.expect = r.value;
    this.hint = '';
    return { type: 'send', op };
  }

  /** The held value is wanted: its op (the next key starts a new number). */
  confirm(line, check = () => null) {
    if (this.staged === null || line.id !== this.line_id) return { type: 'none' };
    const op = lineValueOp(line, this.mode, this.staged);
    const refused = check(op);
    if (refused) {
      this.hint = refused;
      return { type: 'none' };
    }
    this.hint = '';
    this.reset();
    return { type: 'send', op };
  }

  /** The held quantity is not wanted: the line goes back to where this number
   * began (keys below the threshold were already sent). */
  cancel(line) {
    if (this.staged === null) return { type: 'none' };
    const before = this.before;
    this.hint = '';
    this.reset();
    if (!line || line.id !== this.line_id || before === null || before === lineValue(line, this.mode)) return { type: 'none' };
    return { type: 'send', op: lineValueOp(line, this.mode, before) };
  }
}
