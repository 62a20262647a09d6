//! The fuzz targets on stable: each target's check driven by proptest, and
//! every committed corpus and regression input replayed.
//!
//! The proptest mirrors build their inputs two ways: structured inputs that
//! are valid on the wire and then damaged by one mutation (so the checks see
//! every accepted shape and the refusals next to them), and raw bytes.

use arbitrary::{Arbitrary, Unstructured};
use possync_fuzz_harness::TARGETS;
use possync_fuzz_harness::apply_sequence::{OpChoice, OrderFields, check_apply_sequence};
use possync_fuzz_harness::client_frame::check_text;
use possync_fuzz_harness::json_parsers::check_json_parsers;
use possync_fuzz_harness::shop::{Actor, uuid};
use proptest::prelude::*;
use serde_json::{Value, json};
use std::path::{Path, PathBuf};

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz")
}

/// The files of one folder, sorted by name (a missing folder has none).
fn files(folder: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(folder)
        .map(|entries| {
            entries
                .filter_map(Result::ok)
                .map(|entry| entry.path())
                .filter(|path| path.is_file())
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

#[test]
fn committed_corpora_and_regressions_replay_cleanly() {
    for target in TARGETS {
        let corpus = files(&fuzz_dir().join("corpus").join(target.name));
        assert!(
            !corpus.is_empty(),
            "fuzz/corpus/{} is missing or empty",
            target.name
        );
        let regressions = files(&fuzz_dir().join("regressions").join(target.name));
        for path in corpus.iter().chain(&regressions) {
            let data = match std::fs::read(path) {
                Ok(data) => data,
                // A fuzzer running on this checkout replaces corpus files as it goes.
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => continue,
                Err(error) => panic!("{}: {error}", path.display()),
            };
            let outcome = std::panic::catch_unwind(|| (target.check)(&data));
            assert!(
                outcome.is_ok(),
                "{} fails on {} (replay: cargo +nightly fuzz run {} {})",
                target.name,
                path.display(),
                target.name,
                path.display()
            );
        }
    }
}

/// Values that a parser should refuse, or accept exactly, in place of any other.
fn odd_value() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        Just(json!(-1)),
        Just(json!(0)),
        Just(json!(1.5)),
        Just(json!(1e300)),
        Just(json!(-9_223_372_036_854_775_808_i64)),
        Just(json!(18_446_744_073_709_551_615_u64)),
        Just(json!("")),
        Just(json!("1.0001")),
        Just(json!("-0")),
        Just(json!("9999999999999999999999999")),
        Just(json!("\u{0}")),
        Just(json!("x".repeat(2_000))),
        Just(json!([])),
        Just(json!({})),
        any::<i64>().prop_map(Value::from),
        "[ -~]{0,12}".prop_map(Value::from),
    ]
}

/// One damage done to a valid JSON object.
#[derive(Debug, Clone)]
enum Mutation {
    None,
    /// Replace the value at this (wrapped) position of a depth-first walk.
    Replace(usize, Value),
    /// Remove the key at this position.
    Remove(usize),
    /// Cut the text at this (wrapped) byte.
    Truncate(usize),
    /// Insert a character at this (wrapped) byte.
    Insert(usize, char),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        Just(Mutation::None),
        (any::<usize>(), odd_value()).prop_map(|(at, value)| Mutation::Replace(at, value)),
        any::<usize>().prop_map(Mutation::Remove),
        any::<usize>().prop_map(Mutation::Truncate),
        (any::<usize>(), any::<char>()).prop_map(|(at, c)| Mutation::Insert(at, c)),
    ]
}

/// Counts down `position` over every value of `value`, depth first, and
/// changes the one it lands on.
fn walk(value: &mut Value, position: &mut usize, change: &mut dyn FnMut(&mut Value)) -> bool {
    if *position == 0 {
        change(value);
        return true;
    }
    *position -= 1;
    match value {
        Value::Object(object) => object
            .values_mut()
            .any(|child| walk(child, position, change)),
        Value::Array(items) => items.iter_mut().any(|child| walk(child, position, change)),
        _ => false,
    }
}

fn count_values(value: &Value) -> usize {
    1 + match value {
        Value::Object(object) => object.values().map(count_values).sum(),
        Value::Array(items) => items.iter().map(count_values).sum(),
        _ => 0,
    }
}

fn mutate(mut value: Value, mutation: &Mutation) -> String {
    match mutation {
        Mutation::None => value.to_string(),
        Mutation::Replace(at, odd) => {
            let mut position = at % count_values(&value);
            walk(&mut value, &mut position, &mut |target| {
                *target = odd.clone()
            });
            value.to_string()
        }
        Mutation::Remove(at) => {
            let mut position = at % count_values(&value);
            walk(&mut value, &mut position, &mut |target| {
                if let Value::Object(object) = target
                    && let Some(key) = object.keys().next().cloned()
                {
                    object.remove(&key);
                }
            });
            value.to_string()
        }
        Mutation::Truncate(at) => {
            let text = value.to_string();
            let mut cut = at % (text.len() + 1);
            while !text.is_char_boundary(cut) {
                cut -= 1;
            }
            text[..cut].to_owned()
        }
        Mutation::Insert(at, c) => {
            let mut text = value.to_string();
            let mut at = at % (text.len() + 1);
            while !text.is_char_boundary(at) {
                at -= 1;
            }
            text.insert(at, *c);
            text
        }
    }
}

/// A value built by `arbitrary` from random bytes, as the fuzz target builds it.
fn arbitrary_from_bytes<T: for<'a> Arbitrary<'a> + std::fmt::Debug>(
    bytes_max: usize,
) -> impl Strategy<Value = T> {
    prop::collection::vec(any::<u8>(), 0..bytes_max)
        .prop_filter_map("the bytes describe no value", |bytes| {
            T::arbitrary(&mut Unstructured::new(&bytes)).ok()
        })
}

