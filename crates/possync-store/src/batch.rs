//! A group commit planned in memory, the same for every database: the batch's
//! entries checked against each other (an order and its history entry agree,
//! one order's entries follow each other version by version, an op is answered
//! once), grouped into one run per order, and encoded into rows. The store then
//! checks each run against the stored version and writes the rows.

use crate::rows::{encode_json, encode_version};
use crate::{CommitEntry, Conflict, HistoryEntry, OpOutcome, StoreError, StoreResult};
use possync_core::*;
use std::collections::{BTreeMap, BTreeSet};

/// A batch checked and encoded without the database.
pub(crate) struct BatchPlan<'a> {
    /// One run per order, in the order each order first appears in the batch.
    pub(crate) orders: Vec<OrderRun<'a>>,
    /// Rejects and unchanged acks, written with `ON CONFLICT DO NOTHING`: the
    /// first answer to an op wins, so a resend answered again keeps the first.
    pub(crate) first_answers: Vec<OutcomeRow>,
    /// The audit trail's entries of the approved ops (action [`APPROVAL_ACTION`]).
    pub(crate) approvals: Vec<ApprovalRow>,
}

/// The audit trail's action for an op a manager approved at a till.
pub(crate) const APPROVAL_ACTION: &str = "op.approve";

/// An audit row for one approved op: the approving manager, the order, and
/// what was approved (never the PIN, which never reaches the store).
pub(crate) struct ApprovalRow {
    pub(crate) at: i64,
    pub(crate) user_id: i64,
    pub(crate) target: String,
    pub(crate) details: String,
}

impl ApprovalRow {
    fn encode(order_id: OrderId, entry: &HistoryEntry) -> StoreResult<Option<ApprovalRow>> {
        let Some(user_id) = entry.approved_by else {
            return Ok(None);
        };
        let details = serde_json::json!({
            "op_id": entry.op_id,
            "kind": entry.op.kind(),
            "version": entry.version,
            "config_id": entry.by.config_id,
            "config_name": entry.by.config_name,
            "session_id": entry.by.session_id,
            "terminal": entry.by.terminal,
        });
        Ok(Some(ApprovalRow {
            at: entry.at.unix_millis(),
            user_id: user_id.0,
            target: format!("order {order_id}"),
            details: encode_json(&details, "approval")?,
        }))
    }
}

/// The accepted entries of one order in a batch, at contiguous versions.
pub(crate) struct OrderRun<'a> {
    pub(crate) order_id_text: String,
    /// The version of the run's first entry: the stored order must be one below it.
    pub(crate) first_version: u64,
    /// The order at the run's last version, the only state the order row needs.
    pub(crate) last: &'a Order,
    /// One row per entry, in version order.
    pub(crate) history: Vec<HistoryRow>,
}

/// A row of `order_ops`, encoded; its order id is the run's.
pub(crate) struct HistoryRow {
    pub(crate) version: i64,
    pub(crate) op_id: String,
    pub(crate) op: String,
    pub(crate) by: String,
    pub(crate) at: i64,
    pub(crate) approved_by: Option<i64>,
}

/// A row of `op_outcomes`, encoded.
pub(crate) struct OutcomeRow {
    pub(crate) op_id: String,
    pub(crate) order_id: String,
    pub(crate) outcome: String,
    pub(crate) at: i64,
}

