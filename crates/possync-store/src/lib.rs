//! possync-store.
