// patch.js: applies a server `change` message to the confirmed copy of an order.
// PROTOCOL.md: applying every patch in version order to the order at the previous
// version yields exactly the server's order. Header fields are assigned, lines in
// `upsert_lines` replace the line with the same id in place (keeping the order in
// which lines were added) or are appended, and `remove_lines` are dropped.

/**
 * Classify a change against the confirmed copy: 'apply' (next version),
 * 'duplicate' (already have it), or 'gap' (missing versions or no base: resync).
 */
export function classifyChange(confirmed, change) {
  if (!confirmed) return 'gap';
  if (change.version <= confirmed.version) return 'duplicate';
  if (change.version === confirmed.version + 1) return 'apply';
  return 'gap';
}

/** The order after `change`; the input is not mutated. */
export function applyPatch(order, change) {
  const patch = change.patch || {};
  const next = { ...order, ...(patch.header || {}) };
  let lines = order.lines.slice();

  for (const line of patch.upsert_lines || []) {
    const i = lines.findIndex((l) => l.id === line.id);
    if (i >= 0) lines[i] = { ...line };
    else lines.push({ ...line });
  }
  const removed = patch.remove_lines || [];
  if (removed.length) {
    const gone = new Set(removed);
    lines = lines.filter((l) => !gone.has(l.id));
    // removed_line_ids is an extra field of the order object; keep it current so the
    // optimistic apply answers `line_removed` for edits of a line removed elsewhere,
    // unless the server sent its own list in the header.
    if (!(patch.header && 'removed_line_ids' in patch.header)) {
      const known = new Set(order.removed_line_ids || []);
      next.removed_line_ids = [...(order.removed_line_ids || []), ...removed.filter((id) => !known.has(id))];
    }
  }
  next.lines = lines;
  next.version = change.version;
  if (change.by && !(patch.header && 'updated_by' in patch.header)) next.updated_by = change.by;
  if (change.at && !(patch.header && 'updated_at' in patch.header)) next.updated_at = change.at;
  return next;
}
