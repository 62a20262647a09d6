//! Fuzz target `sync_node`: see `possync_fuzz_harness::sync_node` for the input and the invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| possync_fuzz_harness::sync_node::check_sync_node(data));
