//! possync-fuzz-harness: what each fuzz target feeds the code under test, and
//! what must hold afterwards.
//!
//! Every target is one function from bytes to a verdict. It builds its input
//! from the bytes (raw text for the decoder and the parsers, a structured
//! scenario through [`arbitrary`] for `apply` and for the sync node), runs the code under test, and
//! panics with a sentence naming the broken invariant. Two engines drive the
//! same functions: libFuzzer through cargo-fuzz (`fuzz/`, nightly) and
//! proptest (`tests/mirrors.rs`, stable, part of `cargo test`), which also
//! replays every committed corpus and regression input. See RELIABILITY.md.

pub mod apply_sequence;
pub mod client_frame;
pub mod json_parsers;
pub mod shop;
pub mod sync_node;

/// A fuzz target: its name (the folder under `fuzz/corpus/` and the file under
/// `fuzz/fuzz_targets/`) and its check.
#[derive(Debug, Clone, Copy)]
pub struct Target {
    pub name: &'static str,
    pub check: fn(&[u8]),
}

/// Every target, in the order `.ci/run` fuzzes them.
pub const TARGETS: &[Target] = &[
    Target {
        name: "client_frame",
        check: client_frame::check_client_frame,
    },
    Target {
        name: "json_parsers",
        check: json_parsers::check_json_parsers,
    },
    Target {
        name: "apply_sequence",
        check: apply_sequence::check_apply_sequence,
    },
    Target {
        name: "sync_node",
        check: sync_node::check_sync_node,
    },
];
