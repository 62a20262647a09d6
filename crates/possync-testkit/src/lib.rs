//! possync-testkit: what the server's tests (and the binary's) drive possync with.
//!
//! Every test goes through the boundary a user sees: [`spawn_app`] starts the
//! real server on `127.0.0.1:0` with its own SQLite file; [`TestApp`] speaks
//! HTTP to it; [`Counter`] is a terminal on the sync WebSocket that keeps its
//! copies from `order` and `change` messages alone; [`Shop`] is a server with
//! linked and unlinked counters, a small catalog and payment methods;
//! [`spawn_nodes`] starts several server nodes on one PostgreSQL database.

// The fixtures hold sockets, servers and store trait objects; printing them
// would tell a failing test nothing.
#![allow(missing_debug_implementations)]

pub mod app;
pub mod counter;
pub mod nodes;
pub mod shop;

pub use app::*;
pub use counter::*;
pub use nodes::{Nodes, spawn_deaf_node, spawn_nodes, spawn_nodes_on};
pub use shop::Shop;
