//! Who may see an order. The server enforces this on every read, op and
//! broadcast; it is the one definition of it.

use crate::ids::ConfigId;
use crate::links::SyncLinks;
use crate::order::{Order, OrderState};

/// A session of `config_id` may see and edit `order` when it is a draft and
/// either was created in that config, or is shared and that config is linked
/// to the order's origin config.
pub fn can_see_draft(order: &Order, config_id: ConfigId, links: &SyncLinks) -> bool {
    order.state == OrderState::Draft
        && (order.origin.config_id == config_id
            || (order.shared && links.are_linked(order.origin.config_id, config_id)))
}

/// Reading is wider than editing: a paid order stays readable (receipt,
/// history) by its origin config and by the config that took the payment.
/// A cancelled order stays readable by its origin config.
pub fn can_read(order: &Order, config_id: ConfigId, links: &SyncLinks) -> bool {
    match order.state {
        OrderState::Draft => can_see_draft(order, config_id, links),
        OrderState::Paid => {
            order.origin.config_id == config_id
                || order
                    .paid_by
                    .as_ref()
                    .is_some_and(|by| by.config_id == config_id)
        }
        OrderState::Cancelled => order.origin.config_id == config_id,
    }
}
