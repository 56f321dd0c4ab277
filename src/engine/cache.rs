//! The releases the webhook workers are moving, kept as the last commit left them, so recording a
//! result does not read the release back (four statements and a parse of its pinned process)
//! while the single writer is held.
//!
//! Correctness rests on two rules. Every change to a release goes through `Engine::save`, which
//! puts the saved release here as *pending* before its transaction commits; a pending entry is
//! never served, so whoever gets the writer next reads the database, which holds exactly what
//! committed. Only the commit that put an entry confirms it (`confirm` checks the generation
//! `put_pending` returned), so a late confirmation can never bless a newer, uncommitted save. A
//! failed commit removes its entry. One instance owns the database (the instance lock), so no
//! writer outside this process changes releases under the cache.

use crate::domain::release::{Release, ReleaseId};
use std::collections::HashMap;
use std::sync::Mutex;

#[derive(Default)]
pub struct ReleaseCache {
    inner: Mutex<Inner>,
}

#[derive(Default)]
struct Inner {
    generation: u64,
    entries: HashMap<ReleaseId, Entry>,
}

struct Entry {
    release: Release,
    generation: u64,
    pending: bool,
}

/// What `put_pending` hands back, to confirm or drop exactly that save.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Saved {
    pub id: ReleaseId,
    generation: u64,
}

impl ReleaseCache {
    fn inner(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The release as its last confirmed commit left it; `None` when unknown or a save of it
    /// has not been confirmed.
    pub fn get(&self, id: ReleaseId) -> Option<Release> {
        self.inner().entries.get(&id).filter(|e| !e.pending).map(|e| e.release.clone())
    }

    /// Records a save inside a transaction that has not committed yet.
    pub fn put_pending(&self, release: &Release) -> Saved {
        let mut inner = self.inner();
        inner.generation += 1;
        let generation = inner.generation;
        inner.entries.insert(release.id, Entry { release: release.clone(), generation, pending: true });
        Saved { id: release.id, generation }
    }

    /// The pending save of `id`, when there is one: taken by whoever holds the writer, so it is
    /// their own save.
    pub fn pending(&self, id: ReleaseId) -> Option<Saved> {
        self.inner().entries.get(&id).filter(|e| e.pending).map(|e| Saved { id, generation: e.generation })
    }

    /// The save's transaction committed: its release may be served, unless a newer save of the
    /// same release came since. An ended release leaves: nothing moves it any more.
    pub fn confirm(&self, saved: Saved) {
        let mut inner = self.inner();
        let Some(entry) = inner.entries.get_mut(&saved.id).filter(|e| e.generation == saved.generation) else { return };
        if entry.release.status.is_finished() {
            inner.entries.remove(&saved.id);
        } else {
            entry.pending = false;
        }
    }

    /// Forgets a release: its transaction failed, or it was deleted.
    pub fn forget(&self, id: ReleaseId) {
        self.inner().entries.remove(&id);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn release(id: i64) -> Release {
        let process = crate::domain::process_file::parse(
            "p.yaml",
            "name: p\nnotices: { channel: \"1\" }\nphases:\n  - id: a\n    activities:\n      - { id: x, wait: { duration: 1m } }\n",
        )
        .unwrap_or_else(|e| panic!("{e:?}"));
        let mut r = Release::new_draft(
            ReleaseId(id),
            crate::domain::GuildId(1),
            "r".into(),
            process,
            Default::default(),
            crate::domain::UserId(1),
            chrono::Utc::now(),
        );
        r.status = crate::domain::release::ReleaseStatus::Running;
        r
    }

    #[test]
    fn a_save_is_served_only_once_its_own_commit_confirmed_it() {
        let cache = ReleaseCache::default();
        let first = cache.put_pending(&release(1));
        assert!(cache.get(ReleaseId(1)).is_none(), "pending: the next writer reads the database");
        let mut newer = release(1);
        newer.name = "newer".into();
        let second = cache.put_pending(&newer);
        cache.confirm(first);
        assert!(cache.get(ReleaseId(1)).is_none(), "a late confirmation does not bless a newer, uncommitted save");
        cache.confirm(second);
        assert_eq!(cache.get(ReleaseId(1)).map(|r| r.name), Some("newer".to_string()));
        cache.forget(ReleaseId(1));
        assert!(cache.get(ReleaseId(1)).is_none());
    }

    #[test]
    fn an_ended_release_leaves_the_cache() {
        let cache = ReleaseCache::default();
        let mut ended = release(2);
        ended.status = crate::domain::release::ReleaseStatus::Success;
        let saved = cache.put_pending(&ended);
        cache.confirm(saved);
        assert!(cache.get(ReleaseId(2)).is_none());
    }
}
