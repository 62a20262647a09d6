//! The contract test suite every `possync_store::Store` implementation must pass.
//!
//! Each behaviour is a `pub async fn` that takes a fresh, empty store and
//! panics at the first broken promise, naming it. This crate is only ever a
//! dev-dependency: every implementation (SQLite, PostgreSQL) runs exactly the
//! same checks from its own tests, and [`store_contract_tests!`] turns the
//! behaviours into one `#[tokio::test]` each:
//!
//! ```text
//! /// A fresh store, and whatever must live as long as it (a temp dir, a throwaway database).
//! async fn fresh_store() -> (tempfile::TempDir, std::sync::Arc<SqliteStore>) { ... }
//! possync_store_contract::store_contract_tests!(fresh_store);
//! ```
//!
//! Orders are built with `possync_core::apply` over a catalog read back from
//! the store, so what the suite commits is what the engine would commit.
//!
//! Every new `Store` method gets a behaviour here (and a line in the macro).

mod catalog;
mod configs;
mod fixtures;
mod orders;
mod payments;
pub mod postgres_cluster;
pub mod postgres_database;
mod printing;
mod refunds;
mod rights;
mod sessions;
mod shared_database;
mod terminals;
mod users;
mod workload;

pub use catalog::catalog;
pub use configs::configs_and_links;
pub use orders::{
    commit_batch_is_all_or_nothing, group_commits_of_many_ops, list_orders_by_state,
    newest_id_stamp, op_outcomes, orders_commit_and_history, pages_of_orders_sessions_and_history,
};
pub use payments::{
    concurrent_payments_number_receipts_and_invoices, payment_effects, sale_facts, session_report,
    shop_and_cash_moves, stock_adjustments,
};
pub use printing::print_queue;
pub use refunds::{concurrent_refunds_stay_within_what_was_sold, refunds};
pub use rights::money_rights;
pub use sessions::{concurrent_session_opens, sessions};
pub use shared_database::{
    a_session_close_and_its_ops_take_turns, concurrent_payments_keep_numbers_and_stock,
    one_op_on_two_writers_applies_once, one_session_per_config_across_writers,
    racing_commits_have_one_winner, the_last_manager_survives_concurrent_demotions,
};
pub use terminals::{link_history, terminal_bindings};
pub use users::{audit_trail, ping, staff_access_and_revocation, tokens, users};
pub use workload::EditBatches;

/// Generates one `#[tokio::test]` per contract behaviour for a store.
///
/// `$fresh_store` is an async fn returning `(guard, Arc<S>)`: a new, empty
/// store, and a guard kept alive until the test ends.
#[macro_export]
macro_rules! store_contract_tests {
    // `$fresh_store` is an async fn returning `(guard, Arc<S>)`: a new, empty
    // store, and a guard kept alive until the test ends.
    ($fresh_store:path) => {
        $crate::store_contract_tests!(@all $fresh_store, |fresh| Some(fresh));
    };
    // `$fresh_store` returns `Option<(guard, Arc<S>)>`; `None` means the
    // database is not there and the test skips (having said so loudly).
    (optional $fresh_store:path) => {
        $crate::store_contract_tests!(@all $fresh_store, |fresh| fresh);
    };
    (@all $fresh_store:path, $wrap:expr) => {
        $crate::store_contract_tests!(@tests $fresh_store, $wrap;
            contract_ping => ping,
            contract_users => users,
            contract_tokens => tokens,
            contract_staff_access_and_revocation => staff_access_and_revocation,
            contract_audit_trail => audit_trail,
            contract_catalog => catalog,
            contract_configs_and_links => configs_and_links,
            contract_sessions => sessions,
            contract_concurrent_session_opens => concurrent_session_opens,
            contract_orders_commit_and_history => orders_commit_and_history,
            contract_commit_batch_is_all_or_nothing => commit_batch_is_all_or_nothing,
            contract_op_outcomes => op_outcomes,
            contract_newest_id_stamp => newest_id_stamp,
            contract_payment_effects => payment_effects,
            contract_session_report => session_report,
            contract_concurrent_payments_number_receipts_and_invoices => concurrent_payments_number_receipts_and_invoices,
            contract_shop_and_cash_moves => shop_and_cash_moves,
            contract_stock_adjustments => stock_adjustments,
            contract_sale_facts => sale_facts,
            contract_list_orders_by_state => list_orders_by_state,
            contract_pages_of_orders_sessions_and_history => pages_of_orders_sessions_and_history,
            contract_group_commits_of_many_ops => group_commits_of_many_ops,
            contract_terminal_bindings => terminal_bindings,
            contract_link_history => link_history,
            contract_print_queue => print_queue,
            contract_money_rights => money_rights,
            contract_refunds => refunds,
        );
    };
    (@tests $fresh_store:path, $wrap:expr; $($test_name:ident => $behaviour:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test_name() {
                let wrap = $wrap;
                let Some((_guard, store)) = wrap($fresh_store().await) else {
                    return;
                };
                $crate::$behaviour(store).await;
            }
        )*
    };
}

/// Generates one `#[tokio::test]` per two-writer behaviour
/// ([`racing_commits_have_one_winner`] and the others of its module).
///
/// `$two_stores` is an async fn returning `Option<(guard, Arc<S>, Arc<S>)>`:
/// two stores on one new, empty database (`None`: skip, having said why).
#[macro_export]
macro_rules! shared_database_tests {
    ($two_stores:path) => {
        $crate::shared_database_tests!(@tests $two_stores;
            shared_racing_commits_have_one_winner => racing_commits_have_one_winner,
            shared_one_op_on_two_writers_applies_once => one_op_on_two_writers_applies_once,
            shared_concurrent_payments_keep_numbers_and_stock => concurrent_payments_keep_numbers_and_stock,
            shared_the_last_manager_survives_concurrent_demotions => the_last_manager_survives_concurrent_demotions,
            shared_one_session_per_config_across_writers => one_session_per_config_across_writers,
            shared_a_session_close_and_its_ops_take_turns => a_session_close_and_its_ops_take_turns,
            shared_concurrent_refunds_stay_within_what_was_sold => concurrent_refunds_stay_within_what_was_sold,
        );
    };
    (@tests $two_stores:path; $($test_name:ident => $behaviour:ident),* $(,)?) => {
        $(
            #[::tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $test_name() {
                let Some((_guard, first, second)) = $two_stores().await else {
                    return;
                };
                $crate::$behaviour(first, second).await;
            }
        )*
    };
}
