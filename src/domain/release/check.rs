//! `check` activities: a metric gate. The activity GETs its URL every `interval` until its
//! condition holds over the JSON answer, or fails when `timeout` has passed. Each look is an
//! outbox row due at its time, so a restart loses no gate.

use super::*;
use crate::domain::process::{Activity, Auth, CheckSpec};

/// One look at a check's URL, or at the URL a webhook's poll follows. Carries its deadline so
/// every look knows when to give up.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Poll {
    pub activity: String,
    pub attempt: u32,
    /// 1 for the first look.
    pub poll: u32,
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub delay_secs: u64,
    /// When the gate fails if the condition has not held (Unix seconds).
    pub deadline: i64,
    /// Which of a webhook's `then` polls this is; `None` for a `check` activity.
    #[serde(default)]
    pub stage: Option<u32>,
    #[serde(default)]
    pub auth: Option<Auth>,
    /// The secrets the look may reveal: where each is, never its value.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretRef>,
}

impl Poll {
    /// Unique per look: `<release>/<activity>/<attempt>/poll/<n>`, with `then-<stage>/` before
    /// `poll` for a webhook's polls.
    pub fn key(&self, release: ReleaseId) -> String {
        let stage = self.stage.map(|s| format!("then-{s}/")).unwrap_or_default();
        format!("{}/{stage}poll/{}", WebhookCall::idempotency_key(release, &self.activity, self.attempt), self.poll)
    }
}

impl Poll {
    /// The next look, `after_secs` from `now`; `None` when it would come after the deadline.
    pub(super) fn next_look(&self, after_secs: u64, now: DateTime<Utc>) -> Option<Poll> {
        (now.timestamp() + after_secs as i64 <= self.deadline).then(|| Poll { poll: self.poll + 1, delay_secs: after_secs, ..self.clone() })
    }
}

/// What one look saw: the HTTP status, the JSON answer (`{}` when it had no body) and how long
/// the server asked to wait before the next look.
#[derive(Debug, Clone, PartialEq)]
pub struct Look {
    pub status: u16,
    pub json: serde_json::Value,
    pub retry_after_secs: Option<u64>,
}

impl Look {
    /// A 200 answer with `json`.
    pub fn ok(json: serde_json::Value) -> Self {
        Self { status: 200, json, retry_after_secs: None }
    }
}

impl Release {
    pub(super) fn begin_check(&mut self, spec: &Activity, check: &CheckSpec, attempt: u32, fx: &mut Vec<Effect>, now: DateTime<Utc>) {
        let id = spec.id.as_str();
        let key = self.run_key(id, attempt);
        let rendered = self.request_context(spec, &key, attempt).and_then(|ctx| {
            let url = template::render(&check.url, &ctx)?;
            let headers = template::render_map(&check.headers, &ctx)?;
            Ok((url, headers))
        });
        if let Some(run) = self.activity_mut(id) {
            run.attempt = attempt;
        }
        match rendered {
            Ok((url, headers)) => {
                if let Some(run) = self.activity_mut(id) {
                    run.status = StepStatus::Running;
                }
                let deadline = now.timestamp() + spec.timeout.as_duration().as_secs() as i64;
                let secrets = self.process.secrets_for(spec);
                let (stage, auth) = (None, None);
                fx.push(Effect::Poll(Poll {
                    activity: id.into(),
                    attempt,
                    poll: 1,
                    url,
                    headers,
                    delay_secs: 0,
                    deadline,
                    stage,
                    auth,
                    secrets,
                }));
            }
            Err(e) => self.activity_failed(id, attempt, format!("cannot render the check's request: {e}"), fx, now),
        }
    }

    /// Applies one look: the JSON answer, or why there was none. Looks for an old try, or for a
    /// check that no longer runs, are refused as `Stale`.
    pub fn poll_result(&mut self, poll: &Poll, answer: Result<Look, String>, now: DateTime<Utc>) -> Result<Vec<Effect>, CommandError> {
        if poll.stage.is_some() {
            return self.follow_result(poll, answer, now);
        }
        let answer = answer.map(|look| look.json);
        let activity = poll.activity.as_str();
        let spec = self.process.activity(activity).cloned().ok_or_else(|| CommandError::NoSuchActivity(self.id, activity.into()))?;
        let ActivityKind::Check(check) = &spec.kind else { return Err(CommandError::NoSuchActivity(self.id, activity.into())) };
        self.check_running_try(activity, poll.attempt)?;
        let verdict = answer.and_then(|response| {
            let mut ctx = self.scope_context(self.process.phase_of(activity), Some(&spec)).map_err(|e| e.to_string())?;
            ctx["response"] = response;
            match template::evaluate(&check.condition, &ctx) {
                Ok(true) => Ok(()),
                Ok(false) => Err(format!("`{}` was false", check.condition)),
                Err(e) => Err(format!("`{}` could not be evaluated: {e}", check.condition)),
            }
        });
        let mut fx = vec![];
        match verdict {
            Ok(()) => {
                fx.push(Effect::Audit {
                    actor: AuditActor::System,
                    action: "check_passed",
                    detail: json!({"activity": activity, "attempt": poll.attempt, "looks": poll.poll}),
                });
                self.activity_succeeded(activity, poll.attempt, Default::default(), &mut fx);
                self.advance(&mut fx, now);
            }
            Err(last) => match poll.next_look(check.interval.as_duration().as_secs(), now) {
                Some(next) => fx.push(Effect::Poll(next)),
                None => {
                    let reason = format!("the gate stayed closed for {} ({} looks); last look: {last}", spec.timeout, poll.poll);
                    self.activity_failed(activity, poll.attempt, reason, &mut fx, now);
                }
            },
        }
        Ok(fx)
    }
}
