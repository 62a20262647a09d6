//! possync-engine.
