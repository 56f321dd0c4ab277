//! The outbox: side effects written with the state change that implies them, delivered at least
//! once by workers that claim rows under a lease and complete them fenced by their claim number.

use super::tx::OutboxInsert;
use super::{corrupt, Store, StoreError, Tx};
use crate::domain::release::{AdvanceNotice, Notice, Poll, Release, ReleaseId, StartTimer, Timer, WebhookCall};
use crate::domain::{ChannelId, GuildId};
use serde::{Deserialize, Serialize};
use std::time::Duration;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Topic {
    Webhook,
    Chat,
}

impl Topic {
    fn as_str(self) -> &'static str {
        match self {
            Topic::Webhook => "webhook",
            Topic::Chat => "chat",
        }
    }
}

/// A row of the webhook topic: a try to send, or a timer (a wait, a callback deadline) to fire.
/// The variant keeps its first name, `Deadline`, because queued rows store it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WebhookWork {
    Call(WebhookCall),
    Deadline(Timer),
    /// A look at a `check` activity's URL.
    Poll(Poll),
    /// A scheduled release's planned start.
    ScheduledStart(StartTimer),
}

/// A row of the chat topic, as webhook rows have `WebhookWork`: a redraw of a release's card, a
/// message about a release, or the day's audit head (about no release). Rows queued by earlier
/// versions read as what they are (see `StoredChatWork`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged, from = "StoredChatWork")]
pub enum ChatWork {
    Card { card: super::CardRedraw },
    AuditHead { audit_head: AuditHeadPost },
    Advance { advance: AdvancePost },
    Board { board: super::BoardRedraw },
    Digest { digest: DigestPost },
    Message(ChatMessage),
}

/// The weekly digest of server `guild_id` for the week before `at`, for `channel_id`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct DigestPost {
    pub guild_id: GuildId,
    pub channel_id: ChannelId,
    pub at: chrono::DateTime<chrono::Utc>,
}

/// Queues the digest of `digest.at` once (its key); returns whether it was queued now.
pub async fn enqueue_digest(tx: &mut Tx, digest: DigestPost) -> Result<bool, StoreError> {
    let key = format!("digest/{}/{}", digest.guild_id, digest.at.timestamp());
    let payload = serde_json::to_string(&ChatWork::Digest { digest }).map_err(corrupt)?;
    let now = tx.now_ms();
    let done = sqlx::query_file!("src/store/sql/insert_outbox.sql", Topic::Chat.as_str(), key, None::<i64>, payload, now, 0)
        .execute(&mut **tx)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// Post or bring up to date the advance shipping notice of a release, as it stands when the row
/// is delivered. `generation` is the schedule the row was queued for: a row of an older schedule
/// posts nothing new (a newer row is queued), though it still edits a notice already posted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct AdvancePost {
    pub release_id: ReleaseId,
    pub channel_id: ChannelId,
    pub generation: u32,
}

/// The audit chain's head, posted once a day (UTC) to the audit channel whether or not a release
/// ended, so even a quiet day's history is pinned outside the database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditHeadPost {
    pub channel_id: ChannelId,
    pub day: String,
    pub row: i64,
    pub hash: String,
}

/// Every shape a chat row has had. Before `AuditHead` the day's head was queued as a message of
/// "release 0" with a `daily_audit_head` notice; it reads as the `AuditHead` it is.
#[derive(Deserialize)]
#[serde(untagged)]
enum StoredChatWork {
    Card { card: super::CardRedraw },
    AuditHead { audit_head: AuditHeadPost },
    Advance { advance: AdvancePost },
    Board { board: super::BoardRedraw },
    Digest { digest: DigestPost },
    Message(ChatMessage),
    OldAuditHead { channel_id: ChannelId, notice: OldAuditHeadNotice },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OldAuditHeadNotice {
    DailyAuditHead { day: String, row: i64, hash: String },
}

impl From<StoredChatWork> for ChatWork {
    fn from(stored: StoredChatWork) -> Self {
        match stored {
            StoredChatWork::Card { card } => ChatWork::Card { card },
            StoredChatWork::AuditHead { audit_head } => ChatWork::AuditHead { audit_head },
            StoredChatWork::Advance { advance } => ChatWork::Advance { advance },
            StoredChatWork::Board { board } => ChatWork::Board { board },
            StoredChatWork::Digest { digest } => ChatWork::Digest { digest },
            StoredChatWork::Message(message) => ChatWork::Message(message),
            StoredChatWork::OldAuditHead { channel_id, notice: OldAuditHeadNotice::DailyAuditHead { day, row, hash } } => {
                ChatWork::AuditHead { audit_head: AuditHeadPost { channel_id, day, row, hash } }
            }
        }
    }
}

/// A chat message to post: a notice about a release, for its notices channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    pub channel_id: ChannelId,
    /// The release's server: the notifier refuses to post into a channel of another one.
    /// `None` in rows queued before it was kept.
    #[serde(default)]
    pub guild_id: Option<GuildId>,
    /// Where it goes, decided once when it is queued, so every try posts to the same place.
    /// `None` in rows queued before it was kept (decided when posted, as then).
    #[serde(default)]
    pub destination: Option<Destination>,
    pub release_id: ReleaseId,
    pub release_name: String,
    pub notice: Notice,
}

