//! possync-server.
