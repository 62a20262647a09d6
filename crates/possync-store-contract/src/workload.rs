//! A workload for store-specific tests: batches of edits of a chosen size,
//! decided as the engine would. The contract behaviours say what every store
//! must do; this drives one store so that its own tests can check how it does
//! it (SQLite's checkpoint threshold follows the size of the batches).

use crate::fixtures::*;
use possync_core::*;
use possync_store::Store;
use std::fmt;

/// A draft at a till of a freshly opened shop, edited batch by batch.
pub struct EditBatches {
    till: Till,
    order: OrderOps,
}

impl fmt::Debug for EditBatches {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EditBatches")
            .field("order_id", &self.order.order_id)
            .field("ops", &self.order.entries.len())
            .finish_non_exhaustive()
    }
}

impl EditBatches {
    /// Opens a shop and a session in `store` (fresh and empty) and creates a draft.
    pub async fn start<S: Store + ?Sized>(store: &S) -> EditBatches {
        let shop = open_shop(store).await;
        let till = open_till(store, &shop, &shop.counter_1, 0).await;
        let created = draft(store, &till, None, false, &[]).await;
        EditBatches {
            order: OrderOps::new(created.id, Some(created)),
            till,
        }
    }

    /// The draft's id.
    pub fn order_id(&self) -> OrderId {
        self.order.order_id
    }

    /// Commits one batch of `ops` edits (each a new note) to the draft.
    pub async fn commit<S: Store + ?Sized>(&mut self, store: &S, ops: usize) {
        let mut batch = Vec::with_capacity(ops);
        for _ in 0..ops {
            let op = Op::set_note(note(&format!("edit {}", self.order.entries.len() + 1)));
            self.order.push(&self.till, op, &mut batch);
        }
        ok(store.commit_batch(&batch).await, "commit a batch of edits");
    }
}
