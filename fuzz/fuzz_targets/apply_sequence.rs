//! Fuzz target `apply_sequence`: see `possync_fuzz_harness::apply_sequence` for the input and the invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| possync_fuzz_harness::apply_sequence::check_apply_sequence(data));
