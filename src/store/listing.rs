//! Lists of releases for `/release list`: filtered, newest first, a page at a time.

use super::releases::to_i64;
use super::{corrupt, Store, StoreError};
use crate::domain::release::{ReleaseId, ReleaseStatus};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// Which releases of a guild to list. Empty fields match everything.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ReleaseFilter {
    pub status: Option<ReleaseStatus>,
    pub process: Option<String>,
    /// Only releases this user created or started.
    pub user: Option<u64>,
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
    pub async fn list_releases(&self, guild_id: u64, filter: &ReleaseFilter, page: u32, per_page: u32) -> Result<ReleasePage, StoreError> {
        let rows = sqlx::query(include_str!("sql/list_releases.sql"))
            .bind(to_i64(guild_id))
            .bind(filter.status.map(|s| s.as_str()))
            .bind(filter.process.as_deref())
            .bind(filter.user.map(to_i64))
            .bind(i64::from(per_page))
            .bind(i64::from(page) * i64::from(per_page))
            .fetch_all(self.pool())
            .await?;
        let mut total = 0;
        let mut releases = Vec::with_capacity(rows.len());
        for row in rows {
            total = row.try_get::<i64, _>("total")? as u64;
            let status: String = row.try_get("status")?;
            let created_at: String = row.try_get("created_at")?;
            releases.push(ReleaseSummary {
                id: ReleaseId(row.try_get("id")?),
                name: row.try_get("name")?,
                process: row.try_get("process_name")?,
                status: ReleaseStatus::parse(&status).ok_or_else(|| StoreError::Corrupt(format!("unknown release status {status}")))?,
                created_at: DateTime::parse_from_rfc3339(&created_at).map_err(corrupt)?.with_timezone(&Utc),
            });
        }
        Ok(ReleasePage { releases, total })
    }
}
