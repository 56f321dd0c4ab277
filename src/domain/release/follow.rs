//! A webhook that follows the work it started (`then: { poll: ... }`): after a 2xx answer the
//! activity stays Running while its polls look at the run (a GitHub Actions run, a Jenkins
//! build, an Argo CD sync) until `until` holds; `succeed_if` then decides. One activity, one
//! status, one line on the card. Each look is an outbox row due at its time (as a `check`'s),
//! so a restart resumes the poll. A run that fails, or a poll that times out, fails the try,
//! so `retry` triggers the work again under the same idempotency key.

use super::check::Look;
use super::*;
use crate::domain::process::{Activity, PollStage};

impl Release {
    /// Starts poll `stage` of a webhook's try, its URL rendered over `previous` (the webhook's
    /// answer, or the final answer of the poll before).
    pub(super) fn begin_follow(
        &mut self,
        activity: &str,
        attempt: u32,
        stage: u32,
        previous: serde_json::Value,
        fx: &mut Vec<Effect>,
        now: DateTime<Utc>,
    ) {
        let Some((spec, poll_spec)) = self.stage_spec(activity, stage) else { return };
        let ActivityKind::Webhook(hook) = &spec.kind else { return };
        let key = self.run_key(activity, attempt);
        // The first look waits as long as the answer's Retry-After asks (whole seconds).
        let first_delay = previous["headers"]["retry-after"].as_str().and_then(|s| s.trim().parse::<u64>().ok()).unwrap_or(0);
        let rendered = self.request_context(&spec, &key, attempt).and_then(|mut ctx| {
            ctx["response"] = previous;
            let url = template::render(&poll_spec.url, &ctx)?;
            let mut headers = template::render_map(&hook.headers, &ctx)?;
            headers.extend(template::render_map(&poll_spec.headers, &ctx)?);
            let auth = hook.auth.as_ref().map(|a| super::render_auth(a, &ctx)).transpose()?;
            Ok((url, headers, auth))
        });
        match rendered {
            Ok((url, headers, auth)) => {
                fx.push(Effect::Audit {
                    actor: AuditActor::System,
                    action: "webhook_following",
                    detail: json!({"activity": activity, "attempt": attempt, "poll": stage + 1, "url": url}),
                });
                let deadline = now.timestamp() + poll_spec.timeout.as_duration().as_secs() as i64;
                fx.push(Effect::Poll(Poll {
                    activity: activity.into(),
                    attempt,
                    poll: 1,
                    url,
                    headers,
                    delay_secs: first_delay.min(3_600),
                    deadline,
                    stage: Some(stage),
                    auth,
                    secrets: self.process.secrets_for(&spec),
                }));
            }
            Err(e) => self.webhook_try_failed(activity, attempt, format!("cannot render poll {}'s request: {e}", stage + 1), None, fx, now),
        }
    }