/// Where a chat message goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Destination {
    /// `channel_id` itself.
    Channel,
    /// The thread under the release's card in `channel_id`: its log. The notifier waits for the
    /// card, starts the thread if it is missing, and falls back to the channel (saying so once)
    /// only when the channel refuses threads.
    ReleaseThread,
}

/// A claimed outbox row. `claims` fences its completion.
#[derive(Debug, Clone)]
pub struct OutboxItem {
    pub id: i64,
    pub key: String,
    pub release_id: Option<ReleaseId>,
    pub payload: serde_json::Value,
    pub claims: i64,
}

pub(super) async fn enqueue_chat(tx: &mut Tx, release: &Release, notice: &Notice) -> Result<(), StoreError> {
    match release.process.notices_channel {
        Some(channel) => enqueue_chat_to(tx, release, channel, notice).await,
        // Creating a release gives it a channel (`Engine::draft`); a release without one has
        // nowhere to say anything, and says nothing rather than fail its transition.
        None => {
            tracing::warn!(release = %release.id, "a release without a notices channel; its notice is not posted");
            Ok(())
        }
    }
}

/// A notice about `release` for a channel other than its process's notices channel.
pub async fn enqueue_chat_to(tx: &mut Tx, release: &Release, channel_id: ChannelId, notice: &Notice) -> Result<(), StoreError> {
    // Chat rows are numbered per release; the count is read once per transaction (rows are never
    // deleted, so it only grows by what this transaction adds).
    let n = match tx.chat_rows.get(&release.id) {
        Some(n) => *n,
        None => {
            // Rows held back for the commit count too (an advance notice queued earlier in it).
            let held = tx.outbox_rows.iter().filter(|r| r.release_id == Some(release.id.0) && r.topic == Topic::Chat.as_str()).count();
            sqlx::query_file_scalar!("src/store/sql/count_chat_rows.sql", release.id.0).fetch_one(&mut **tx).await? + held as i64
        }
    };
    let to_thread = Some(channel_id) == release.process.notices_channel && notice.is_progress();
    let message = ChatMessage {
        channel_id,
        guild_id: Some(release.guild_id),
        destination: Some(if to_thread { Destination::ReleaseThread } else { Destination::Channel }),
        release_id: release.id,
        release_name: release.name.clone(),
        notice: notice.clone(),
    };
    let now = tx.now_ms();
    let payload = serde_json::to_value(ChatWork::Message(message)).map_err(corrupt)?;
    insert(tx, Topic::Chat, &format!("{}/chat/{}", release.id, n + 1), release, &payload, now);
    tx.chat_rows.insert(release.id, n + 1);
    Ok(())
}