impl<'a> BatchPlan<'a> {
    /// Checks what can be checked without the database (an order and its
    /// history entry agree, one order's entries follow each other version by
    /// version, an op is answered once) and encodes every row.
    pub(crate) fn new(entries: &'a [CommitEntry]) -> StoreResult<BatchPlan<'a>> {
        let mut orders: Vec<OrderRun<'a>> = Vec::new();
        let mut run_index: BTreeMap<OrderId, usize> = BTreeMap::new();
        // Op ids answered earlier in this batch; answers from earlier batches
        // are caught by the database when the outcome rows are inserted.
        let mut answered: BTreeSet<OpId> = BTreeSet::new();
        let mut first_answers = Vec::new();
        let mut approvals = Vec::new();
        for entry in entries {
            match entry {
                CommitEntry::Accepted { order, entry } => {
                    check_accepted(order, entry)?;
                    approvals.extend(ApprovalRow::encode(order.id, entry)?);
                    let history = HistoryRow::encode(entry)?;
                    match run_index.get(&order.id) {
                        Some(&index) => {
                            let run = &mut orders[index];
                            // Versions are contiguous within the batch as in the database:
                            // an op applies to exactly the version before it.
                            if entry.version != run.last.version + 1 {
                                return Err(Conflict::OrderVersion {
                                    order_id: order.id,
                                    current: run.last.version,
                                    next: entry.version,
                                }
                                .into());
                            }
                            run.last = order;
                            run.history.push(history);
                        }
                        None => {
                            run_index.insert(order.id, orders.len());
                            orders.push(OrderRun {
                                order_id_text: order.id.to_string(),
                                first_version: entry.version,
                                last: order,
                                history: vec![history],
                            });
                        }
                    }
                    if !answered.insert(entry.op_id) {
                        return Err(Conflict::OpAnswered.into());
                    }
                }
                CommitEntry::Rejected {
                    op_id,
                    order_id,
                    at,
                    ..
                }
                | CommitEntry::Unchanged {
                    op_id,
                    order_id,
                    at,
                    ..
                } => {
                    // The first answer wins within the batch too: a later answer
                    // to an op answered earlier in the batch is dropped, as the
                    // `ON CONFLICT DO NOTHING` would drop it one entry at a time.
                    if answered.insert(*op_id) {
                        first_answers.push(OutcomeRow::encode(
                            *op_id,
                            *order_id,
                            &entry.outcome(),
                            *at,
                        )?);
                    }
                }
            }
        }
        Ok(BatchPlan {
            orders,
            first_answers,
            approvals,
        })
    }

    /// The `op_outcomes` rows of the accepted ops, for a store that keeps
    /// them there (PostgreSQL; the SQLite store answers them from the history).
    /// Written with a plain INSERT: an accepted op that already has an answer
    /// must not take effect a second time, so the batch fails and the caller
    /// reloads.
    pub(crate) fn accepted_outcomes(&self) -> StoreResult<Vec<OutcomeRow>> {
        let mut rows = Vec::new();
        for run in &self.orders {
            // A run's versions are contiguous from its first.
            for (version, history) in (run.first_version..).zip(&run.history) {
                let outcome = OpOutcome::Accepted {
                    order_id: run.last.id,
                    version,
                };
                rows.push(OutcomeRow {
                    op_id: history.op_id.clone(),
                    order_id: run.order_id_text.clone(),
                    outcome: encode_json(&outcome, "op outcome")?,
                    at: history.at,
                });
            }
        }
        Ok(rows)
    }
}

/// Refuses a batch of more than [`crate::COMMIT_ENTRIES_PER_BATCH_MAX`]
/// entries; answers whether there is anything to commit.
pub(crate) fn worth_committing(entries: &[CommitEntry]) -> StoreResult<bool> {
    if entries.len() > crate::COMMIT_ENTRIES_PER_BATCH_MAX {
        return Err(StoreError::Invalid(format!(
            "a batch holds at most {} entries",
            crate::COMMIT_ENTRIES_PER_BATCH_MAX
        )));
    }
    Ok(!entries.is_empty())
}

/// What an accepted entry must satisfy on its own.
fn check_accepted(order: &Order, entry: &HistoryEntry) -> StoreResult<()> {
    if entry.version == 0 || order.version != entry.version {
        return Err(StoreError::Invalid(format!(
            "op {}: the order is at version {} but its history entry is version {}",
            entry.op_id, order.version, entry.version
        )));
    }
    // Only the last state of each order in a batch reaches the orders table,
    // whose CHECK ties `paid` to a payer; the states before it are held to the
    // same rule here, so that no version in the history breaks it.
    if (order.state == OrderState::Paid) != order.paid_by.is_some() {
        return Err(StoreError::Invalid(format!(
            "order {} is inconsistent at version {} (for example paid without a payer)",
            order.id, order.version
        )));
    }
    Ok(())
}

impl HistoryRow {
    pub(crate) fn encode(entry: &HistoryEntry) -> StoreResult<HistoryRow> {
        Ok(HistoryRow {
            version: encode_version(entry.version)?,
            op_id: entry.op_id.to_string(),
            op: encode_json(&entry.op, "op")?,
            by: encode_json(&entry.by, "author of an op")?,
            at: entry.at.unix_millis(),
            approved_by: entry.approved_by.map(|user_id| user_id.0),
        })
    }
}

impl OutcomeRow {
    pub(crate) fn encode(
        op_id: OpId,
        order_id: OrderId,
        outcome: &OpOutcome,
        at: Timestamp,
    ) -> StoreResult<OutcomeRow> {
        Ok(OutcomeRow {
            op_id: op_id.to_string(),
            order_id: order_id.to_string(),
            outcome: encode_json(outcome, "op outcome")?,
            at: at.unix_millis(),
        })
    }
}

/// An accepted entry after which its order is paid, where it was not paid
/// after the order's entry before it in the batch. Whether it was paid before
/// the batch's first entry of the order only the database knows, so that
/// candidate is marked ([`PaidCandidate::first_of_order`]) and [`newly_paid`]
/// decides it. `O` is `&Order` or, where the batch crosses to another thread,
/// an owned `Order`.
pub(crate) struct PaidCandidate<O> {
    pub(crate) order: O,
    /// The time of the op that made the order paid.
    pub(crate) at: Timestamp,
    /// The entry is the batch's first of its order.
    pub(crate) first_of_order: bool,
}

/// The [`PaidCandidate`]s of a batch, in batch order. An order may become
/// paid at any of its ops in the batch; most batches have none.
pub(crate) fn paid_candidates(entries: &[CommitEntry]) -> Vec<PaidCandidate<&Order>> {
    let mut paid_after: BTreeMap<OrderId, bool> = BTreeMap::new();
    let mut candidates = Vec::new();
    for entry in entries {
        let CommitEntry::Accepted { order, entry } = entry else {
            continue;
        };
        let is_paid = order.state == OrderState::Paid;
        let before = paid_after.insert(order.id, is_paid);
        if is_paid && before != Some(true) {
            candidates.push(PaidCandidate {
                order,
                at: entry.at,
                first_of_order: before.is_none(),
            });
        }
    }
    candidates
}

/// The orders of a batch that become paid in it, in batch order, each with the
/// state and time of the op that made it paid, so that payments, stock moves
/// and invoices get the rows and numbers they would get if each op were
/// committed on its own. `paid_before` says, for every order of the batch,
/// whether it was paid before the batch.
pub(crate) fn newly_paid<'a, O: std::borrow::Borrow<Order>>(
    candidates: &'a [PaidCandidate<O>],
    paid_before: &BTreeMap<OrderId, bool>,
) -> Vec<(&'a Order, Timestamp)> {
    candidates
        .iter()
        .filter(|candidate| {
            let order = candidate.order.borrow();
            !candidate.first_of_order || paid_before.get(&order.id) != Some(&true)
        })
        .map(|candidate| (candidate.order.borrow(), candidate.at))
        .collect()
}

