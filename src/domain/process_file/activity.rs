//! Checks one activity: its kind's options, templates, failure handling.

use super::raw::*;
use super::Checker;
use crate::domain::process::*;
use crate::domain::template::Names;
use crate::domain::{HumanDuration, Principal};

/// What an activity's templates may read, and where it sits.
pub struct Scope<'a> {
    /// Names for templates (URLs, bodies, messages): inputs, vars, outputs of what ran before.
    pub names: &'a Names,
    pub in_rollback: bool,
    pub has_rollback: bool,
    /// The process's secret names; the activity may add its own.
    pub secrets: &'a [String],
}

/// A `subprocess` activity's reference to another process, checked once all files are loaded.
#[derive(Debug, Clone)]
pub struct SubprocessRef {
    pub activity: String,
    pub process: String,
    pub inputs: Vec<String>,
    pub line: u64,
    pub column: u64,
}

const KIND_HINT: &str = "write exactly one of `webhook:`, `approval:`, `wait:`, `manual:`, `notice:`, `check:`, `subprocess:`";

pub fn check_activity(c: &mut Checker, raw: &At<RawActivity>, scope: &Scope, refs: &mut Vec<SubprocessRef>) -> Option<Activity> {
    let a = &raw.value;
    let id = &a.id.value;
    let given: Vec<&'static str> = [
        a.webhook.is_some().then_some("webhook"),
        a.approval.is_some().then_some("approval"),
        a.wait.is_some().then_some("wait"),
        a.manual.is_some().then_some("manual"),
        a.notice.is_some().then_some("notice"),
        a.check.is_some().then_some("check"),
        a.subprocess.is_some().then_some("subprocess"),
    ]
    .into_iter()
    .flatten()
    .collect();
    if given.len() > 1 {
        c.at(raw, format!("activity `{id}` has {} kinds: {}", given.len(), given.join(", ")), Some(format!("{KIND_HINT}; split it")));
        return None;
    }
    let names = scope.names;
    let secrets = check_secrets(c, &a.secrets);
    let own = a.secrets.keys().filter(|n| crate::domain::secrets::valid_name(n)).cloned();
    let secret_names: Vec<String> = scope.secrets.iter().cloned().chain(own).collect();
    let kind = if let Some(w) = &a.webhook {
        ActivityKind::Webhook(check_webhook(c, w, names, &secret_names))
    } else if let Some(ap) = &a.approval {
        ActivityKind::Approval(check_approval(c, ap, names))
    } else if let Some(w) = &a.wait {
        ActivityKind::Wait(check_wait(c, w, names)?)
    } else if let Some(m) = &a.manual {
        c.template(&m.value.checklist, &m.value.checklist.value, names);
        ActivityKind::Manual(ManualSpec { checklist: m.value.checklist.value.clone() })
    } else if let Some(n) = &a.notice {
        c.template(&n.value.message, &n.value.message.value, names);
        let channel = n.value.channel.as_ref().map(|ch| c.channel(ch));
        ActivityKind::Notice(NoticeSpec { message: n.value.message.value.clone(), channel })
    } else if let Some(ch) = &a.check {
        ActivityKind::Check(check_check(c, ch, names, &secret_names))
    } else if let Some(s) = &a.subprocess {
        let sp = &s.value;
        if !super::valid_id(&sp.process.value) {
            c.at(&sp.process, format!("`{}` is not a process name", sp.process.value), Some(super::ID_RULE.into()));
        }
        for value in sp.inputs.values() {
            c.template(value, &value.value, names);
        }
        refs.push(SubprocessRef {
            activity: id.clone(),
            process: sp.process.value.clone(),
            inputs: sp.inputs.keys().cloned().collect(),
            line: sp.process.line,
            column: sp.process.column,
        });
        ActivityKind::Subprocess(SubprocessSpec {
            process: sp.process.value.clone(),
            inputs: sp.inputs.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
        })
    } else {
        c.at(raw, format!("activity `{id}` has no kind"), Some(KIND_HINT.into()));
        return None;
    };

    let takes_timeout = matches!(kind, ActivityKind::Webhook(_) | ActivityKind::Check(_));
    let default_timeout = HumanDuration::from_secs(if matches!(kind, ActivityKind::Check(_)) { 3_600 } else { 30 });
    if let (Some(t), false) = (&a.timeout, takes_timeout) {
        c.at(
            t,
            format!("`timeout` has no meaning for a {} activity", kind.name()),
            Some("`timeout` applies to webhook and check activities; a wait says how long with `wait: {duration: ...}`".into()),
        );
    }
    let timeout = a.timeout.as_ref().and_then(|t| c.duration(t)).unwrap_or(default_timeout);
    let mut retry = Retry::default();
    if let Some(r) = &a.retry {
        if !matches!(kind, ActivityKind::Webhook(_)) {
            c.at(r, format!("`retry` has no meaning for a {} activity", kind.name()), Some("`retry` applies to webhook activities".into()));
        }
        if r.value.attempts.value == 0 {
            c.at(&r.value.attempts, "`attempts` counts every try and must be at least 1", None);
        }
        retry.attempts = r.value.attempts.value.max(1);
        if let Some(b) = r.value.backoff.as_ref().and_then(|b| c.duration(b)) {
            retry.backoff = b;
        }
        if let Some(m) = &r.value.max_backoff {
            if let Some(max) = c.duration(m) {
                if max < retry.backoff {
                    c.at(m, format!("`max_backoff` ({max}) is shorter than `backoff` ({})", retry.backoff), None);
                }
                retry.max_backoff = max;
            }
        }
    }
    let on_failure = match a.on_failure.as_ref() {
        None => OnFailure::Fail,
        Some(o) => match o.value.as_str() {
            "fail" => OnFailure::Fail,
            "ignore" => OnFailure::Ignore,
            "rollback" if scope.in_rollback => {
                c.at(o, "a rollback activity cannot trigger a rollback", Some("write `fail` or `ignore`".into()));
                OnFailure::Fail
            }
            "rollback" if !scope.has_rollback => {
                c.at(
                    o,
                    format!("activity `{id}` rolls back on failure, but the process has no `rollback:` section"),
                    Some("add `rollback: {activities: [...]}` at the top level, or write `fail` or `ignore`".into()),
                );
                OnFailure::Rollback
            }
            "rollback" => OnFailure::Rollback,
            other => {
                c.at(o, format!("unknown on_failure `{other}`"), Some("write `fail`, `ignore` or `rollback`".into()));
                OnFailure::Fail
            }
        },
    };
    if let Some(w) = &a.when {
        c.expression(w, &w.value, names);
    }
    let owner = a.owner.as_ref().and_then(|o| c.principal(o));
    let collects = a.collects.as_ref().map(|w| check_collects(c, w, a)).unwrap_or_default();
    Some(Activity {
        id: id.clone(),
        kind,
        owner,
        depends_on: vec![],
        variables: a.variables.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
        when: a.when.as_ref().map(|w| w.value.clone()),
        timeout,
        retry,
        on_failure,
        critical: a.critical.unwrap_or(true),
        secrets,
        collects,
    })
}

