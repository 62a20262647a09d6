//! Fuzz target `client_frame`: see `possync_fuzz_harness::client_frame` for the input and the invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| possync_fuzz_harness::client_frame::check_client_frame(data));
