//! How a release moves: phases and activities start when everything they depend on has ended
//! (a DAG, so independent ones run in parallel), `when:` conditions skip, failures fail, are
//! ignored, or roll back, and the release ends when nothing is left to do.

use super::*;
use crate::domain::process::{Activity, Phase, WaitSpec, WeeklyTime};

/// The id of the phase run that holds the rollback's activities. Reserved in process files.
pub const ROLLBACK: &str = "rollback";

/// A dependency is done when its dependents may start.
fn done(status: StepStatus, critical: bool) -> bool {
    match status {
        StepStatus::Success | StepStatus::Skipped | StepStatus::Ignored => true,
        StepStatus::Failed => !critical,
        _ => false,
    }
}

impl Release {
    /// Moves the release forward as far as it can go without waiting for anything outside.
    pub(super) fn advance(&mut self, fx: &mut Vec<Effect>, now: DateTime<Utc>) {
        while self.status == ReleaseStatus::Running {
            let rollback = self.phases.iter().position(|p| p.id == ROLLBACK && p.status == StepStatus::Running);
            let progressed = match rollback {
                Some(ri) => {
                    let progressed = self.step_phase(ri, fx, now);
                    if self.status == ReleaseStatus::Running && self.phases[ri].status.is_terminal() {
                        let reason = format!("{}; rolled back", self.reason.clone().unwrap_or_default());
                        self.finish(ReleaseStatus::Failed, Some(reason), fx);
                        return;
                    }
                    progressed
                }
                None => self.step_main_flow(fx, now),
            };
            if !progressed {
                return;
            }
        }
    }

    fn step_main_flow(&mut self, fx: &mut Vec<Effect>, now: DateTime<Utc>) -> bool {
        let mut progressed = false;
        for pi in 0..self.process.phases.len() {
            if self.status != ReleaseStatus::Running {
                return true;
            }
            match self.phases[pi].status {
                StepStatus::NotStarted if self.phase_ready(pi) => {
                    self.begin_phase(pi, fx);
                    progressed = true;
                }
                StepStatus::Running => progressed |= self.step_phase(pi, fx, now),
                _ => {}
            }
        }
        let main = &self.phases[..self.process.phases.len()];
        if self.status == ReleaseStatus::Running && main.iter().all(|p| p.status.is_terminal()) {
            // A skip by an operator (the activity had started) is partial; a `when:` skip is not.
            let partial = main.iter().flat_map(|p| p.activities.iter()).any(|a| {
                let critical = self.process.activity(&a.id).is_none_or(|s| s.critical);
                a.status == StepStatus::Ignored
                    || (a.status == StepStatus::Failed && !critical)
                    || (a.status == StepStatus::Skipped && a.attempt > 0)
            });
            let status = if partial { ReleaseStatus::PartialSuccess } else { ReleaseStatus::Success };
            self.finish(status, None, fx);
            return true;
        }
        progressed
    }

    fn phase_ready(&self, pi: usize) -> bool {
        self.process.phases[pi].depends_on.iter().all(|d| self.phases.iter().any(|p| &p.id == d && p.status.is_terminal()))
    }

    fn begin_phase(&mut self, pi: usize, fx: &mut Vec<Effect>) {
        let spec = self.process.phases[pi].clone();
        if let Some(condition) = &spec.when {
            match self.scope_context(Some(&spec), None).and_then(|ctx| template::evaluate(condition, &ctx)) {
                Ok(true) => {}
                Ok(false) => {
                    let reason = format!("its condition `{condition}` is false");
                    let phase = &mut self.phases[pi];
                    for a in &mut phase.activities {
                        a.status = StepStatus::Skipped;
                        a.reason = Some(reason.clone());
                    }
                    phase.status = StepStatus::Skipped;
                    fx.push(Effect::Audit {
                        actor: AuditActor::System,
                        action: "phase_skipped",
                        detail: json!({"phase": spec.id, "reason": reason}),
                    });
                    return;
                }
                Err(e) => {
                    self.phases[pi].status = StepStatus::Running;
                    self.fail_in_phase(pi, format!("cannot evaluate the condition of phase `{}`: {e}", spec.id), fx);
                    return;
                }
            }
        }
        let phase = &mut self.phases[pi];
        phase.status = StepStatus::Running;
        fx.push(Effect::Audit { actor: AuditActor::System, action: "phase_started", detail: json!({"phase": phase.id}) });
        fx.push(Effect::Notify(Notice::PhaseStarted { phase: phase.id.clone() }));
    }