/// Each thing an activity collects is read from its webhook output of the same name.
fn check_collects(c: &mut Checker, what: &At<OneOrMany>, a: &RawActivity) -> Vec<Identifies> {
    let outputs: Vec<&String> = a.webhook.as_ref().map(|w| w.value.output_names()).unwrap_or_default();
    let mut collects = vec![];
    for name in what.value.items() {
        let Some(thing) = Identifies::parse(name) else {
            c.at(
                what,
                format!("an activity cannot collect `{name}`"),
                Some(format!("write one of {} (or a list)", Identifies::NAMES.map(|n| format!("`{n}`")).join(", "))),
            );
            continue;
        };
        if !outputs.iter().any(|o| *o == name) {
            c.at(
                what,
                format!("activity `{}` collects {name} but has no output `{name}`", a.id.value),
                Some(format!("make it a webhook with `outputs: {{ {name}: <path to it in the answer> }}`")),
            );
            continue;
        }
        if !collects.contains(&thing) {
            collects.push(thing);
        }
    }
    collects
}

fn check_approval(c: &mut Checker, ap: &At<RawApproval>, names: &Names) -> ApprovalSpec {
    let raw = &ap.value;
    let single_level = !raw.approvers.is_empty() || !raw.require.is_empty() || raw.min.is_some();
    let mut spec = ApprovalSpec::simple(vec![], 1);
    spec.forbid_self = raw.forbid_self.unwrap_or(true);
    if !raw.levels.is_empty() {
        if single_level {
            c.at(
                ap,
                "an approval has either `levels` or `approvers`/`min`/`require`, not both",
                Some("move the approvers into a level".into()),
            );
        }
        let mut seen: Vec<&str> = vec![];
        for level in &raw.levels {
            let name = &level.value.name;
            if !super::valid_id(&name.value) {
                c.at(name, format!("`{}` is not a level name", name.value), Some(super::ID_RULE.into()));
            } else if seen.contains(&name.value.as_str()) {
                c.at(name, format!("the level `{}` is named twice", name.value), Some("give each level its own name".into()));
            }
            seen.push(&name.value);
            let l = &level.value;
            let (approvers, min, require) = check_approvers(c, level, &l.approvers, l.min.as_ref(), &l.require);
            spec.levels.push(ApprovalLevel { name: name.value.clone(), approvers, min, require });
        }
    } else {
        (spec.approvers, spec.min, spec.require) = check_approvers(c, ap, &raw.approvers, raw.min.as_ref(), &raw.require);
    }
    if let Some(condition) = &raw.auto_approve_if {
        c.expression(condition, &condition.value, names);
        spec.auto_approve_if = Some(condition.value.clone());
    }
    spec.not_before = match (&raw.not_before, &raw.wait) {
        (Some(_), Some(w)) => {
            c.at(w, "an approval has one time lock: `not_before` or `wait`, not both", None);
            None
        }
        (Some(t), None) => match t.value.parse::<WeeklyTime>() {
            Ok(t) => Some(ApprovalLock::At(t)),
            Err(e) => {
                c.at(t, e, None);
                None
            }
        },
        (None, Some(w)) => c.duration(w).map(ApprovalLock::After),
        (None, None) => None,
    };
    spec.expires_after = raw.expires_after.as_ref().and_then(|e| at_least_a_minute(c, e));
    spec.remind_after = raw.remind_after.as_ref().and_then(|r| at_least_a_minute(c, r));
    let escalate_to: Vec<Principal> = raw.escalate_to.iter().filter_map(|p| c.principal(p)).collect();
    spec.on_expiry = match raw.on_expiry.as_ref().map(|o| (o, o.value.as_str())) {
        None | Some((_, "fail")) => {
            if let Some(first) = raw.escalate_to.first() {
                c.at(first, "`escalate_to` has no effect unless `on_expiry: escalate`", None);
            }
            OnExpiry::Fail
        }
        Some((o, "escalate")) => {
            if raw.escalate_to.is_empty() {
                c.at(
                    o,
                    "`on_expiry: escalate` needs someone to escalate to",
                    Some("add `escalate_to: [\"role:Engineering Managers\"]`".into()),
                );
            }
            OnExpiry::Escalate(escalate_to)
        }
        Some((o, other)) => {
            c.at(o, format!("`on_expiry: {other}` is not known"), Some("write `fail` or `escalate`".into()));
            OnExpiry::Fail
        }
    };
    if let (Some(o), None) = (&raw.on_expiry, &raw.expires_after) {
        c.at(o, "`on_expiry` needs `expires_after`", Some("add `expires_after: 24h`".into()));
    }
    spec
}

