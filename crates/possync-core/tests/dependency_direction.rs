//! Keeps the deterministic crates deterministic: the core, the engine and the
//! terminal state machine may not depend on a runtime, a database, a web
//! framework or a random source, and their code may not read a clock.
//! (CONVENTIONS 1-3, DESIGN "Crates".) The Rust SDK (`possync-client`) wraps
//! the terminal state machine in I/O; the simulation must use the state
//! machine alone, so it stays replayable.

use std::path::{Path, PathBuf};

const FORBIDDEN_CRATES: &[&str] = &[
    "tokio",
    "sqlx",
    "axum",
    "hyper",
    "tower",
    "rand",
    "getrandom",
    "chrono",
    "reqwest",
    "tracing",
];
const FORBIDDEN_UUID_FEATURES: &[&str] = &["v1", "v4", "v6", "v7", "rng", "fast-rng"];
const FORBIDDEN_CALLS: &[&str] = &[
    "SystemTime::now",
    "Instant::now",
    "now_utc",
    "now_local",
    "new_v4",
    "now_v7",
    "new_v7",
    "thread_rng",
    "std::fs",
    "std::net",
    "std::env",
];

fn crates_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn manifest(crate_name: &str) -> toml::Table {
    let path = crates_dir().join(crate_name).join("Cargo.toml");
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    text.parse()
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

fn workspace_manifest() -> toml::Table {
    let path = crates_dir().join("..").join("Cargo.toml");
    std::fs::read_to_string(&path).unwrap().parse().unwrap()
}

/// The dependency names of a crate (not its dev-dependencies: tests may use anything).
fn dependencies(crate_name: &str) -> Vec<String> {
    manifest(crate_name)
        .get("dependencies")
        .and_then(|table| table.as_table())
        .map(|table| table.keys().cloned().collect())
        .unwrap_or_default()
}

fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|ext| ext == "rs") {
            files.push(path);
        }
    }
    files
}

#[test]
fn deterministic_crates_depend_on_no_runtime_database_or_randomness() {
    for crate_name in [
        "possync-core",
        "possync-protocol",
        "possync-engine",
        "possync-terminal",
    ] {
        for dependency in dependencies(crate_name) {
            assert!(
                !FORBIDDEN_CRATES.contains(&dependency.as_str()),
                "{crate_name} must not depend on {dependency}"
            );
            assert!(
                !["possync-store", "possync-server"].contains(&dependency.as_str()),
                "{crate_name} must not depend inward-out on {dependency}"
            );
        }
    }
}

fn features_of(dependency: &toml::Value) -> Vec<String> {
    dependency
        .get("features")
        .and_then(|features| features.as_array())
        .map(|features| {
            features
                .iter()
                .filter_map(|feature| feature.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

/// The shared uuid entry and the deterministic crates' own entries enable no
/// generator; crates that make ids (the binary, tests, load generators) add
/// `v7` on their own entry, and the code checks below keep the core from calling it.
#[test]
fn uuid_is_used_without_its_generators() {
    let workspace = workspace_manifest();
    let mut entries = vec![(
        "the workspace".to_owned(),
        workspace["workspace"]["dependencies"]["uuid"].clone(),
    )];
    for crate_name in [
        "possync-core",
        "possync-protocol",
        "possync-engine",
        "possync-terminal",
    ] {
        if let Some(uuid) = manifest(crate_name)
            .get("dependencies")
            .and_then(|table| table.get("uuid"))
        {
            entries.push((crate_name.to_owned(), uuid.clone()));
        }
    }
    for (owner, entry) in entries {
        for feature in features_of(&entry) {
            assert!(
                !FORBIDDEN_UUID_FEATURES.contains(&feature.as_str()),
                "{owner}'s uuid must not enable {feature}: ids are generated outside the core"
            );
        }
    }
}

#[test]
fn deterministic_code_reads_no_clock_and_no_random_source() {
    for crate_name in [
        "possync-core",
        "possync-protocol",
        "possync-engine",
        "possync-terminal",
    ] {
        for path in rust_files(&crates_dir().join(crate_name).join("src")) {
            let text = std::fs::read_to_string(&path).unwrap();
            for call in FORBIDDEN_CALLS {
                assert!(!text.contains(call), "{} uses {call}", path.display());
            }
        }
    }
}

/// The simulation replays seeds exactly only while it drives the sans-IO
/// crates: the SDK's socket, outbox file and timers would make it depend on
/// the machine.
#[test]
fn the_simulation_uses_the_terminal_state_machine_not_the_sdk() {
    let simulation = dependencies("possync-sim");
    assert!(
        simulation.iter().any(|name| name == "possync-terminal"),
        "possync-sim drives possync-terminal"
    );
    for forbidden in [
        "possync-client",
        "tokio",
        "sqlx",
        "reqwest",
        "tokio-tungstenite",
    ] {
        assert!(
            !simulation.iter().any(|name| name == forbidden),
            "possync-sim must not depend on {forbidden}"
        );
    }
}