    /// Starts the ready activities of a running phase; ends the phase when all have ended.
    fn step_phase(&mut self, pi: usize, fx: &mut Vec<Effect>, now: DateTime<Utc>) -> bool {
        let mut progressed = false;
        for ai in 0..self.phases[pi].activities.len() {
            if self.status != ReleaseStatus::Running || self.phases[pi].status != StepStatus::Running {
                return true;
            }
            let run = &self.phases[pi].activities[ai];
            if run.status != StepStatus::NotStarted {
                continue;
            }
            let Some(spec) = self.process.activity(&run.id).cloned() else { continue };
            let phase = &self.phases[pi];
            let ready = spec.depends_on.iter().all(|d| {
                let critical = self.process.activity(d).is_none_or(|s| s.critical);
                phase.activities.iter().any(|a| &a.id == d && done(a.status, critical))
            });
            if ready {
                self.begin_or_skip(&spec, fx, now);
                progressed = true;
            }
        }
        let phase = &mut self.phases[pi];
        if self.status == ReleaseStatus::Running
            && phase.status == StepStatus::Running
            && phase.activities.iter().all(|a| a.status.is_terminal())
        {
            finish_phase(phase, StepStatus::Success, fx);
            progressed = true;
        }
        progressed
    }

    fn begin_or_skip(&mut self, spec: &Activity, fx: &mut Vec<Effect>, now: DateTime<Utc>) {
        if let Some(condition) = &spec.when {
            let phase = self.process.phase_of(&spec.id).cloned();
            match self.scope_context(phase.as_ref(), Some(spec)).and_then(|ctx| template::evaluate(condition, &ctx)) {
                Ok(true) => {}
                Ok(false) => {
                    let reason = format!("its condition `{condition}` is false");
                    if let Some(run) = self.activity_mut(&spec.id) {
                        run.status = StepStatus::Skipped;
                        run.reason = Some(reason.clone());
                    }
                    fx.push(finished_audit(&spec.id, StepStatus::Skipped, 0, Some(&reason)));
                    return;
                }
                Err(e) => {
                    let mut attempt = 1;
                    if let Some(run) = self.activity_mut(&spec.id) {
                        run.attempt += 1;
                        attempt = run.attempt;
                    }
                    self.activity_failed(&spec.id, attempt, format!("cannot evaluate its condition: {e}"), fx, now);
                    return;
                }
            }
        }
        self.begin_activity(spec, fx, now);
    }

    fn begin_activity(&mut self, spec: &Activity, fx: &mut Vec<Effect>, now: DateTime<Utc>) {
        let id = spec.id.as_str();
        // A retried activity goes on counting, so every try has its own outbox row; a new run
        // starts here (first start or a person's retry), automatic retries do not.
        let attempt = self.activity(id).map_or(1, |run| run.attempt + 1);
        if let Some(run) = self.activity_mut(id) {
            run.run_attempt = attempt;
        }
        fx.push(Effect::Audit {
            actor: AuditActor::System,
            action: "activity_started",
            detail: json!({"activity": id, "kind": spec.kind.name(), "attempt": attempt}),
        });
        match &spec.kind {
            ActivityKind::Webhook(_) => self.begin_webhook_try(id, attempt, Duration::ZERO, fx, now),
            ActivityKind::Approval(a) => self.begin_approval(spec, a, attempt, fx, now),
            ActivityKind::Notice(n) => {
                let text = self.scope_context(self.process.phase_of(id), Some(spec)).and_then(|ctx| template::render(&n.message, &ctx));
                match text {
                    Ok(text) => {
                        if let Some(run) = self.activity_mut(id) {
                            run.attempt = attempt;
                        }
                        fx.push(Effect::Notify(Notice::Message { channel: n.channel, text }));
                        self.activity_succeeded(id, attempt, Default::default(), fx);
                    }
                    Err(e) => self.activity_failed(id, attempt, format!("cannot render the notice: {e}"), fx, now),
                }
            }
            ActivityKind::Wait(w) => match self.wait_until(spec, w, now) {
                Ok(due) => {
                    if let Some(run) = self.activity_mut(id) {
                        run.status = StepStatus::Waiting;
                        run.attempt = attempt;
                    }
                    let after_secs = (due - now).num_seconds().max(0) as u64;
                    fx.push(Effect::Audit {
                        actor: AuditActor::System,
                        action: "activity_waiting",
                        detail: json!({"activity": id, "until": due.to_rfc3339()}),
                    });
                    fx.push(Effect::Timer(Timer::due(id, attempt, after_secs)));
                }
                Err(e) => self.activity_failed(id, attempt, e, fx, now),
            },
            ActivityKind::Check(check) => self.begin_check(spec, check, attempt, fx, now),
            ActivityKind::Manual(manual) => self.begin_manual(spec, manual, attempt, fx, now),
            ActivityKind::Subprocess(sub) => self.begin_subprocess(spec, sub, attempt, fx, now),
        }
    }