/// Who decides one level: approvers and groups; `min` defaults to what the groups add up to
/// (at least 1) and may not be below it.
fn check_approvers<T>(
    c: &mut Checker,
    at: &At<T>,
    approvers: &[At<String>],
    min: Option<&At<u32>>,
    require: &[At<RawGroupMin>],
) -> (Vec<Principal>, u32, Vec<GroupMin>) {
    let list: Vec<Principal> = approvers.iter().filter_map(|p| c.principal(p)).collect();
    let mut groups = vec![];
    for g in require {
        let group_min = g.value.min.as_ref().map_or(1, |m| m.value);
        if let Some(m) = g.value.min.as_ref().filter(|m| m.value == 0) {
            c.at(m, "a group's `min` must be at least 1", Some("leave the group out if it need not approve".into()));
        }
        if let Some(from) = c.principal(&g.value.from) {
            groups.push(GroupMin { from, min: group_min });
        }
    }
    if approvers.is_empty() && require.is_empty() {
        c.at(at, "an approval needs at least one approver", Some("write `approvers: [\"role:QA\"]`".into()));
    }
    let from_groups: u32 = groups.iter().map(|g| g.min).sum();
    let min = match min {
        None => from_groups.max(1),
        Some(m) if m.value == 0 => {
            c.at(m, "`min` must be at least 1", None);
            1
        }
        Some(m) if m.value < from_groups => {
            c.at(m, format!("`min: {}` is less than the {from_groups} approvers the groups in `require` add up to", m.value), None);
            from_groups
        }
        Some(m) => m.value,
    };
    (list, min, groups)
}

fn at_least_a_minute(c: &mut Checker, raw: &At<String>) -> Option<HumanDuration> {
    let d = c.duration(raw)?;
    if d.as_duration() < std::time::Duration::from_secs(60) {
        c.at(raw, format!("`{d}` is too short for people to act in; the least is 1m"), None);
        return None;
    }
    Some(d)
}

