//! What the sync node asks of the store, as one narrow trait: its start, its
//! questions ([`possync_engine::StoreRequest`]) and its commits.
//!
//! The server runs it over the shop's [`Store`] ([`ShopStore`]); a test may
//! wrap it to make the store fail in ways a real disk rarely does on demand
//! (a commit that lands and then reports an error, a read that times out).

use async_trait::async_trait;
use possync_core::*;
use possync_engine::{ConfigInfo, EngineCatalog, World};
use possync_store::{SessionReport, Store, StoreResult};
use std::sync::Arc;

#[async_trait]
pub trait SyncStore: Send + Sync + 'static {
    /// What the node starts from: configs, links, the catalog, the open
    /// drafts, and the newest id stored among those stamped at most `ids_at_most_ms`.
    async fn load_world(&self, ids_at_most_ms: i64) -> StoreResult<World> {
        Ok(World {
            configs: self.load_configs().await?,
            links: self.load_links().await?,
            links_ever: self.load_links_ever().await?,
            catalog: self.load_catalog().await?,
            drafts: self.load_drafts().await?,
            newest_stored_id_ms: self.newest_id_stamp_ms(ids_at_most_ms).await?,
        })
    }
    /// See [`possync_store::Store::newest_id_stamp_ms`].
    async fn newest_id_stamp_ms(&self, at_most_ms: i64) -> StoreResult<Option<i64>>;
    async fn load_configs(&self) -> StoreResult<Vec<ConfigInfo>>;
    async fn load_links(&self) -> StoreResult<SyncLinks>;
    async fn load_links_ever(&self) -> StoreResult<SyncLinks>;
    async fn load_catalog(&self) -> StoreResult<EngineCatalog>;
    async fn load_drafts(&self) -> StoreResult<Vec<Order>>;
    /// Every open draft's id and version: what a node that may have missed
    /// other nodes' changes compares its memory with.
    async fn draft_versions(&self) -> StoreResult<Vec<(OrderId, u64)>> {
        Ok(self
            .load_drafts()
            .await?
            .into_iter()
            .map(|order| (order.id, order.version))
            .collect())
    }
    /// The first answers of these ops and the orders that exist among these.
    async fn read(
        &self,
        op_ids: &[OpId],
        order_ids: &[OrderId],
    ) -> StoreResult<(Vec<(OpId, OpOutcome)>, Vec<Order>)>;
    async fn bind_terminal(
        &self,
        terminal: TerminalId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<String>;
    async fn commit_batch(&self, entries: &[CommitEntry]) -> StoreResult<()>;
    /// Which of these tokens (by hash) are revoked or gone: a node whose
    /// listener dropped may have missed their revocation.
    async fn revoked_tokens(&self, token_hashes: &[String]) -> StoreResult<Vec<String>>;
    async fn close_session(
        &self,
        session_id: SessionId,
        counted_cash: Option<Money>,
        now: Timestamp,
    ) -> StoreResult<SessionReport>;
}

/// The sync node's view of the shop's store.
#[derive(Clone)]
pub struct ShopStore(pub Arc<dyn Store>);

impl std::fmt::Debug for ShopStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ShopStore")
    }
}

#[async_trait]
impl SyncStore for ShopStore {
    async fn load_configs(&self) -> StoreResult<Vec<ConfigInfo>> {
        Ok(self
            .0
            .list_configs()
            .await?
            .into_iter()
            .map(|config| ConfigInfo {
                id: config.id,
                name: config.name,
                auto_share: config.auto_share,
                restrict_price_control: config.restrict_price_control,
            })
            .collect())
    }

    async fn load_links(&self) -> StoreResult<SyncLinks> {
        self.0.load_links().await
    }

    async fn load_links_ever(&self) -> StoreResult<SyncLinks> {
        self.0.load_links_ever().await
    }

    async fn load_catalog(&self) -> StoreResult<EngineCatalog> {
        Ok(EngineCatalog::build(
            &self.0.list_products().await?,
            &self.0.list_taxes().await?,
            &self.0.list_customers().await?,
            &self.0.list_payment_methods().await?,
        ))
    }

    async fn load_drafts(&self) -> StoreResult<Vec<Order>> {
        self.0.list_orders(OrderState::Draft).await
    }

    async fn newest_id_stamp_ms(&self, at_most_ms: i64) -> StoreResult<Option<i64>> {
        self.0.newest_id_stamp_ms(at_most_ms).await
    }

    async fn read(
        &self,
        op_ids: &[OpId],
        order_ids: &[OrderId],
    ) -> StoreResult<(Vec<(OpId, OpOutcome)>, Vec<Order>)> {
        let mut outcomes = Vec::new();
        for op_id in op_ids {
            if let Some(outcome) = self.0.find_op_outcome(*op_id).await? {
                outcomes.push((*op_id, outcome));
            }
        }
        let mut orders = Vec::new();
        for order_id in order_ids {
            if let Some(order) = self.0.get_order(*order_id).await? {
                orders.push(order);
            }
        }
        Ok((outcomes, orders))
    }

    async fn bind_terminal(
        &self,
        terminal: TerminalId,
        token_hash: &str,
        now: Timestamp,
    ) -> StoreResult<String> {
        self.0.bind_terminal(terminal, token_hash, now).await
    }

    async fn commit_batch(&self, entries: &[CommitEntry]) -> StoreResult<()> {
        self.0.commit_batch(entries).await
    }

    async fn revoked_tokens(&self, token_hashes: &[String]) -> StoreResult<Vec<String>> {
        // One lookup per token of this node's connections, after a listener
        // drop only; the lookup is by primary key.
        let mut revoked = Vec::new();
        for hash in token_hashes {
            let live = self
                .0
                .find_token(hash)
                .await?
                .is_some_and(|record| record.revoked_at.is_none());
            if !live {
                revoked.push(hash.clone());
            }
        }
        Ok(revoked)
    }

    async fn close_session(
        &self,
        session_id: SessionId,
        counted_cash: Option<Money>,
        now: Timestamp,
    ) -> StoreResult<SessionReport> {
        self.0.close_session(session_id, counted_cash, now).await
    }
}