    fn wait_until(&self, spec: &Activity, wait: &WaitSpec, now: DateTime<Utc>) -> Result<DateTime<Utc>, String> {
        let tz = self.process.time_zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC);
        match wait {
            WaitSpec::Duration(d) => Ok(now + chrono::Duration::from_std(d.as_duration()).unwrap_or(chrono::Duration::MAX)),
            WaitSpec::NotBefore(t) => Ok(next_weekly(*t, tz, now)),
            WaitSpec::Until(source) => {
                let ctx = self.scope_context(self.process.phase_of(&spec.id), Some(spec)).map_err(|e| e.to_string())?;
                let text = template::render(source, &ctx).map_err(|e| format!("cannot render the time to wait for: {e}"))?;
                crate::domain::inputs::parse_datetime(text.trim(), tz).map_err(|e| format!("`{text}` is not a time to wait for: {e}"))
            }
        }
    }

    pub(super) fn activity_succeeded(
        &mut self,
        id: &str,
        attempt: u32,
        outputs: serde_json::Map<String, serde_json::Value>,
        fx: &mut Vec<Effect>,
    ) {
        if let Some(run) = self.activity_mut(id) {
            run.status = StepStatus::Success;
            run.outputs = outputs;
            let retried = attempt > run.run_attempt.max(1);
            fx.push(finished_audit(id, StepStatus::Success, attempt, None));
            if retried {
                fx.push(Effect::Notify(Notice::RetryOutcome { activity: id.into(), attempt, succeeded: true }));
            }
        }
    }

    /// The activity failed for good (retries are decided before): its `on_failure` and
    /// `critical` say what happens to the release.
    pub(super) fn activity_failed(&mut self, id: &str, attempt: u32, reason: String, fx: &mut Vec<Effect>, now: DateTime<Utc>) {
        let Some(spec) = self.process.activity(id).cloned() else { return };
        let status = if spec.on_failure == OnFailure::Ignore { StepStatus::Ignored } else { StepStatus::Failed };
        let mut retried = false;
        if let Some(run) = self.activity_mut(id) {
            run.status = status;
            run.reason = Some(reason.clone());
            retried = attempt > run.run_attempt.max(1);
        }
        fx.push(finished_audit(id, status, attempt, Some(&reason)));
        if retried {
            fx.push(Effect::Notify(Notice::RetryOutcome { activity: id.into(), attempt, succeeded: false }));
        }
        let why = match (&spec.kind, attempt) {
            (ActivityKind::Webhook(_), 1) => format!("activity `{id}` failed after 1 try: {reason}"),
            (ActivityKind::Webhook(_), n) => format!("activity `{id}` failed after {n} tries: {reason}"),
            _ => format!("activity `{id}` failed: {reason}"),
        };
        let in_rollback = self.process.rollback.iter().any(|a| a.id == id);
        match spec.on_failure {
            OnFailure::Ignore => {}
            OnFailure::Fail if !spec.critical && !in_rollback => {}
            OnFailure::Rollback if !in_rollback => return self.start_rollback(id, why, fx, now),
            _ => {
                let pi = self.phases.iter().position(|p| p.activities.iter().any(|a| a.id == id)).unwrap_or(0);
                return self.fail_in_phase(pi, why, fx);
            }
        }
        self.advance(fx, now);
    }

    /// Stops the main flow and runs the rollback's activities; the release then ends Failed.
    fn start_rollback(&mut self, failed: &str, reason: String, fx: &mut Vec<Effect>, now: DateTime<Utc>) {
        let failed_phase = self.phases.iter().position(|p| p.activities.iter().any(|a| a.id == failed));
        self.stop_main_flow(failed_phase, fx);
        self.reason = Some(reason.clone());
        fx.push(Effect::Audit { actor: AuditActor::System, action: "rollback_started", detail: json!({"reason": reason}) });
        fx.push(Effect::Notify(Notice::RollbackStarted { reason }));
        if let Some(rb) = self.phases.iter_mut().find(|p| p.id == ROLLBACK) {
            rb.status = StepStatus::Running;
        }
        self.advance(fx, now);
    }

    /// Fails phase `pi` and the release; what was still running is aborted.
    pub(super) fn fail_in_phase(&mut self, pi: usize, reason: String, fx: &mut Vec<Effect>) {
        self.stop_main_flow(Some(pi), fx);
        if let Some(rb) = self.phases.iter_mut().find(|p| p.id == ROLLBACK && p.status == StepStatus::Running) {
            finish_phase(rb, StepStatus::Failed, fx);
        }
        self.finish(ReleaseStatus::Failed, Some(reason), fx);
    }

    fn stop_main_flow(&mut self, failed_phase: Option<usize>, fx: &mut Vec<Effect>) {
        // The rollback's run, when the process has one, comes after the main flow's phases.
        let main = self.process.phases.len();
        for (pi, phase) in self.phases[..main].iter_mut().enumerate() {
            for a in &mut phase.activities {
                if matches!(a.status, StepStatus::Running | StepStatus::OnHold | StepStatus::Waiting) {
                    a.status = StepStatus::Aborted;
                    fx.push(finished_audit(&a.id, StepStatus::Aborted, a.attempt, Some("the release stopped")));
                }
            }
            if phase.status == StepStatus::Running {
                let status = if Some(pi) == failed_phase { StepStatus::Failed } else { StepStatus::Aborted };
                finish_phase(phase, status, fx);
            }
        }
    }

    pub(super) fn finish(&mut self, status: ReleaseStatus, reason: Option<String>, fx: &mut Vec<Effect>) {
        let why = match status {
            ReleaseStatus::Aborted => "Not needed: the release was aborted",
            ReleaseStatus::Failed => "Not needed: the release failed",
            _ => "Not needed: the release ended",
        };
        self.finish_closing(status, reason, why.to_string(), fx);
    }

    /// Ends the release; its open requests close saying `why`.
    pub(super) fn finish_closing(&mut self, status: ReleaseStatus, reason: Option<String>, why: String, fx: &mut Vec<Effect>) {
        fx.push(Effect::Notify(Notice::RequestsClosed { activity: None, why }));
        self.status = status;
        self.reason = reason.clone();
        fx.push(Effect::Audit {
            actor: AuditActor::System,
            action: "release_finished",
            detail: json!({"status": status, "reason": reason}),
        });
        fx.push(Effect::Notify(Notice::ReleaseFinished { status, reason }));
    }

    /// What templates read: `inputs`, `release`, `activities` (status and outputs), and `vars`
    /// rendered scope by scope: the process's, then the phase's, then the activity's.
    pub fn scope_context(&self, phase: Option<&Phase>, activity: Option<&Activity>) -> Result<serde_json::Value, template::TemplateError> {
        let activities: serde_json::Map<String, serde_json::Value> = self
            .phases
            .iter()
            .flat_map(|p| p.activities.iter())
            .map(|a| (a.id.clone(), json!({"status": a.status, "outputs": a.outputs})))
            .collect();
        let mut ctx = json!({
            "inputs": self.inputs,
            "release": {"id": self.id.0, "name": self.name, "kind": self.process.kind, "risk": self.risk.level},
            "activities": activities,
            "vars": {},
        });
        let scopes = [Some(&self.process.variables), phase.map(|p| &p.variables), activity.map(|a| &a.variables)];
        for vars in scopes.into_iter().flatten() {
            let mut rendered = ctx["vars"].as_object().cloned().unwrap_or_default();
            for (name, source) in vars {
                rendered.insert(name.clone(), serde_json::Value::String(template::render(source, &ctx)?));
            }
            ctx["vars"] = serde_json::Value::Object(rendered);
        }
        Ok(ctx)
    }
}

