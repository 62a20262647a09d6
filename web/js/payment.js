// payment.js: the arithmetic of the payment screen: what is paid, what remains, the
// change due, and whether the payment may be validated. Only cash can be overpaid
// (the difference is given back as change); an invoice needs a customer (the view
// checks that, since it knows the order).

/**
 * @param {number} total         order total in minor units
 * @param {{method_id:number, amount:number}[]} lines  payment lines on screen
 * @param {Map<number,{kind:string}>} methods
 */
export function summarizePayment(total, lines, methods) {
  let paid = 0;
  let cash = 0;
  for (const l of lines) {
    paid += l.amount;
    const m = methods.get(l.method_id);
    if (m && m.kind === 'cash') cash += l.amount;
  }
  // A negative total is a refund: it is paid out exactly, with no change.
  const refund = total < 0;
  const remaining = refund ? Math.min(0, total - paid) : Math.max(0, total - paid);
  const change = refund ? 0 : Math.max(0, paid - total);
  let problem = null;
  const used = lines.filter((l) => l.amount !== 0); // empty lines are left out of the pay op
  if (used.length === 0 && total !== 0) problem = 'Choose a payment method';
  else if (lines.some((l) => !Number.isSafeInteger(l.amount))) problem = 'An amount is not valid';
  else if (used.some((l) => (l.amount < 0) !== (total < 0))) problem = refund ? 'A refund is paid out as negative amounts' : 'An amount is negative';
  else if (refund && paid !== total) problem = 'The refund must equal the total';
  else if (paid < total) problem = 'Payments do not cover the total';
  else if (change > 0 && change > cash) problem = 'Only cash can be more than the total';
  return { total, paid, cash, remaining, change, problem, valid: problem === null };
}

/** The amount a newly chosen method starts with: what is still due, at least 0. */
export function defaultAmount(total, lines) {
  const paid = lines.reduce((s, l) => s + l.amount, 0);
  return total < 0 ? Math.min(0, total - paid) : Math.max(0, total - paid);
}

/** The `pay` op for these lines (zero lines dropped) and invoice choice. */
export function payOp(total, lines, invoice) {
  // The server refuses zero payments; a free order is paid with none at all.
  const kept = lines.filter((l) => l.amount !== 0);
  return {
    kind: 'pay',
    payments: kept.map((l) => ({ method_id: l.method_id, amount: l.amount })),
    expected_total: total,
    invoice: !!invoice,
  };
}
