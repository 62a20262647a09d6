//! possync-protocol.
