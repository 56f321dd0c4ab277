//! The process file as written: serde structs that keep each value's place in the file, and
//! whose doc comments become the JSON Schema editors use (`trainmaster schema`).

use schemars::{json_schema, JsonSchema, Schema, SchemaGenerator};
use serde::Deserialize;
use serde_saphyr::Spanned;
use std::borrow::Cow;
use std::collections::BTreeMap;
use std::fmt;

/// A value with its line and column in the file. In the schema it is just the value.
#[derive(Debug, Clone)]
pub struct At<T> {
    pub value: T,
    pub line: u64,
    pub column: u64,
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for At<T> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = Spanned::<T>::deserialize(d)?;
        Ok(At { line: s.referenced.line(), column: s.referenced.column(), value: s.value })
    }
}

impl<T: JsonSchema> JsonSchema for At<T> {
    fn inline_schema() -> bool {
        T::inline_schema()
    }
    fn schema_name() -> Cow<'static, str> {
        T::schema_name()
    }
    fn schema_id() -> Cow<'static, str> {
        T::schema_id()
    }
    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        T::json_schema(generator)
    }
}

/// A YAML scalar read as text, whatever its YAML type (`18`, `true` and `"x"` all work).
#[derive(Debug, Clone)]
pub struct Scalar(pub String);

impl<'de> Deserialize<'de> for Scalar {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor { lists: false }).map(Scalar)
    }
}

/// Reads a scalar as text; with `lists`, also a list of scalars (joined with commas, as lists
/// are typed in chat).
struct TextVisitor {
    lists: bool,
}

impl<'de> serde::de::Visitor<'de> for TextVisitor {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str(if self.lists { "a string, number, boolean or a list of them" } else { "a string, number or boolean" })
    }
    fn visit_str<E>(self, v: &str) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_u64<E>(self, v: u64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_i64<E>(self, v: i64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_f64<E>(self, v: f64) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_bool<E>(self, v: bool) -> Result<String, E> {
        Ok(v.to_string())
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, mut seq: A) -> Result<String, A::Error> {
        if !self.lists {
            return Err(serde::de::Error::invalid_type(serde::de::Unexpected::Seq, &self));
        }
        let mut items = vec![];
        while let Some(Scalar(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(items.join(","))
    }
}

impl JsonSchema for Scalar {
    fn schema_name() -> Cow<'static, str> {
        "Scalar".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"type": ["string", "number", "boolean"]})
    }
}

/// An input set's value: one scalar, or a list for `list` inputs.
#[derive(Debug, Clone)]
pub struct SetValue(pub String);

impl<'de> Deserialize<'de> for SetValue {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(TextVisitor { lists: true }).map(SetValue)
    }
}

impl JsonSchema for SetValue {
    fn schema_name() -> Cow<'static, str> {
        "InputValue".into()
    }
    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({"anyOf": [
            {"type": ["string", "number", "boolean"]},
            {"type": "array", "items": {"type": ["string", "number", "boolean"]}}
        ]})
    }
}

