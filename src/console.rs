//! Lines for the person running possync, on stdout.
//!
//! `println!` panics when stdout is closed (a pipe into `head`, a supervisor
//! that stopped reading); a server must not die of that, so every line goes
//! through [`say`], which ignores a closed stdout.

use std::fmt::Display;
use std::io::Write;

/// Writes one line to stdout; a closed or failing stdout is ignored.
pub fn say(line: impl Display) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
    let _ = stdout.flush();
}
