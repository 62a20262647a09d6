//! A throwaway PostgreSQL cluster for tests that must stop PostgreSQL: made
//! with the system's `initdb` in a temp directory, listening on a free loopback
//! port, and removed with the test. The machine's own cluster is never touched.
//!
//! `initdb` and `pg_ctl` come from `/usr/lib/postgresql/<newest>/bin` (Debian
//! keeps them off PATH) or from PATH. PostgreSQL refuses to run as root, so
//! under root they run as the `postgres` user (`runuser`), which then owns the
//! cluster's directory.

use crate::postgres_database::skip_or_fail;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// A running (or stopped) cluster of our own.
#[derive(Debug)]
pub struct ThrowawayCluster {
    dir: tempfile::TempDir,
    port: u16,
    bin: PathBuf,
    /// `Some("postgres")` when this process is root.
    run_as: Option<String>,
}

impl ThrowawayCluster {
    /// Creates and starts a cluster; `None` (after a loud message) when the
    /// PostgreSQL server programs are not installed and not required.
    pub fn start() -> Option<ThrowawayCluster> {
        match ThrowawayCluster::try_start() {
            Ok(cluster) => Some(cluster),
            Err(error) => {
                skip_or_fail(&format!("cannot make a throwaway cluster: {error}"));
                None
            }
        }
    }

    fn try_start() -> Result<ThrowawayCluster, String> {
        let bin = server_bin_dir().ok_or("no initdb in /usr/lib/postgresql/*/bin or on PATH")?;
        let run_as = if is_root()? {
            Some("postgres".to_owned())
        } else {
            None
        };
        let dir = tempfile::Builder::new()
            .prefix("possync-pg-")
            .tempdir()
            .map_err(|error| error.to_string())?;
        if let Some(user) = &run_as {
            let uid = id_of(&["-u", user])?;
            let gid = id_of(&["-g", user])?;
            std::os::unix::fs::chown(dir.path(), Some(uid), Some(gid))
                .map_err(|error| format!("chown the cluster directory: {error}"))?;
        }
        let port = free_port()?;
        let cluster = ThrowawayCluster {
            dir,
            port,
            bin,
            run_as,
        };
        let data = cluster.data_dir();
        cluster.run(
            "initdb",
            &[
                "-D",
                path_text(&data)?,
                "-U",
                "postgres",
                "--auth=trust",
                "--no-sync",
                "-E",
                "UTF8",
            ],
        )?;
        cluster.start_again_or_error()?;
        Ok(cluster)
    }

    /// `postgres://postgres@127.0.0.1:PORT`, without a database name.
    pub fn server_url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}", self.port)
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops the cluster (fast shutdown: connections are cut, nothing is lost).
    pub fn stop(&self) {
        if let Err(error) = self.pg_ctl(&["stop", "-m", "fast", "-w"]) {
            panic!("could not stop the throwaway cluster: {error}");
        }
    }

    /// Starts the cluster again after [`ThrowawayCluster::stop`], on the same port.
    pub fn start_again(&self) {
        if let Err(error) = self.start_again_or_error() {
            panic!("could not start the throwaway cluster: {error}");
        }
    }

    fn start_again_or_error(&self) -> Result<(), String> {
        let options = format!(
            "-p {} -k {} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200",
            self.port,
            path_text(self.dir.path())?
        );
        let log = self.dir.path().join("server.log");
        self.pg_ctl(&[
            "start",
            "-w",
            "-t",
            "60",
            "-o",
            &options,
            "-l",
            path_text(&log)?,
        ])
    }

    fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    fn pg_ctl(&self, args: &[&str]) -> Result<(), String> {
        let data = self.data_dir();
        let mut all = vec!["-D", path_text(&data)?];
        all.extend_from_slice(args);
        self.run("pg_ctl", &all)
    }

    fn run(&self, program: &str, args: &[&str]) -> Result<(), String> {
        let program = self.bin.join(program);
        let mut command = match &self.run_as {
            Some(user) => {
                let mut command = Command::new("runuser");
                command.args(["-u", user, "--"]).arg(&program);
                command
            }
            None => Command::new(&program),
        };
        let output: Output = command
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .map_err(|error| format!("{}: {error}", program.display()))?;
        if output.status.success() {
            Ok(())
        } else {
            Err(format!(
                "{} {args:?} failed ({}): {}{}",
                program.display(),
                output.status,
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ))
        }
    }
}

impl Drop for ThrowawayCluster {
    fn drop(&mut self) {
        // Immediate: the data is thrown away with the directory.
        let _ = self.pg_ctl(&["stop", "-m", "immediate", "-w"]);
    }
}

/// The newest `/usr/lib/postgresql/<version>/bin` with an `initdb`, or PATH's.
fn server_bin_dir() -> Option<PathBuf> {
    let mut versions: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|entry| {
            let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
            let bin = entry.path().join("bin");
            bin.join("initdb").is_file().then_some((version, bin))
        })
        .collect();
    versions.sort();
    if let Some((_, bin)) = versions.pop() {
        return Some(bin);
    }
    std::env::var_os("PATH").and_then(|path| {
        std::env::split_paths(&path)
            .find(|dir| dir.join("initdb").is_file() && dir.join("pg_ctl").is_file())
    })
}

fn is_root() -> Result<bool, String> {
    Ok(id_of(&["-u"])? == 0)
}

/// `id <args>` as a number.
fn id_of(args: &[&str]) -> Result<u32, String> {
    let output = Command::new("id")
        .args(args)
        .output()
        .map_err(|error| format!("id: {error}"))?;
    String::from_utf8_lossy(&output.stdout)
        .trim()
        .parse()
        .map_err(|error| format!("id {args:?}: {error}"))
}

/// A port nothing listens on right now (the cluster takes it a moment later).
fn free_port() -> Result<u16, String> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|error| error.to_string())?;
    listener
        .local_addr()
        .map(|address| address.port())
        .map_err(|error| error.to_string())
}

fn path_text(path: &Path) -> Result<&str, String> {
    path.to_str()
        .ok_or_else(|| format!("{} is not a UTF-8 path", path.display()))
}
