//! Fuzz target `json_parsers`: see `possync_fuzz_harness::json_parsers` for the input and the invariants.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| possync_fuzz_harness::json_parsers::check_json_parsers(data));
