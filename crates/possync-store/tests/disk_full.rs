//! The SQLite store on a disk that fills up and frees again: writes fail with
//! `Unavailable` while it is full, nothing written before is lost, and writes
//! work again as soon as there is room, without a restart.
//!
//! The data directory is a small tmpfs mounted for the test (root only). Where
//! mounting is impossible the test says so loudly and passes; with
//! `POSSYNC_REQUIRE_TMPFS=1` (CI) it fails instead.

use possync_core::{CustomerNew, Name};
use possync_store::sqlite::SqliteStore;
use possync_store::{Store, StoreError};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A tmpfs mounted on a fresh temporary directory, unmounted on drop.
struct SmallDisk {
    mount_point: PathBuf,
    _parent: tempfile::TempDir,
}

impl SmallDisk {
    fn mount(size: &str) -> Option<SmallDisk> {
        let parent = tempfile::tempdir().ok()?;
        let mount_point = parent.path().join("disk");
        std::fs::create_dir(&mount_point).ok()?;
        let mounted = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(&mount_point)
            .status()
            .is_ok_and(|status| status.success());
        mounted.then_some(SmallDisk {
            mount_point,
            _parent: parent,
        })
    }

    fn path(&self) -> &Path {
        &self.mount_point
    }

    /// Writes a filler file until the disk is full.
    fn fill(&self) -> PathBuf {
        let filler = self.mount_point.join("filler");
        let mut file = std::fs::File::create(&filler).unwrap();
        let block = vec![0u8; 64 * 1024];
        while file.write_all(&block).is_ok() {}
        // The last bytes, one at a time.
        while file.write_all(&[0]).is_ok() {}
        let _ = file.sync_all();
        filler
    }
}

impl Drop for SmallDisk {
    fn drop(&mut self) {
        let _ = Command::new("umount")
            .arg("-l")
            .arg(&self.mount_point)
            .status();
    }
}

fn small_disk_or_skip() -> Option<SmallDisk> {
    match SmallDisk::mount("8m") {
        Some(disk) => Some(disk),
        None if std::env::var("POSSYNC_REQUIRE_TMPFS").is_ok_and(|value| value == "1") => {
            panic!("POSSYNC_REQUIRE_TMPFS=1 but a tmpfs could not be mounted (run as root)")
        }
        None => {
            eprintln!(
                "\n*** SKIPPED: the full-disk test needs to mount a tmpfs (run as root); \
                 set POSSYNC_REQUIRE_TMPFS=1 to make this a failure ***\n"
            );
            None
        }
    }
}

fn customer(name: &str) -> CustomerNew {
    CustomerNew {
        name: Name::parse(name).unwrap(),
        email: None,
        phone: None,
    }
}

#[tokio::test]
async fn a_full_disk_refuses_writes_loses_nothing_and_recovers_once_space_returns() {
    let Some(disk) = small_disk_or_skip() else {
        return;
    };
    let store = SqliteStore::open(&disk.path().join("possync.db"))
        .await
        .unwrap();
    let before = store
        .create_customer(&customer("Before the disk filled"))
        .await
        .unwrap();

    let filler = disk.fill();
    let mut refusals = Vec::new();
    for attempt in 0..20 {
        // Large enough to need new pages in the WAL.
        let name = format!("{attempt} {}", "x".repeat(100));
        match store.create_customer(&customer(&name)).await {
            Err(StoreError::Unavailable(message)) => refusals.push(message),
            Err(other) => panic!("a full disk answered {other:?}"),
            Ok(_) => {}
        }
    }
    assert!(!refusals.is_empty(), "not one write failed on a full disk");
    assert!(
        refusals
            .iter()
            .any(|message| message.contains("disk holding the database is full")),
        "no refusal says the disk is full: {refusals:?}"
    );

    std::fs::remove_file(&filler).unwrap();
    let after = store
        .create_customer(&customer("After space returned"))
        .await
        .expect("once there is room again, the very next write succeeds");
    let names: Vec<String> = store
        .list_customers()
        .await
        .unwrap()
        .into_iter()
        .map(|customer| customer.name.as_str().to_owned())
        .collect();
    assert!(
        names.contains(&before.name.as_str().to_owned()),
        "{names:?}"
    );
    assert!(names.contains(&after.name.as_str().to_owned()), "{names:?}");
    store.close().await;
}