fn check_wait(c: &mut Checker, w: &At<RawWait>, names: &Names) -> Option<WaitSpec> {
    let raw = &w.value;
    let hint = "write one of `duration: 2h`, `not_before: \"thu 14:00\"` or `until: \"{{ inputs.window }}\"`";
    match (&raw.duration, &raw.not_before, &raw.until) {
        (Some(d), None, None) => c.duration(d).map(WaitSpec::Duration),
        (None, Some(t), None) => match t.value.parse::<WeeklyTime>() {
            Ok(time) => Some(WaitSpec::NotBefore(time)),
            Err(e) => {
                c.at(t, e, None);
                None
            }
        },
        (None, None, Some(u)) => {
            c.template(u, &u.value, names);
            Some(WaitSpec::Until(u.value.clone()))
        }
        (None, None, None) => {
            c.at(w, "a wait needs to say how long", Some(hint.into()));
            None
        }
        _ => {
            c.at(w, "a wait takes one of `duration`, `not_before`, `until`, not several", Some(hint.into()));
            None
        }
    }
}

fn check_check(c: &mut Checker, ch: &At<RawCheck>, names: &Names, secrets: &[String]) -> CheckSpec {
    let raw = &ch.value;
    let request = request_names(names, secrets);
    c.template(&raw.url, &raw.url.value, &request);
    for value in raw.headers.values() {
        c.template(value, &value.value, &request);
    }
    let interval = raw.interval.as_ref().and_then(|i| c.duration(i)).unwrap_or(HumanDuration::from_secs(60));
    if let Some(i) = &raw.interval {
        if interval < HumanDuration::from_secs(1) {
            c.at(i, "a check may look at most every second", Some("write `interval: 1s` or longer".into()));
        }
    }
    let with_response = names.clone().with(["response".to_string()]);
    c.expression(&raw.condition, &raw.condition.value, &with_response);
    CheckSpec {
        url: raw.url.value.clone(),
        headers: raw.headers.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
        interval,
        condition: raw.condition.value.clone(),
    }
}

fn check_webhook(c: &mut Checker, w: &At<RawWebhook>, names: &Names, secrets: &[String]) -> WebhookSpec {
    let raw = &w.value;
    let request = request_names(names, secrets);
    c.template(&raw.url, &raw.url.value, &request);
    let body = raw.body.clone().unwrap_or(serde_json::Value::Null);
    for s in crate::domain::template::strings_in(&body) {
        c.template(w, s, &request);
    }
    for value in raw.headers.values().chain(raw.query.values()) {
        c.template(value, &value.value, &request);
    }
    let method = match &raw.method {
        None => HttpMethod::Post,
        Some(m) => HttpMethod::parse(&m.value).unwrap_or_else(|| {
            c.at(m, format!("unknown method `{}`", m.value), Some("write GET, POST, PUT, PATCH or DELETE".into()));
            HttpMethod::Post
        }),
    };
    let secret = raw.secret.as_ref().and_then(|s| match s.value.parse::<SecretRef>() {
        Ok(r) => Some(r),
        Err(e) => {
            c.at(s, e, None);
            None
        }
    });
    let completion = match raw.completion.as_ref().map(|c| c.value.as_str()) {
        None | Some("response") => Completion::Response,
        Some("callback") => Completion::Callback,
        Some(other) => {
            if let Some(span) = &raw.completion {
                c.at(span, format!("unknown completion `{other}`"), Some("write `response` or `callback`".into()));
            }
            Completion::Response
        }
    };
    if completion == Completion::Callback && secret.is_none() {
        c.at(w, "a webhook with `completion: callback` needs a `secret`", Some("callbacks must be signed; add `secret: env:NAME`".into()));
    }
    let envelope = raw.envelope.as_ref().is_none_or(|e| e.value);
    if let (Some(e), Completion::Callback) = (raw.envelope.as_ref().filter(|e| !e.value), completion) {
        c.at(
            e,
            "`completion: callback` needs the envelope: the receiver finds `callback_url` in it",
            Some("remove `envelope: false`, or complete by `response` and follow the work with `then: { poll: ... }`".into()),
        );
    }
    if let (Some(ct), true) = (&raw.content_type, envelope) {
        c.at(ct, "`content_type` applies to raw requests; the envelope is always JSON", Some("add `envelope: false`".into()));
    }
    check_output_paths(c, &raw.outputs);
    let auth = raw.auth.as_ref().and_then(|a| check_auth(c, a, &request));
    let mut then = vec![];
    let mut next = raw.then.as_ref();
    if let (Some(t), Completion::Callback) = (next, completion) {
        c.at(t, "a webhook completes either by `callback` or by following its work with `then`, not both", None);
    }
    while let Some(t) = next {
        then.push(check_poll(c, &t.value.poll, names, secrets));
        next = t.value.poll.value.then.as_deref();
    }
    WebhookSpec {
        url: raw.url.value.clone(),
        method,
        headers: raw.headers.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
        body,
        secret,
        outputs: raw.outputs.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
        completion,
        envelope,
        content_type: raw.content_type.as_ref().map(|c| c.value.clone()),
        query: raw.query.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
        auth,
        then,
    }
}