    /// Applies one look of a webhook's poll; fenced like every result (an old try, or an
    /// activity no longer running, is `Stale`).
    pub(super) fn follow_result(
        &mut self,
        poll: &Poll,
        answer: Result<Look, String>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Effect>, CommandError> {
        let activity = poll.activity.as_str();
        let stage = poll.stage.unwrap_or(0);
        let (spec, poll_spec) = self.stage_spec(activity, stage).ok_or_else(|| CommandError::NoSuchActivity(self.id, activity.into()))?;
        self.check_running_try(activity, poll.attempt)?;
        let key = self.run_key(activity, poll.attempt);
        let mut fx = vec![];
        let look = match answer {
            // 202 Accepted: the work is not there yet; look again when the server says.
            Ok(look) if look.status == 202 => Err(("the answer was 202 Accepted".to_string(), look.retry_after_secs)),
            Ok(look) => Ok(look),
            Err(why) => Err((why, None)),
        };
        let verdict = look.and_then(|look| {
            let mut ctx = self.request_context(&spec, &key, poll.attempt).map_err(|e| (e.to_string(), None))?;
            ctx["response"] = look.json.clone();
            self.record_stage_outputs(activity, &poll_spec, &look.json, &mut fx);
            match template::evaluate(&poll_spec.until, &ctx) {
                Ok(true) => Ok((look.json, ctx)),
                Ok(false) => Err((format!("`{}` was false", poll_spec.until), look.retry_after_secs)),
                Err(e) => Err((format!("`{}` could not be evaluated: {e}", poll_spec.until), look.retry_after_secs)),
            }
        });
        match verdict {
            Ok((json, ctx)) => self.stage_finished(activity, poll, &poll_spec, json, &ctx, &mut fx, now),
            Err((last, retry_after)) => {
                let interval = poll_spec.interval.as_duration().as_secs().max(retry_after.unwrap_or(0).min(3_600));
                match poll.next_look(interval, now) {
                    Some(next) => fx.push(Effect::Poll(next)),
                    None => {
                        let reason =
                            format!("the run did not finish within {} ({} looks); last look: {last}", poll_spec.timeout, poll.poll);
                        self.webhook_try_failed(activity, poll.attempt, reason, None, &mut fx, now);
                    }
                }
            }
        }
        Ok(fx)
    }

    /// The poll's `until` held: `succeed_if` decides, then the next poll starts or the activity
    /// succeeds with every output collected.
    #[allow(clippy::too_many_arguments)]
    fn stage_finished(
        &mut self,
        activity: &str,
        poll: &Poll,
        poll_spec: &PollStage,
        json: serde_json::Value,
        ctx: &serde_json::Value,
        fx: &mut Vec<Effect>,
        now: DateTime<Utc>,
    ) {
        let attempt = poll.attempt;
        let succeeded = match poll_spec.succeed_if.as_deref().map(|c| (c, template::evaluate(c, ctx))) {
            None | Some((_, Ok(true))) => Ok(()),
            Some((condition, Ok(false))) => Err(match poll_spec.reason.as_deref().map(|r| template::render(r, ctx)) {
                Some(Ok(said)) if !said.trim().is_empty() => said.trim().to_string(),
                _ => format!("the run ended, but `{condition}` was false"),
            }),
            Some((condition, Err(e))) => Err(format!("the run ended, but `{condition}` could not be evaluated: {e}")),
        };
        if let Err(reason) = succeeded {
            self.webhook_try_failed(activity, attempt, reason, None, fx, now);
            return;
        }
        let missing = poll_spec.outputs.iter().find(|(name, _)| self.activity(activity).is_none_or(|r| !r.outputs.contains_key(*name)));
        if let Some((name, path)) = missing {
            let reason = format!("the run's last answer has no `{path}` for output `{name}`");
            self.webhook_try_failed(activity, attempt, reason, None, fx, now);
            return;
        }
        let stage = poll.stage.unwrap_or(0);
        if self.stage_spec(activity, stage + 1).is_some() {
            self.begin_follow(activity, attempt, stage + 1, json, fx, now);
            return;
        }
        let outputs = self.activity(activity).map(|r| r.outputs.clone()).unwrap_or_default();
        self.activity_succeeded(activity, attempt, outputs, fx);
        self.advance(fx, now);
    }

    /// Takes the poll's mapped outputs that this answer has; a link seen for the first time is
    /// posted in the thread, so people can watch the run while it goes.
    fn record_stage_outputs(&mut self, activity: &str, poll_spec: &PollStage, json: &serde_json::Value, fx: &mut Vec<Effect>) {
        let Some(run) = self.activity_mut(activity) else { return };
        for (name, path) in &poll_spec.outputs {
            let pointer = format!("/{}", path.split('.').collect::<Vec<_>>().join("/"));
            let Some(value) = json.pointer(&pointer).filter(|v| !v.is_null()) else { continue };
            let is_new_link = value.as_str().is_some_and(|s| s.starts_with("https://") || s.starts_with("http://"))
                && run.outputs.get(name) != Some(value);
            run.outputs.insert(name.clone(), value.clone());
            if is_new_link {
                let url = value.as_str().unwrap_or_default().to_string();
                fx.push(Effect::Notify(Notice::ActivityLink { activity: activity.into(), name: name.clone(), url }));
            }
        }
    }

    fn stage_spec(&self, activity: &str, stage: u32) -> Option<(Activity, PollStage)> {
        let spec = self.process.activity(activity)?;
        let ActivityKind::Webhook(hook) = &spec.kind else { return None };
        let poll = hook.then.get(stage as usize)?.clone();
        Some((spec.clone(), poll))
    }
}
