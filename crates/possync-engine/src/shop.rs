//! What a node knows of the shop: configs and their links, the catalog ops
//! refer to, every open draft whole, and a bounded cache of finished orders.
//! And the one decision it makes with that: what an op does to an order.

use crate::bounded::FifoMap;
use crate::catalog::EngineCatalog;
use crate::io::{ConfigInfo, Source};
use possync_core::*;
use possync_protocol::{OpRequest, RemovedReason, ServerMessage};
use std::collections::{BTreeMap, BTreeSet};

/// A finished order, as much as is needed to answer ops and catch-ups about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinishedOrder {
    pub state: OrderState,
    pub origin_config_id: ConfigId,
    pub paid_by_config_id: Option<ConfigId>,
    pub shared: bool,
    pub version: u64,
    pub updated_by: By,
}

impl FinishedOrder {
    pub fn of(order: &Order) -> Self {
        FinishedOrder {
            state: order.state,
            origin_config_id: order.origin.config_id,
            paid_by_config_id: order.paid_by.as_ref().map(|by| by.config_id),
            shared: order.shared,
            version: order.version,
            updated_by: order.updated_by.clone(),
        }
    }

    /// Whether a session of `config_id` may ever have seen this order: its
    /// origin, the config that paid it, or a config linked to its origin now
    /// or before (`links_ever`). Telling such a session that the order is
    /// finished leaks nothing; any other session is told nothing at all
    /// (PROTOCOL.md guarantee 10).
    pub fn known_to(&self, config_id: ConfigId, links_ever: &SyncLinks) -> bool {
        self.origin_config_id == config_id
            || self.paid_by_config_id == Some(config_id)
            || links_ever.are_linked(self.origin_config_id, config_id)
    }

    pub fn removed_message(&self, order_id: OrderId) -> ServerMessage {
        ServerMessage::Removed {
            order_id,
            reason: match self.state {
                OrderState::Paid => RemovedReason::Paid,
                _ => RemovedReason::Cancelled,
            },
            version: self.version,
            by: self.updated_by.clone(),
        }
    }
}

/// Whether a session of `config_id` may ever have seen this draft (see
/// [`FinishedOrder::known_to`]): it may learn that it no longer sees it.
pub fn draft_known_to(order: &Order, config_id: ConfigId, links_ever: &SyncLinks) -> bool {
    order.origin.config_id == config_id || links_ever.are_linked(order.origin.config_id, config_id)
}

/// What one op does, decided against the node's current state. A verdict is
/// made and moved once on the hot path: boxing its orders would only add two
/// allocations per op.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    /// The order at its next version.
    Accepted {
        before: Option<Order>,
        after: Order,
    },
    /// A `create` repeating an existing order's content: acknowledged at its version.
    Unchanged {
        version: u64,
    },
    Rejected(Reject),
}

#[derive(Debug, Clone)]
pub struct ShopState {
    pub configs: BTreeMap<ConfigId, ConfigInfo>,
    pub links: SyncLinks,
    /// Every pair of configs linked now or at any time before: who may have
    /// seen a shared draft, and so may be told it is gone.
    pub links_ever: SyncLinks,
    pub catalog: EngineCatalog,
    /// Every open draft, whole, at its latest decided version.
    pub drafts: BTreeMap<OrderId, Order>,
    /// Recently finished orders whose finish is durable; the store knows the rest.
    pub finished: FifoMap<OrderId, FinishedOrder>,
    /// Orders finished by a batch not yet durable: never evicted, moved to
    /// `finished` once their batch commits, dropped if it fails.
    pub finished_pending: BTreeMap<OrderId, FinishedOrder>,
    /// The ids of the open drafts by origin config: the per-config cap, and
    /// the catch-up, which visits only the configs a terminal may see.
    pub drafts_by_origin: BTreeMap<ConfigId, BTreeSet<OrderId>>,
}

impl ShopState {
    pub fn new(
        configs: Vec<ConfigInfo>,
        links: SyncLinks,
        links_ever: SyncLinks,
        catalog: EngineCatalog,
        drafts: Vec<Order>,
        finished_cached_max: usize,
    ) -> Self {
        let mut shop = ShopState {
            configs: BTreeMap::new(),
            links_ever: union(&links_ever, &links),
            links,
            catalog,
            drafts: BTreeMap::new(),
            finished: FifoMap::new(finished_cached_max),
            finished_pending: BTreeMap::new(),
            drafts_by_origin: BTreeMap::new(),
        };
        shop.set_configs(configs);
        for order in drafts.into_iter().filter(Order::is_draft) {
            shop.put_draft(order);
        }
        shop
    }

    pub fn set_configs(&mut self, configs: Vec<ConfigInfo>) {
        self.configs = configs
            .into_iter()
            .map(|config| (config.id, config))
            .collect();
    }

    pub fn config_name(&self, config_id: ConfigId) -> Name {
        self.configs
            .get(&config_id)
            .map(|config| config.name.clone())
            .unwrap_or_else(|| fallback_config_name(config_id))
    }

