//! Lists of releases for `/release list`: filtered, newest first, a page at a time.

use super::releases::to_i64;
use super::{corrupt, Store, StoreError};
use crate::domain::release::{ReleaseId, ReleaseStatus};
use crate::domain::{GuildId, UserId};
use chrono::{DateTime, Utc};

/// Which releases of a guild to list. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseFilter {
    pub status: Option<ReleaseStatus>,
    pub process: Option<String>,
    /// Only releases this user created or started.
    pub user: Option<UserId>,
}

/// One line of a release list.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleaseSummary {
    pub id: ReleaseId,
    pub name: String,
    pub process: String,
    pub status: ReleaseStatus,
    pub created_at: DateTime<Utc>,
}

/// A page of a list, and how many releases match in all.
#[derive(Debug, Clone, PartialEq)]
pub struct ReleasePage {
    pub releases: Vec<ReleaseSummary>,
    pub total: u64,
}

impl Store {
    pub async fn list_releases(
        &self,
        guild_id: GuildId,
        filter: &ReleaseFilter,
        page: u32,
        per_page: u32,
    ) -> Result<ReleasePage, StoreError> {
        let rows = sqlx::query_file!(
            "src/store/sql/list_releases.sql",
            to_i64(guild_id.0),
            filter.status.map(|s| s.as_str()),
            filter.process,
            filter.user.map(|u| to_i64(u.0)),
            i64::from(per_page),
            i64::from(page) * i64::from(per_page)
        )
        .fetch_all(self.pool())
        .await?;
        let mut total = 0;
        let mut releases = Vec::with_capacity(rows.len());
        for row in rows {
            total = row.total as u64;
            let status = row.status;
            releases.push(ReleaseSummary {
                id: ReleaseId(row.id),
                name: row.name,
                process: row.process_name,
                status: ReleaseStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("unknown release status {status}")))?,
                created_at: DateTime::parse_from_rfc3339(&row.created_at).map_err(corrupt)?.with_timezone(&Utc),
            });
        }
        Ok(ReleasePage { releases, total })
    }
}
