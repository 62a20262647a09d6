//! Rebuilds the crate when a migration changes: `sqlx::migrate!` embeds the
//! files at compile time, and stable Rust cannot tell cargo to watch them.

fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