    pub fn by(&self, source: &Source) -> By {
        By {
            session_id: source.session_id,
            config_id: source.config_id,
            config_name: self.config_name(source.config_id),
            terminal: source.terminal,
        }
    }

    /// Puts a draft in (or replaces it), keeping the index by origin.
    pub fn put_draft(&mut self, order: Order) {
        let (origin, order_id) = (order.origin.config_id, order.id);
        if self.drafts.insert(order_id, order).is_none() {
            self.drafts_by_origin
                .entry(origin)
                .or_default()
                .insert(order_id);
        }
    }

    pub fn take_draft(&mut self, order_id: OrderId) -> Option<Order> {
        let order = self.drafts.remove(&order_id)?;
        let origin = order.origin.config_id;
        if let Some(ids) = self.drafts_by_origin.get_mut(&origin) {
            ids.remove(&order_id);
            if ids.is_empty() {
                self.drafts_by_origin.remove(&origin);
            }
        }
        Some(order)
    }

    /// The first open draft of `origin` at or after `from`, in id order.
    pub fn next_draft_of(&self, origin: ConfigId, from: OrderId) -> Option<OrderId> {
        self.drafts_by_origin
            .get(&origin)?
            .range(from..)
            .next()
            .copied()
    }

    /// A finished order, pending or durable.
    pub fn finished_order(&self, order_id: OrderId) -> Option<&FinishedOrder> {
        self.finished_pending
            .get(&order_id)
            .or_else(|| self.finished.get(&order_id))
    }

    pub fn open_drafts_of(&self, config_id: ConfigId) -> usize {
        self.drafts_by_origin
            .get(&config_id)
            .map_or(0, BTreeSet::len)
    }

    /// Decides `request` from `by` against the current state. Pure: the node
    /// records what it decides.
    pub fn decide(
        &self,
        by: &By,
        role: Role,
        request: &OpRequest,
        now: Timestamp,
        lease_ms: i64,
    ) -> Verdict {
        let order_id = request.order_id;
        let is_create = request.op.is_create();
        let current = self.drafts.get(&order_id);
        if let Some(order) = current {
            if !is_create && !can_see_draft(order, by.config_id, &self.links) {
                return Verdict::Rejected(Reject::new(RejectCode::NotFound, "no such order"));
            }
        } else if let Some(finished) = self.finished_order(order_id) {
            let reject = match (is_create, finished.known_to(by.config_id, &self.links_ever)) {
                (true, _) => {
                    Reject::new(RejectCode::Exists, "an order with this id already exists")
                }
                (false, false) => Reject::new(RejectCode::NotFound, "no such order"),
                (false, true) if finished.state == OrderState::Paid => {
                    Reject::new(RejectCode::Paid, "this order is already paid")
                }
                (false, true) => Reject::new(RejectCode::Cancelled, "this order was cancelled"),
            };
            return Verdict::Rejected(reject);
        }
        let config = self.configs.get(&by.config_id);
        let auto_share = config.is_some_and(|config| config.auto_share);
        // The node's copy of the config is reloaded whenever a manager changes
        // it, so a counter's restriction holds from the next op on.
        let rights = Rights {
            price_control_restricted: role == Role::Cashier
                && config.is_some_and(|config| config.restrict_price_control),
            approved_by: Approval::verified_user(request.approval.as_deref()),
        };
        let reference = order_reference(&by.config_name, order_id);
        let context = ApplyContext {
            by,
            now,
            catalog: &self.catalog,
            lease_ms,
            auto_share,
            reference: &reference,
            rights,
        };
        match apply(current, order_id, &request.op, &context) {
            Err(reject) => Verdict::Rejected(reject),
            Ok(Applied::Unchanged) => Verdict::Unchanged {
                version: current.map_or(1, |order| order.version),
            },
            Ok(Applied::Changed(after)) => {
                let before = current.cloned();
                assert_eq!(
                    after.version,
                    before.as_ref().map_or(1, |order| order.version + 1),
                    "versions are contiguous"
                );
                Verdict::Accepted { before, after }
            }
        }
    }
}

/// Every pair in either set.
pub fn union(a: &SyncLinks, b: &SyncLinks) -> SyncLinks {
    SyncLinks::from_pairs(a.pairs().chain(b.pairs()))
}

/// A short reference a cashier can read out: the config's name and six hex
/// digits of the (random part of the) order id.
pub fn order_reference(config_name: &Name, order_id: OrderId) -> String {
    let hex = order_id.0.simple().to_string().to_uppercase();
    format!("{} {}", config_name, &hex[hex.len() - 6..])
}

/// The name shown for a config the node was not told about (a race with its creation).
fn fallback_config_name(config_id: ConfigId) -> Name {
    Name::parse(&format!("Config {config_id}"))
        .unwrap_or_else(|_| unreachable!("\"Config <number>\" is always a valid name"))
}
