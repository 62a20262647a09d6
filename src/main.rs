//! possync: the server (`possync serve`) and its admin commands (`possync user ...`,
//! `possync migrate`, `possync backup`, `possync restore`).
//!
//! Everything a shop needs runs from this one binary: the HTTP API, the live sync,
//! the embedded web POS and the SQLite file in the data directory. The binary is
//! the only place that uses `anyhow`: it turns every failure into one readable
//! line and a non-zero exit code.

mod bench;
mod console;
mod data_dir;
mod database;
mod demo;
mod logging;
mod order;
mod serve;
mod sync_args;
mod users;

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(
    name = "possync",
    version,
    about = "Shared draft orders between point-of-sale counters",
    long_about = "possync lets several counters of one shop work on the same open order: start it at one till, finish it at another."
)]
struct Cli {
    /// The directory holding the database (possync.db) and the lock file.
    #[arg(
        long,
        global = true,
        env = "POSSYNC_DATA_DIR",
        default_value = "./possync-data"
    )]
    data_dir: PathBuf,

    #[command(flatten)]
    database: database::DatabaseArgs,

    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the server: HTTP API, live sync and the web POS.
    Serve(serve::ServeArgs),
    /// Manage back-office users (while no server runs on the same data directory).
    User {
        #[command(subcommand)]
        command: users::UserCommand,
    },
    /// Drafts from the command line, as a terminal of a session (list, show, create, edit, share, pay, cancel).
    Order(Box<order::OrderArgs>),
    /// Load a server like a shop and measure it against this machine's floors.
    Bench(bench::BenchArgs),
    /// The server `possync bench` starts (raised rate limits, the bench manager).
    #[command(hide = true)]
    BenchServer(bench::server::BenchServerArgs),
    /// Bring the database schema up to date (PostgreSQL: required before the
    /// first `serve` and after an upgrade; SQLite: done by `serve` too).
    Migrate,
    /// Write a consistent copy of the SQLite database to a new file, while the
    /// server keeps serving.
    Backup {
        /// The file to write; it must not exist yet.
        #[arg(long)]
        output: PathBuf,
    },
    /// Put a backup in place of the SQLite database (stop the server first);
    /// the replaced database is kept next to it.
    Restore {
        /// A file written by `possync backup`.
        #[arg(long)]
        input: PathBuf,
    },
}

/// Tells the person what went wrong, on stderr; a closed stderr is ignored.
fn complain(message: std::fmt::Arguments<'_>) {
    use std::io::Write;
    let _ = writeln!(std::io::stderr().lock(), "possync: error: {message}");
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            complain(format_args!("could not start the async runtime: {error}"));
            return ExitCode::FAILURE;
        }
    };
    let outcome = runtime.block_on(async {
        match cli.command {
            Command::Order(args) => return order::run(*args).await,
            Command::Serve(args) => serve::run(&cli.data_dir, &cli.database, args).await,
            Command::User { command } => users::run(&cli.data_dir, &cli.database, command).await,
            Command::Bench(args) => bench::run(args, &cli.database).await,
            Command::BenchServer(args) => {
                bench::server::run(&cli.data_dir, &cli.database, args).await
            }
            Command::Migrate => database::migrate(&cli.data_dir, &cli.database).await,
            Command::Backup { output } => {
                database::backup(&cli.data_dir, &cli.database, &output).await
            }
            Command::Restore { input } => {
                database::restore(&cli.data_dir, &cli.database, &input).await
            }
        }
        .map(|()| 0u8)
    });
    match outcome {
        Ok(code) => ExitCode::from(code),
        Err(error) => {
            complain(format_args!("{error:#}"));
            ExitCode::FAILURE
        }
    }
}
