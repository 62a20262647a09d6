//! Browser end-to-end tests: the web POS in real headless Chromium, driven over
//! WebDriver (chromedriver + fantoccini), against the real `possync` binary.
//!
//! Each browser has its own profile (user-data-dir), so each is an independent
//! terminal with its own IndexedDB, tokens and terminal id, exactly like two tills
//! in a shop. The tests wait for DOM conditions with a timeout and never sleep for
//! a fixed time, and save screenshots of the key steps under
//! `target/e2e-screenshots/<test>/`.
//!
//! Without chromium or chromedriver the tests say so loudly and pass; with
//! `POSSYNC_REQUIRE_BROWSER=1` (CI) they fail instead.

mod approval;
mod audit;
mod awareness;
mod bar_day;
mod chrome;
mod dashboard;
mod numpad;
mod offline_reload;
mod order_panel;
mod printing;
mod proxy;
mod refund;
mod server;
mod session_close;
mod shop;
mod shop_story;
mod staff;
mod stock;
mod tabs;
mod till;
mod whole_day;
