//! The simulated store: what has been made durable, with the same refusals
//! as a real one (a version that is not the next, a second outcome for an
//! accepted op id), and the answers the node asks for.

use possync_core::*;
use possync_engine::{ConfigInfo, EngineCatalog, StoreAnswer, StoreRequest, TokenKey};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Default)]
pub struct DurableStore {
    pub orders: BTreeMap<OrderId, Order>,
    pub history: BTreeMap<OrderId, Vec<HistoryEntry>>,
    pub outcomes: BTreeMap<OpId, OpOutcome>,
    pub bindings: BTreeMap<TerminalId, TokenKey>,
    pub links: SyncLinks,
    pub links_ever: SyncLinks,
    pub configs: Vec<ConfigInfo>,
    pub catalog: EngineCatalog,
    /// The commit (counted from 1) each history entry was written in.
    pub committed_in: BTreeMap<OpId, u64>,
    /// Closed sessions and the commit that closed them.
    pub closed_sessions: BTreeMap<SessionId, u64>,
    pub commits: u64,
}

/// Why the store refused a batch (a real store answers these as conflicts).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refused(pub String);

impl DurableStore {
    /// One transaction: every entry, or none when one breaks a rule.
    pub fn commit(&mut self, entries: &[CommitEntry]) -> Result<(), Refused> {
        let mut versions: BTreeMap<OrderId, u64> = BTreeMap::new();
        let mut accepted_ops = BTreeSet::new();
        for entry in entries {
            if let CommitEntry::Accepted { order, entry } = entry {
                let stored = versions
                    .get(&order.id)
                    .copied()
                    .unwrap_or_else(|| self.orders.get(&order.id).map_or(0, |order| order.version));
                if stored + 1 != entry.version {
                    return Err(Refused(format!(
                        "{}: version {} after {stored}",
                        order.id, entry.version
                    )));
                }
                if self.outcomes.contains_key(&entry.op_id) || !accepted_ops.insert(entry.op_id) {
                    return Err(Refused(format!("op {} has an outcome", entry.op_id)));
                }
                versions.insert(order.id, entry.version);
            }
        }
        self.commits += 1;
        for entry in entries {
            match entry {
                CommitEntry::Accepted { order, entry } => {
                    self.orders.insert(order.id, order.clone());
                    self.history
                        .entry(order.id)
                        .or_default()
                        .push(entry.clone());
                    self.outcomes.insert(
                        entry.op_id,
                        OpOutcome::Accepted {
                            order_id: order.id,
                            version: entry.version,
                        },
                    );
                    self.committed_in.insert(entry.op_id, self.commits);
                }
                CommitEntry::Rejected { op_id, .. } | CommitEntry::Unchanged { op_id, .. } => {
                    self.outcomes
                        .entry(*op_id)
                        .or_insert_with(|| entry.outcome());
                }
            }
        }
        Ok(())
    }

    pub fn close_session(&mut self, session_id: SessionId) -> bool {
        if self.closed_sessions.contains_key(&session_id) {
            return false;
        }
        self.closed_sessions.insert(session_id, self.commits);
        true
    }

    pub fn answer(&mut self, request: &StoreRequest) -> StoreAnswer {
        match request {
            StoreRequest::Read { op_ids, order_ids } => StoreAnswer::Read {
                outcomes: op_ids
                    .iter()
                    .filter_map(|op_id| Some((*op_id, self.outcomes.get(op_id)?.clone())))
                    .collect(),
                orders: order_ids
                    .iter()
                    .filter_map(|order_id| self.orders.get(order_id).cloned())
                    .collect(),
            },
            StoreRequest::BindTerminal { terminal, token } => {
                let owner = self
                    .bindings
                    .entry(*terminal)
                    .or_insert_with(|| token.clone())
                    .clone();
                StoreAnswer::TerminalBound {
                    terminal: *terminal,
                    owner,
                }
            }
            StoreRequest::LoadLinks => StoreAnswer::Links(self.links.clone()),
            StoreRequest::LoadConfigs => StoreAnswer::Configs(self.configs.clone()),
            StoreRequest::LoadCatalog => StoreAnswer::Catalog(self.catalog.clone()),
        }
    }

    pub fn drafts(&self) -> Vec<Order> {
        self.orders
            .values()
            .filter(|order| order.is_draft())
            .cloned()
            .collect()
    }
}