fn op_json() -> impl Strategy<Value = Value> {
    arbitrary_from_bytes::<OpChoice>(64).prop_map(|choice| {
        serde_json::to_value(choice.op(None, Actor::Counter)).unwrap_or(Value::Null)
    })
}

fn uuid_json() -> impl Strategy<Value = Value> {
    any::<u8>().prop_map(|n| json!(uuid(u128::from(n))))
}

/// A valid frame of every message kind.
fn client_frame_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        (
            uuid_json(),
            prop::collection::btree_map(any::<u8>(), any::<u64>(), 0..4)
        )
            .prop_map(|(terminal, known)| {
                let known: serde_json::Map<String, Value> = known
                    .into_iter()
                    .map(|(n, version)| (uuid(u128::from(n)).to_string(), json!(version)))
                    .collect();
                json!({"type": "hello", "protocol": 1, "terminal": terminal, "known": known})
            }),
        (uuid_json(), uuid_json(), op_json()).prop_map(|(op_id, order_id, op)| {
            json!({"type": "op", "op_id": op_id, "order_id": order_id, "op": op})
        }),
        prop::collection::vec(uuid_json(), 0..4)
            .prop_map(|order_ids| json!({"type": "resync", "order_ids": order_ids})),
        prop::option::of(uuid_json())
            .prop_map(|order_id| json!({"type": "presence", "order_id": order_id})),
        odd_value().prop_map(|t| json!({"type": "ping", "t": t})),
    ]
}

/// A valid op or order, as the JSON parsers see them.
fn parser_json() -> impl Strategy<Value = Value> {
    prop_oneof![
        op_json(),
        (uuid_json(), uuid_json(), op_json()).prop_map(
            |(op_id, order_id, op)| json!({"op_id": op_id, "order_id": order_id, "op": op})
        ),
        arbitrary_from_bytes::<OrderFields>(512).prop_map(|fields| fields.to_json()),
    ]
}

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}

proptest! {
    #![proptest_config(config(512))]

    #[test]
    fn client_frame_mirror(frame in client_frame_json(), mutation in mutation()) {
        check_text(&mutate(frame, &mutation));
    }

    #[test]
    fn client_frame_mirror_raw_bytes(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        possync_fuzz_harness::client_frame::check_client_frame(&bytes);
    }

    #[test]
    fn json_parsers_mirror(value in parser_json(), mutation in mutation()) {
        check_json_parsers(mutate(value, &mutation).as_bytes());
    }

    #[test]
    fn apply_sequence_mirror(bytes in prop::collection::vec(any::<u8>(), 0..2_048)) {
        check_apply_sequence(&bytes);
    }
}

/// The mirror's inputs are random bytes read by `arbitrary`: they must still
/// reach every op kind, payments included, or the mirror would only ever
/// check refusals.
#[test]
fn random_bytes_reach_every_op_kind_and_payment() {
    use possync_fuzz_harness::apply_sequence::{ScenarioSummary, summarize_apply_sequence};
    let mut summary = ScenarioSummary::default();
    // A fixed xorshift stream: the same inputs every run.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    for _ in 0..400 {
        let bytes: Vec<u8> = (0..2_048)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        summary.add(&summarize_apply_sequence(&bytes));
    }
    for kind in [
        "create",
        "share",
        "unshare",
        "add_line",
        "add_qty",
        "set_qty",
        "set_price",
        "set_discount",
        "set_line_note",
        "remove_line",
        "set_customer",
        "set_note",
        "begin_payment",
        "cancel_payment",
        "pay",
        "cancel",
    ] {
        assert!(
            summary.accepted.get(kind).copied().unwrap_or(0) > 0,
            "no {kind} was accepted: {summary:?}"
        );
    }
    assert!(
        summary.parsed_start,
        "no scenario started from a parsed order"
    );
    for code in [
        possync_core::RejectCode::Locked,
        possync_core::RejectCode::Paid,
        possync_core::RejectCode::Stale,
        possync_core::RejectCode::LineRemoved,
    ] {
        assert!(
            summary.rejected.contains_key(&code),
            "no op was refused {code}: {summary:?}"
        );
    }
}

proptest! {
    // Each case runs a whole shop to quiescence: fewer cases than the others.
    #![proptest_config(config(160))]

    #[test]
    fn sync_node_mirror(bytes in prop::collection::vec(any::<u8>(), 8..600)) {
        possync_fuzz_harness::sync_node::check_sync_node(&bytes);
    }
}

/// The node mirror's random bytes must reach the paths that matter: acks,
/// duplicates, payments, commits that fail and that land but report failure,
/// failed reads, restarts, too-slow closes, impersonations refused, HTTP ops.
#[test]
fn random_bytes_reach_the_node_s_faults() {
    use possync_fuzz_harness::sync_node::run_sync_node;
    use possync_sim::Report;
    let mut total = Report::default();
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    for _ in 0..120 {
        let bytes: Vec<u8> = (0..600)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                state as u8
            })
            .collect();
        if let Some(report) = run_sync_node(&bytes) {
            total.add(&report);
        }
    }
    assert!(
        total.acks > 0 && total.duplicates > 0 && total.rejects > 0 && total.orders_paid > 0,
        "{total:?}"
    );
    assert!(
        total.failed_commits > 0 && total.landed_failed_commits > 0 && total.failed_reads > 0,
        "{total:?}"
    );
    assert!(
        total.restarts > 0 && total.disconnects > 0 && total.http_ops > 0,
        "{total:?}"
    );
    assert!(
        total.impersonations_refused > 0 && total.sessions_closed > 0,
        "{total:?}"
    );
}
