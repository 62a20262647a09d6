//! The HTTP API, driven over real HTTP against the real router and a real SQLite
//! file, as a third-party client would drive it.
//!
//! One test binary with one module per area: linking one binary is much cheaper
//! than linking one per file.

mod after_payment;
mod audit;
mod auth;
mod bad_input;
mod catalog;
mod connections;
mod links;
mod matrix;
mod money;
mod openapi;
mod orders;
mod paging;
mod printing;
mod readiness;
mod receipt_number;
mod refunds;
mod reports;
mod roles;
mod security;
mod sessions;
mod staff;
mod stock;
mod web;