/// The day's audit head for the audit channel, once per UTC day (the key), tied to no release.
/// Returns whether it was enqueued now (false: already enqueued today, or no audit rows yet).
pub async fn enqueue_daily_audit_head(tx: &mut Tx, channel_id: ChannelId, day: &str) -> Result<bool, StoreError> {
    let Some((row, hash)) = Store::audit_head(tx).await? else { return Ok(false) };
    let audit_head = AuditHeadPost { channel_id, day: day.to_string(), row, hash };
    let payload = serde_json::to_string(&ChatWork::AuditHead { audit_head }).map_err(corrupt)?;
    let done = sqlx::query_file!(
        "src/store/sql/insert_outbox.sql",
        Topic::Chat.as_str(),
        format!("audit-head/{day}"),
        None::<i64>,
        payload,
        tx.now_ms(),
        0
    )
    .execute(&mut **tx)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn enqueue_webhook(tx: &mut Tx, release: &Release, call: &WebhookCall) -> Result<(), StoreError> {
    let key = WebhookCall::idempotency_key(release.id, &call.activity, call.attempt);
    let due = tx.now_ms() + call.delay_ms as i64;
    let payload = serde_json::to_value(WebhookWork::Call(call.clone())).map_err(corrupt)?;
    insert(tx, Topic::Webhook, &key, release, &payload, due);
    Ok(())
}

/// Timers ride the webhook topic: the webhook worker owns everything about a try, and waits
/// are fired by the same due-time claim.
pub(super) async fn enqueue_deadline(tx: &mut Tx, release: &Release, deadline: &Timer) -> Result<(), StoreError> {
    let key = format!("{}/{}", WebhookCall::idempotency_key(release.id, &deadline.activity, deadline.attempt), deadline.key_suffix());
    let due = tx.now_ms() + (deadline.after_secs as i64) * 1_000;
    let payload = serde_json::to_value(WebhookWork::Deadline(deadline.clone())).map_err(corrupt)?;
    insert(tx, Topic::Webhook, &key, release, &payload, due);
    Ok(())
}

/// A scheduled start rides the webhook topic like every timer, due at its time; its key carries
/// the schedule's generation, so scheduling twice never queues the same start twice.
pub(super) async fn enqueue_scheduled_start(tx: &mut Tx, release: &Release, start: &StartTimer) -> Result<(), StoreError> {
    let payload = serde_json::to_value(WebhookWork::ScheduledStart(start.clone())).map_err(corrupt)?;
    insert(tx, Topic::Webhook, &start.key(release.id), release, &payload, start.at.timestamp_millis());
    Ok(())
}

/// The advance shipping notice, due at `notice.due` (at once when `None` or past).
pub(super) async fn enqueue_advance_notice(tx: &mut Tx, release: &Release, notice: &AdvanceNotice) -> Result<(), StoreError> {
    let Some(channel_id) = release.process.notices_channel else { return Ok(()) };
    // Reads outbox rows: the ones held back must be there.
    tx.flush().await?;
    let n = sqlx::query_file_scalar!("src/store/sql/count_advance_rows.sql", release.id.0).fetch_one(&mut **tx).await?;
    // A notice already posted is brought up to date at once; a first one waits for its time.
    let posted = sqlx::query_file_scalar!("src/store/sql/count_advance_posted.sql", release.id.0).fetch_one(&mut **tx).await? > 0;
    let due = match notice.due {
        Some(due) if !posted => due.timestamp_millis().max(tx.now_ms()),
        _ => tx.now_ms(),
    };
    let advance = AdvancePost { release_id: release.id, channel_id, generation: notice.generation };
    let payload = serde_json::to_value(ChatWork::Advance { advance }).map_err(corrupt)?;
    insert(tx, Topic::Chat, &format!("{}/advance/{}", release.id, n + 1), release, &payload, due);
    Ok(())
}

pub(super) async fn enqueue_poll(tx: &mut Tx, release: &Release, poll: &Poll) -> Result<(), StoreError> {
    let due = tx.now_ms() + (poll.delay_secs as i64) * 1_000;
    let payload = serde_json::to_value(WebhookWork::Poll(poll.clone())).map_err(corrupt)?;
    insert(tx, Topic::Webhook, &poll.key(release.id), release, &payload, due);
    Ok(())
}

/// Queues one row for `release`, written at the transaction's commit (`Tx::flush`); a replayed
/// key is ignored then. Hotfix releases' rows get priority 1, so their work is claimed first.
fn insert(tx: &mut Tx, topic: Topic, key: &str, release: &Release, payload: &serde_json::Value, due_ms: i64) {
    let priority = i64::from(release.process.kind == crate::domain::process::ReleaseKind::Hotfix);
    tx.outbox_rows.push(OutboxInsert {
        topic: topic.as_str(),
        key: key.to_string(),
        release_id: Some(release.id.0),
        payload: payload.to_string(),
        due_ms,
        priority,
    });
}

impl Store {
    /// Claims the earliest due row of `topic` for `lease`; a worker that dies leaves the row to be
    /// claimed again when the lease runs out.
    pub async fn claim_outbox(&self, topic: Topic, lease: Duration) -> Result<Option<OutboxItem>, StoreError> {
        let mut tx = self.begin().await?;
        let item = Self::claim_in(&mut tx, topic, lease).await?;
        tx.commit().await?;
        Ok(item)
    }

    /// Claims the next due row of `topic` inside the caller's transaction, so a worker that
    /// records a result can take its next task in the same commit.
    pub async fn claim_in(tx: &mut Tx, topic: Topic, lease: Duration) -> Result<Option<OutboxItem>, StoreError> {
        Ok(Self::claim_many_in(tx, topic, lease, 1).await?.pop())
    }

    /// Claims up to `n` due rows of `topic` in `tx` (most urgent first).
    pub async fn claim_many_in(tx: &mut Tx, topic: Topic, lease: Duration, n: usize) -> Result<Vec<OutboxItem>, StoreError> {
        // The rows this transaction queued are work to claim too.
        tx.flush().await?;
        let rows = sqlx::query_file!("src/store/sql/claim_outbox.sql", topic.as_str(), tx.now_ms(), lease.as_millis() as i64, n as i64)
            .fetch_all(&mut **tx)
            .await?;
        let mut items: Vec<OutboxItem> = rows
            .into_iter()
            .map(|row| OutboxItem {
                id: row.id,
                key: row.key,
                release_id: row.release_id.map(ReleaseId),
                // Text that is not JSON stays a string: the worker cannot read it as work and sets
                // the row aside, where an error here would leave it leased and poison its
                // claimer's commit.
                payload: serde_json::from_str(&row.payload_json).unwrap_or(serde_json::Value::String(row.payload_json)),
                claims: row.claims,
            })
            .collect();
        // RETURNING gives no order: the oldest (the lowest id among equals) goes first.
        items.sort_by_key(|i| i.id);
        Ok(items)
    }

    /// Marks a claimed row delivered. Returns false when the claim is no longer current (another
    /// worker re-claimed it after the lease ran out): the caller must not apply its result.
    pub async fn complete_outbox(tx: &mut Tx, item: &OutboxItem) -> Result<bool, StoreError> {
        Ok(Self::complete_many(tx, &[item]).await?.contains(&item.id))
    }

    /// Completes every row of `items` whose claim is still current; returns the ids completed.
    pub async fn complete_many(tx: &mut Tx, items: &[&OutboxItem]) -> Result<std::collections::HashSet<i64>, StoreError> {
        let claims = serde_json::Value::Array(items.iter().map(|i| serde_json::json!([i.id, i.claims])).collect()).to_string();
        let done = sqlx::query_file_scalar!("src/store/sql/complete_outbox.sql", tx.now_ms(), claims).fetch_all(&mut **tx).await?;
        Ok(done.into_iter().collect())
    }

    /// Puts a claimed row back, to be tried again after `delay`.
    pub async fn retry_outbox(&self, item: &OutboxItem, delay: Duration, error: &str) -> Result<(), StoreError> {
        sqlx::query_file!(
            "src/store/sql/retry_outbox.sql",
            self.now().timestamp_millis() + delay.as_millis() as i64,
            error,
            item.id,
            item.claims
        )
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Frees every lease. Only for start-up: Trainmaster runs one instance per database, so a
    /// lease found then belongs to a process that died mid-delivery, and its row is due again now
    /// (re-sent with the same idempotency key) rather than when the lease would have run out.
    pub async fn release_stale_leases(&self) -> Result<u64, StoreError> {
        Ok(sqlx::query_file!("src/store/sql/release_leases.sql").execute(self.writer()).await?.rows_affected())
    }

    /// When the next row of `topic` becomes claimable, in unix milliseconds.
    pub async fn next_due(&self, topic: Topic) -> Result<Option<i64>, StoreError> {
        Ok(sqlx::query_file_scalar!("src/store/sql/next_due_outbox.sql", topic.as_str()).fetch_one(self.pool()).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chat_rows_read_as_the_work_they_are_whatever_their_age() {
        let card: ChatWork = serde_json::from_str(r#"{"card": {"release_id": 4, "channel_id": 9}}"#).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(card, ChatWork::Card { card } if card.release_id == ReleaseId(4) && card.channel_id == ChannelId(9)));
        // A message queued before guild and destination were kept.
        let old = r#"{"channel_id": 9, "release_id": 4, "release_name": "w", "notice": {"type": "release_started", "by": "alice"}}"#;
        let message: ChatWork = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(message, ChatWork::Message(ChatMessage { guild_id: None, destination: None, .. })), "{message:?}");
        assert!(serde_json::from_str::<ChatWork>(r#"{"nonsense": 1}"#).is_err());
        // The day's audit head as it was queued before it had its own shape: a message of release 0.
        let old = r#"{"channel_id": 9, "guild_id": null, "destination": "channel", "release_id": 0, "release_name": "",
            "notice": {"type": "daily_audit_head", "day": "2026-12-06", "row": 12, "hash": "ab"}}"#;
        let head: ChatWork = serde_json::from_str(old).unwrap_or_else(|e| panic!("{e}"));
        let expected = AuditHeadPost { channel_id: ChannelId(9), day: "2026-12-06".into(), row: 12, hash: "ab".into() };
        assert_eq!(head, ChatWork::AuditHead { audit_head: expected.clone() });
        let now = serde_json::to_string(&ChatWork::AuditHead { audit_head: expected.clone() }).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(serde_json::from_str::<ChatWork>(&now).ok(), Some(ChatWork::AuditHead { audit_head: expected }));
    }
}