/// What a request's templates (URL, query, headers, body, auth) may read: the activity's names,
/// the secrets in scope and the run (`run.key`, the idempotency key within this installation;
/// `run.attempt`). Only requests may read secrets.
fn request_names(names: &Names, secrets: &[String]) -> Names {
    names.clone().with(secrets.iter().map(|s| format!("secrets.{s}")).chain(["run.key".to_string(), "run.attempt".to_string()]))
}

fn check_output_paths(c: &mut Checker, outputs: &std::collections::BTreeMap<String, At<String>>) {
    for path in outputs.values() {
        if path.value.trim().is_empty() || path.value.split('.').any(str::is_empty) {
            c.at(
                path,
                format!("`{}` is not a path into the response", path.value),
                Some("write dotted field names, like `artifact.url`".into()),
            );
        }
    }
}

fn check_auth(c: &mut Checker, a: &At<RawAuth>, request: &Names) -> Option<Auth> {
    match (&a.value.bearer, &a.value.basic) {
        (Some(token), None) => {
            c.template(token, &token.value, request);
            Some(Auth::Bearer(token.value.clone()))
        }
        (None, Some(basic)) => {
            c.template(&basic.value.user, &basic.value.user.value, request);
            c.template(&basic.value.password, &basic.value.password.value, request);
            Some(Auth::Basic { user: basic.value.user.value.clone(), password: basic.value.password.value.clone() })
        }
        _ => {
            let hint =
                "write `auth: { bearer: \"{{ secrets.token }}\" }` or `auth: { basic: { user: ci, password: \"{{ secrets.pw }}\" } }`";
            c.at(a, "`auth` takes one of `bearer` or `basic`", Some(hint.into()));
            None
        }
    }
}

fn check_poll(c: &mut Checker, p: &At<RawPoll>, names: &Names, secrets: &[String]) -> PollStage {
    let raw = &p.value;
    let with_response = names.clone().with(["response".to_string(), "run.key".to_string(), "run.attempt".to_string()]);
    let request = request_names(&with_response, secrets);
    c.template(&raw.url, &raw.url.value, &request);
    for value in raw.headers.values() {
        c.template(value, &value.value, &request);
    }
    let interval = raw.interval.as_ref().and_then(|i| c.duration(i)).unwrap_or(HumanDuration::from_secs(15));
    if let Some(i) = raw.interval.as_ref().filter(|_| interval < HumanDuration::from_secs(1)) {
        c.at(i, "a poll may look at most every second", Some("write `interval: 1s` or longer".into()));
    }
    let timeout = raw.timeout.as_ref().and_then(|t| c.duration(t)).unwrap_or(HumanDuration::from_secs(3_600));
    c.expression(&raw.until, &raw.until.value, &with_response);
    if let Some(s) = &raw.succeed_if {
        c.expression(s, &s.value, &with_response);
    }
    if let Some(r) = &raw.reason {
        c.template(r, &r.value, &with_response);
    }
    check_output_paths(c, &raw.outputs);
    PollStage {
        url: raw.url.value.clone(),
        headers: raw.headers.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
        interval,
        until: raw.until.value.clone(),
        succeed_if: raw.succeed_if.as_ref().map(|s| s.value.clone()),
        reason: raw.reason.as_ref().map(|r| r.value.clone()),
        timeout,
        outputs: raw.outputs.iter().map(|(k, v)| (k.clone(), v.value.clone())).collect(),
    }
}

/// A `secrets:` map: names templates can write, each an `env:` or `file:` reference.
pub fn check_secrets(
    c: &mut Checker,
    raw: &std::collections::BTreeMap<String, At<String>>,
) -> std::collections::BTreeMap<String, SecretRef> {
    let mut out = std::collections::BTreeMap::new();
    for (name, reference) in raw {
        if !crate::domain::secrets::valid_name(name) {
            c.at(
                reference,
                format!("`{name}` is not a secret name"),
                Some("use letters, digits and `_`, starting with a letter, like `github_token`".into()),
            );
            continue;
        }
        match reference.value.parse::<SecretRef>() {
            Ok(r) => {
                out.insert(name.clone(), r);
            }
            Err(e) => c.at(reference, e, None),
        }
    }
    out
}