impl Release {
    /// The process's risk rules over inputs, process variables and the clock at `now`.
    pub(super) fn assess_risk(&self, now: DateTime<Utc>) -> super::Risk {
        if self.process.risk.is_empty() {
            return super::Risk::default();
        }
        let tz = self.process.time_zone.parse::<chrono_tz::Tz>().unwrap_or(chrono_tz::UTC);
        match self.scope_context(None, None) {
            Ok(ctx) => crate::domain::risk::assess(&self.process.risk, &crate::domain::risk::with_clock(ctx, now, tz)),
            // Variables that do not render: assess as if every rule held (never safer in doubt).
            Err(e) => crate::domain::risk::assess(&self.process.risk, &json!({"error": e.to_string()})),
        }
    }
}

/// The first time at or after `now` that matches `t` in `tz`. Local times that do not exist
/// (clocks jump forward) move to the first instant after the gap.
pub fn next_weekly(t: WeeklyTime, tz: chrono_tz::Tz, now: DateTime<Utc>) -> DateTime<Utc> {
    use chrono::{Datelike, TimeZone};
    let local_now = now.with_timezone(&tz);
    for day in 0..=7 {
        let date = local_now.date_naive() + chrono::Duration::days(day);
        if t.weekday.is_some_and(|w| date.weekday().num_days_from_monday() != u32::from(w)) {
            continue;
        }
        let Some(naive) = date.and_hms_opt(u32::from(t.hour), u32::from(t.minute), 0) else { continue };
        let at = match tz.from_local_datetime(&naive) {
            chrono::LocalResult::Single(at) | chrono::LocalResult::Ambiguous(at, _) => at,
            chrono::LocalResult::None => match tz.from_local_datetime(&(naive + chrono::Duration::hours(1))).earliest() {
                Some(at) => at,
                None => continue,
            },
        };
        if at.with_timezone(&Utc) >= now {
            return at.with_timezone(&Utc);
        }
    }
    now
}
