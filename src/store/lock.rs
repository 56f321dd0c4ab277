//! One instance per database. Two bots on one file would each free the other's leases at
//! start-up and send its calls in flight again, so `serve` holds an exclusive lock on
//! `<database>.lock` for as long as it runs. The operating system drops the lock when the
//! process ends, however it ends (even SIGKILL), so a crash never leaves a stale lock behind.
//! Read-only commands (`check`, `audit verify|export`) do not take it and run beside a bot.

use anyhow::Context;
use std::fs::{File, TryLockError};
use std::io::Write;
use std::path::{Path, PathBuf};

/// The held lock; dropping it (the end of `serve`) releases it.
#[derive(Debug)]
pub struct InstanceLock {
    _file: File,
}

impl InstanceLock {
    /// Takes the lock of `database`, or says who holds it.
    pub fn acquire(database: &Path) -> anyhow::Result<Self> {
        let path = PathBuf::from(format!("{}.lock", database.display()));
        let mut file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .with_context(|| format!("cannot open the instance lock {}", path.display()))?;
        match file.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => {
                let holder = std::fs::read_to_string(&path).unwrap_or_default();
                let holder = if holder.trim().is_empty() { "another process".to_string() } else { holder.trim().to_string() };
                anyhow::bail!(
                    "another Trainmaster is serving {}: {holder} (lock {}). Run one instance per database: stop that one first, or give this one its own database (TRAINMASTER_DATABASE).",
                    database.display(),
                    path.display()
                );
            }
            Err(TryLockError::Error(e)) => return Err(e).with_context(|| format!("cannot lock {}", path.display())),
        }
        let holder = format!("pid {} on {} since {}", std::process::id(), host_name(), chrono::Utc::now().to_rfc3339());
        file.set_len(0)
            .and_then(|()| file.write_all(holder.as_bytes()))
            .and_then(|()| file.flush())
            .with_context(|| format!("cannot write to the instance lock {}", path.display()))?;
        Ok(Self { _file: file })
    }
}

/// This machine's name, to tell the operator where the other instance runs.
fn host_name() -> String {
    std::env::var("HOSTNAME")
        .ok()
        .or_else(|| std::fs::read_to_string("/proc/sys/kernel/hostname").ok())
        .or_else(|| std::fs::read_to_string("/etc/hostname").ok())
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "this host".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_lock_on_the_same_database_is_refused_naming_the_first() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let database = dir.path().join("t.db");
        let first = InstanceLock::acquire(&database).unwrap_or_else(|e| panic!("{e}"));
        let refused = InstanceLock::acquire(&database).map(|_| ()).map_err(|e| e.to_string());
        let message = refused.err().unwrap_or_default();
        assert!(message.contains(&format!("pid {}", std::process::id())), "{message}");
        drop(first);
        assert!(InstanceLock::acquire(&database).is_ok(), "free again once the first is gone");
    }
}