/// A Trainmaster process: a reusable release blueprint.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "Trainmaster process", rename = "Process")]
pub struct RawProcess {
    /// The process's name: lowercase letters, digits and `-`. Required (reported with the file's
    /// other errors when missing, not instead of them).
    #[schemars(required, with = "At<String>")]
    pub name: Option<At<String>>,
    #[serde(default)]
    pub description: Option<String>,
    /// `standard` (default), `hotfix` (served first when work queues up), `feature` or `system`.
    #[serde(default)]
    pub kind: Option<At<String>>,
    /// IANA time zone for `not_before` times, datetime inputs and the cadence, like `Europe/Berlin`. Default UTC.
    #[serde(default)]
    pub time_zone: Option<At<String>>,
    /// A 5-field cron expression in `time_zone`, like `0 14 * * thu`: the process is a release
    /// group, whose next occurrences are kept created as scheduled releases (see `group`).
    #[serde(default)]
    pub cadence: Option<At<String>>,
    /// How the release group of a `cadence` creates its releases. Every field has a default.
    #[serde(default)]
    pub group: Option<At<RawGroup>>,
    /// Times releases of this process may not start in (besides the server's, in trainmaster.toml).
    #[serde(default)]
    pub freezes: Vec<At<crate::domain::planning::freeze::FreezeSpec>>,
    /// What a release of this process is given when it is created.
    #[serde(default)]
    pub inputs: BTreeMap<String, At<RawInput>>,
    /// Named sets of input values that `/release create` can start from.
    #[serde(default)]
    pub input_sets: BTreeMap<String, At<BTreeMap<String, At<SetValue>>>>,
    /// Process variables: minijinja templates over `inputs`, read as `{{ vars.name }}`.
    #[serde(default)]
    pub variables: BTreeMap<String, At<String>>,
    #[serde(default)]
    pub owners: Option<RawOwners>,
    /// Rules that assess each release's risk (low, medium, high) when it starts.
    #[serde(default)]
    pub risk: Vec<At<RawRiskRule>>,
    /// The servers (guild ids) that may use this process; every server when left out. A process
    /// is invisible elsewhere: not listed, not offered, and neither chat nor CI can create it.
    #[serde(default)]
    pub guilds: Vec<At<Scalar>>,
    /// Secrets requests may use as `{{ secrets.<name> }}`: name → `env:NAME` or `file:PATH`.
    /// Read when a request is sent, never stored or shown.
    #[serde(default)]
    pub secrets: BTreeMap<String, At<String>>,
    /// Where releases post their card and notices. Optional: without a channel, a release posts
    /// where it was created, or in its server's `notices_channel` (trainmaster.toml).
    #[serde(default)]
    pub notices: Option<At<RawNotices>>,
    /// Phases run in file order unless one of them says `depends_on`; then they form a DAG.
    /// Required (reported with the file's other errors when missing).
    #[schemars(required, with = "At<Vec<At<RawPhase>>>")]
    pub phases: Option<At<Vec<At<RawPhase>>>>,
    /// Activities run when an activity with `on_failure: rollback` fails.
    #[serde(default)]
    pub rollback: Option<At<RawRollback>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Input")]
pub struct RawInput {
    /// string, text, number, bool, choice, list, datetime or duration.
    #[serde(rename = "type")]
    pub ty: At<String>,
    #[serde(default)]
    pub required: bool,
    #[serde(default)]
    pub default: Option<At<Scalar>>,
    /// A regular expression the whole value (each item of a list) must match.
    #[serde(default)]
    pub pattern: Option<At<String>>,
    /// The values a `choice` allows.
    #[serde(default)]
    pub options: Option<Vec<Scalar>>,
    #[serde(default)]
    pub description: Option<String>,
    /// What the value identifies, for planning and insight: `environment` (freezes and conflicts
    /// read it), `service` (conflicts), `version` (the advance shipping notice) or `changes` (what
    /// the release ships, listed in the notice).
    #[serde(default)]
    pub identifies: Option<At<String>>,
}

/// A release group: how each occurrence of the `cadence` becomes a release.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Group")]
pub struct RawGroup {
    /// How many occurrences ahead are kept created as scheduled releases (default 4, at most 52).
    #[serde(default)]
    pub horizon: Option<At<u32>>,
    /// The release name, a template over `iso_week`, `week` (two digits), `year`, `date`, `weekday`, `time`, `process`
    /// (default `{{ process }} {{ date }}`).
    #[serde(default)]
    pub name: Option<At<String>>,
    /// Input values every release of the group gets; a value may be a template like `name`
    /// (`"{{ year }}.{{ week }}"`).
    #[serde(default)]
    pub inputs: BTreeMap<String, At<SetValue>>,
    /// A named input set the releases start from (their `inputs` override it).
    #[serde(default)]
    pub input_set: Option<At<String>>,
    /// How long each release is planned to take, like `2h` or `2d` (default `1h`).
    #[serde(default)]
    pub duration: Option<At<String>>,
    /// An occurrence the bot was down for: `start` it late, or `skip` it. Default: start it when
    /// less than `duration` late, else skip it.
    #[serde(default)]
    pub missed: Option<At<String>>,
}

/// One risk rule: when `when` holds, the release is at least `level`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "RiskRule")]
pub struct RawRiskRule {
    /// A condition over inputs, variables, `release.kind` and `clock.hour` / `clock.minute` /
    /// `clock.weekday` (the start time in the process's time zone).
    pub when: At<String>,
    /// `low`, `medium` or `high`.
    pub level: At<String>,
    /// Why, as shown on the card: like `production environment`.
    pub because: At<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Owners")]
pub struct RawOwners {
    /// `role:<id or name>` or `user:<id>`.
    #[serde(default)]
    pub release_manager: Option<At<String>>,
    /// People and roles told about releases of this process.
    #[serde(default)]
    pub stakeholders: Vec<At<String>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Notices")]
pub struct RawNotices {
    /// The numeric id of the channel for notices and approval requests; when left out, where the
    /// release was created (or the server's `notices_channel`).
    #[serde(default)]
    pub channel: Option<At<Scalar>>,
    /// How long before a scheduled start the advance shipping notice is posted, like `24h`
    /// (at once when the release is scheduled later than that).
    #[serde(default)]
    pub advance: Option<At<String>>,
    /// How to get early access, one line on the advance shipping notice, like
    /// `Try it on https://staging.example.com`.
    #[serde(default)]
    pub early_access: Option<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Phase")]
pub struct RawPhase {
    pub id: At<String>,
    #[serde(default)]
    pub owner: Option<At<String>>,
    /// Ids of phases that must end first.
    #[serde(default)]
    pub depends_on: Option<Vec<At<String>>>,
    /// Phase variables, read as `{{ vars.name }}` by this phase's activities.
    #[serde(default)]
    pub variables: BTreeMap<String, At<String>>,
    /// A minijinja expression; when false the phase is skipped.
    #[serde(default)]
    pub when: Option<At<String>>,
    pub activities: Vec<At<RawActivity>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Rollback")]
pub struct RawRollback {
    pub activities: Vec<At<RawActivity>>,
}

/// One step. Exactly one of `webhook`, `approval`, `wait`, `manual`, `notice`, `check`, `subprocess`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Activity")]
pub struct RawActivity {
    pub id: At<String>,
    #[serde(default)]
    pub owner: Option<At<String>>,
    /// Ids of activities of the same phase that must end first.
    #[serde(default)]
    pub depends_on: Option<Vec<At<String>>>,
    #[serde(default)]
    pub variables: BTreeMap<String, At<String>>,
    /// A minijinja expression; when false the activity is skipped.
    #[serde(default)]
    pub when: Option<At<String>>,
    #[serde(default)]
    pub webhook: Option<At<RawWebhook>>,
    #[serde(default)]
    pub approval: Option<At<RawApproval>>,
    #[serde(default)]
    pub wait: Option<At<RawWait>>,
    #[serde(default)]
    pub manual: Option<At<RawManual>>,
    #[serde(default)]
    pub notice: Option<At<RawNotice>>,
    #[serde(default)]
    pub check: Option<At<RawCheck>>,
    #[serde(default)]
    pub subprocess: Option<At<RawSubprocess>>,
    /// Webhook: per try (default 30s). Check: how long the gate may stay closed (default 1h).
    #[serde(default)]
    pub timeout: Option<At<String>>,
    #[serde(default)]
    pub retry: Option<At<RawRetry>>,
    /// `fail` (default), `ignore` or `rollback`.
    #[serde(default)]
    pub on_failure: Option<At<String>>,
    /// `false`: a failure makes the release PartialSuccess instead of Failed.
    #[serde(default)]
    pub critical: Option<bool>,
    /// Secrets for this activity's requests, beside (and overriding) the process's.
    #[serde(default)]
    pub secrets: BTreeMap<String, At<String>>,
    /// `changes`, `version`, `service` or `environment` (or a list of them): this webhook's output
    /// of that name tells it about the release once it succeeded, before the inputs. `changes`
    /// is a list of strings or of objects with a `title` and a `merged_at`/`committed_at`/`at`
    /// time: the advance notice lists them and lead time starts at the earliest.
    #[serde(default)]
    pub collects: Option<At<OneOrMany>>,
}

/// One name or a list of them.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(untagged)]
pub enum OneOrMany {
    One(String),
    Many(Vec<String>),
}

impl OneOrMany {
    pub fn items(&self) -> Vec<&str> {
        match self {
            Self::One(s) => vec![s.as_str()],
            Self::Many(v) => v.iter().map(String::as_str).collect(),
        }
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Webhook")]
pub struct RawWebhook {
    /// A minijinja template.
    pub url: At<String>,
    /// GET, POST (default), PUT, PATCH or DELETE.
    #[serde(default)]
    pub method: Option<At<String>>,
    #[serde(default)]
    pub headers: BTreeMap<String, At<String>>,
    /// JSON whose strings are minijinja templates.
    #[serde(default)]
    pub body: Option<serde_json::Value>,
    /// `env:NAME` or `file:PATH`; never the secret itself.
    #[serde(default)]
    pub secret: Option<At<String>>,
    /// Output name → dotted path into the JSON answer (or callback).
    #[serde(default)]
    pub outputs: BTreeMap<String, At<String>>,
    /// `response` (default: a 2xx completes it) or `callback` (a signed callback completes it).
    #[serde(default)]
    pub completion: Option<At<String>>,
    /// `false`: send exactly the rendered `body` (to call a tool's own API) instead of wrapping
    /// it in Trainmaster's envelope (`{"idempotency_key", "release_id", ..., "body"}`).
    #[serde(default)]
    pub envelope: Option<At<bool>>,
    /// The body's media type. A string body is sent as its text (default `text/plain`);
    /// `application/x-www-form-urlencoded` form-encodes a map; anything else sends JSON.
    #[serde(default)]
    pub content_type: Option<At<String>>,
    /// Query parameters added to the URL; values are minijinja templates.
    #[serde(default)]
    pub query: BTreeMap<String, At<String>>,
    /// `bearer: "{{ secrets.token }}"` or `basic: { user: ..., password: "{{ secrets.pw }}" }`.
    #[serde(default)]
    pub auth: Option<At<RawAuth>>,
    /// Follow the work the request started: poll a URL until it is done.
    #[serde(default)]
    pub then: Option<At<RawThen>>,
}

/// How a request authenticates; values are minijinja templates (read `secrets.*`).
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Auth")]
pub struct RawAuth {
    /// Sent as `Authorization: Bearer <token>`.
    #[serde(default)]
    pub bearer: Option<At<String>>,
    /// Sent as `Authorization: Basic base64(user:password)`.
    #[serde(default)]
    pub basic: Option<At<RawBasicAuth>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "BasicAuth")]
pub struct RawBasicAuth {
    pub user: At<String>,
    pub password: At<String>,
}

/// What follows a webhook's answer.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Then")]
pub struct RawThen {
    pub poll: At<RawPoll>,
}

/// Polls a URL (GET, with the webhook's `auth` and `headers`) until `until` holds over the JSON
/// answer; `succeed_if` then says whether the work succeeded.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Poll")]
pub struct RawPoll {
    /// A minijinja template over the previous answer, `response` (its JSON fields, plus
    /// `response.headers.<lowercase name>` and `response.status_code`).
    pub url: At<String>,
    /// Added to (and overriding) the webhook's headers.
    #[serde(default)]
    pub headers: BTreeMap<String, At<String>>,
    /// How often to look (default 15s, at least 1s).
    #[serde(default)]
    pub interval: Option<At<String>>,
    /// A minijinja expression over this answer, `response`: true when the work is over.
    pub until: At<String>,
    /// A minijinja expression over the final answer: true when the work succeeded (default true).
    #[serde(default)]
    pub succeed_if: Option<At<String>>,
    /// What the failure says when `succeed_if` is false: a minijinja template over `response`.
    #[serde(default)]
    pub reason: Option<At<String>>,
    /// How long to keep looking (default 1h).
    #[serde(default)]
    pub timeout: Option<At<String>>,
    /// Output name → dotted path into this poll's answers.
    #[serde(default)]
    pub outputs: BTreeMap<String, At<String>>,
    /// Then poll another URL, built from this poll's final answer.
    #[serde(default)]
    pub then: Option<Box<At<RawThen>>>,
}

impl RawWebhook {
    /// Every output the webhook declares: its own and its polls'.
    pub fn output_names(&self) -> Vec<&String> {
        let mut names: Vec<&String> = self.outputs.keys().collect();
        let mut then = self.then.as_ref();
        while let Some(t) = then {
            names.extend(t.value.poll.value.outputs.keys());
            then = t.value.poll.value.then.as_deref();
        }
        names
    }
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Approval")]
pub struct RawApproval {
    /// Who may approve: `role:<id or name>` or `user:<id>`. Or give `levels`.
    #[serde(default)]
    pub approvers: Vec<At<String>>,
    /// Distinct approvals needed (default 1, or what `require` adds up to).
    #[serde(default)]
    pub min: Option<At<u32>>,
    /// The release's creator and starter may not approve it (default true).
    #[serde(default)]
    pub forbid_self: Option<bool>,
    /// At least `min` approvers from each group, like `[{from: "role:QA", min: 1}]`.
    #[serde(default)]
    pub require: Vec<At<RawGroupMin>>,
    /// Levels decided in order, each with its own approvers; instead of `approvers`.
    #[serde(default)]
    pub levels: Vec<At<RawApprovalLevel>>,
    /// A condition over inputs, variables and `release.risk`; when true the system approves.
    #[serde(default)]
    pub auto_approve_if: Option<At<String>>,
    /// A time lock: no decision before `thu 14:00` (or `14:00`) in the process's time zone.
    #[serde(default)]
    pub not_before: Option<At<String>>,
    /// A time lock: no decision until this long after the request, like `1h`.
    #[serde(default)]
    pub wait: Option<At<String>>,
    /// No decision within this long (like `24h`): `on_expiry` says what happens.
    #[serde(default)]
    pub expires_after: Option<At<String>>,
    /// `fail` (default) or `escalate` (to `escalate_to`; a second expiry fails).
    #[serde(default)]
    pub on_expiry: Option<At<String>>,
    /// Who may also decide once the approval escalates; they are pinged.
    #[serde(default)]
    pub escalate_to: Vec<At<String>>,
    /// Re-ping the open level's approvers every this long, like `4h`.
    #[serde(default)]
    pub remind_after: Option<At<String>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ApprovalGroup")]
pub struct RawGroupMin {
    /// `role:<id or name>` or `user:<id>`.
    pub from: At<String>,
    /// Approvers needed from this group (default 1).
    #[serde(default)]
    pub min: Option<At<u32>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "ApprovalLevel")]
pub struct RawApprovalLevel {
    /// Like `business`, `technical`, `security`.
    pub name: At<String>,
    #[serde(default)]
    pub approvers: Vec<At<String>>,
    #[serde(default)]
    pub min: Option<At<u32>>,
    #[serde(default)]
    pub require: Vec<At<RawGroupMin>>,
}

/// Exactly one of `duration`, `not_before`, `until`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Wait")]
pub struct RawWait {
    /// Like `2h`.
    #[serde(default)]
    pub duration: Option<At<String>>,
    /// `thu 14:00` or `14:00`, in the process's time zone.
    #[serde(default)]
    pub not_before: Option<At<String>>,
    /// A template rendering to a time, like `{{ inputs.window }}` for a datetime input.
    #[serde(default)]
    pub until: Option<At<String>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Manual")]
pub struct RawManual {
    /// What to do, one item per line; a minijinja template.
    pub checklist: At<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Notice")]
pub struct RawNotice {
    /// A minijinja template.
    pub message: At<String>,
    /// A channel id; the process's notices channel when absent.
    #[serde(default)]
    pub channel: Option<At<Scalar>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Check")]
pub struct RawCheck {
    /// A minijinja template; fetched with GET.
    pub url: At<String>,
    #[serde(default)]
    pub headers: BTreeMap<String, At<String>>,
    /// How often to look (default 1m, at least 1s).
    #[serde(default)]
    pub interval: Option<At<String>>,
    /// A minijinja expression over `response`, like `response.error_rate < 0.01`.
    pub condition: At<String>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Subprocess")]
pub struct RawSubprocess {
    /// The name of another process.
    pub process: At<String>,
    /// The child's inputs: name → minijinja template.
    #[serde(default)]
    pub inputs: BTreeMap<String, At<String>>,
}

#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "Retry")]
pub struct RawRetry {
    /// Every try counts, the first included.
    pub attempts: At<u32>,
    /// Wait before the second try (default 10s); doubled each time, with jitter.
    #[serde(default)]
    pub backoff: Option<At<String>>,
    /// The longest wait (default 1h).
    #[serde(default)]
    pub max_backoff: Option<At<String>>,
}