/// The paid orders that refund drafts created by the batch refund, in id
/// order, each with those drafts: the store checks, with each paid order's row
/// locked, that its refunds do not bring back more than it sold
/// ([`possync_core::check_refunds_within_sold`]).
pub(crate) fn refunded_by_new_drafts(entries: &[CommitEntry]) -> BTreeMap<OrderId, Vec<OrderId>> {
    let mut refunded: BTreeMap<OrderId, Vec<OrderId>> = BTreeMap::new();
    for entry in entries {
        if let CommitEntry::Accepted { order, entry } = entry
            && entry.version == 1
            && let Some(refund_of) = order.refund_of
        {
            refunded.entry(refund_of).or_default().push(order.id);
        }
    }
    refunded
}

/// The sessions whose ops the batch accepts, in id order: each must still be
/// open when the batch commits (PROTOCOL.md: an op is committed before its
/// session's close, or refused `session_closed`).
pub(crate) fn accepting_sessions(entries: &[CommitEntry]) -> BTreeSet<SessionId> {
    entries
        .iter()
        .filter_map(|entry| match entry {
            CommitEntry::Accepted { entry, .. } => Some(entry.by.session_id),
            CommitEntry::Rejected { .. } | CommitEntry::Unchanged { .. } => None,
        })
        .collect()
}
