//! The validated process model. Values of these types exist only after `process_file::load`
//! has checked them, so the engine never re-validates. Serialized to JSON, a `Process` is what a
//! release pins: editing the file later never changes a release that exists.

use super::{ChannelId, GuildId, HumanDuration, Principal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The model's shape, stored with every pinned process. Processes pinned before phases and
/// activities carried `depends_on` (model 0) ran strictly in file order; `upgrade` makes that
/// order explicit so the engine only ever sees a DAG.
pub const MODEL_VERSION: u32 = 2;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Process {
    #[serde(default)]
    pub model: u32,
    pub name: String,
    pub description: String,
    pub kind: ReleaseKind,
    /// Content hash of the file the process came from (first 16 hex digits of SHA-256).
    pub version: String,
    /// IANA time zone in which `not_before` times, datetime inputs and the cadence are read.
    #[serde(default = "utc")]
    pub time_zone: String,
    /// A 5-field cron expression in `time_zone` for release groups (acted on when they land).
    #[serde(default)]
    pub cadence: Option<String>,
    pub inputs: Vec<InputSpec>,
    /// Named sets of input values `/release create` can start from (Harness's "input store").
    #[serde(default)]
    pub input_sets: BTreeMap<String, BTreeMap<String, String>>,
    /// Process variables: minijinja templates over `inputs`, rendered when they are read.
    pub variables: BTreeMap<String, String>,
    pub release_manager: Option<Principal>,
    /// People and roles told about the release (named on its notices).
    #[serde(default)]
    pub stakeholders: Vec<Principal>,
    /// The channel that gets the release's notices and approval requests.
    /// `None` in the file: a release then takes the channel it was created in (or its server's
    /// default), which its pinned copy of the process records.
    pub notices_channel: Option<ChannelId>,
    /// How long before a scheduled start the advance shipping notice goes out (scheduled
    /// starts come with release groups).
    #[serde(default)]
    pub notices_advance: Option<HumanDuration>,
    pub phases: Vec<Phase>,
    /// Activities run when an activity with `on_failure: rollback` fails.
    #[serde(default)]
    pub rollback: Vec<Activity>,
    /// Every process its `subprocess` activities reach (directly or through others), pinned
    /// with the release so a child runs the definition its parent was created with.
    #[serde(default)]
    pub children: BTreeMap<String, Process>,
    /// Rules that assess a release's risk when it starts.
    #[serde(default)]
    pub risk: Vec<super::risk::RiskRule>,
    /// Secrets requests may read as `{{ secrets.<name> }}`: where each is, never its value.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretRef>,
    /// The servers that may use this process; empty for every server.
    #[serde(default)]
    pub guilds: Vec<GuildId>,
    /// The release group of the `cadence`; `None` without one.
    #[serde(default)]
    pub group: Option<crate::domain::planning::cadence::GroupSpec>,
    /// Times this process's releases may not start in (besides the server's).
    #[serde(default)]
    pub freezes: Vec<crate::domain::planning::Freeze>,
    /// The advance shipping notice's early-access line.
    #[serde(default)]
    pub early_access: Option<String>,
}

fn utc() -> String {
    "UTC".into()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReleaseKind {
    Standard,
    Hotfix,
    Feature,
    System,
}

impl ReleaseKind {
    pub const NAMES: [&'static str; 4] = ["standard", "hotfix", "feature", "system"];

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "standard" => Some(Self::Standard),
            "hotfix" => Some(Self::Hotfix),
            "feature" => Some(Self::Feature),
            "system" => Some(Self::System),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Standard => "standard",
            Self::Hotfix => "hotfix",
            Self::Feature => "feature",
            Self::System => "system",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct InputSpec {
    pub name: String,
    pub ty: InputType,
    pub required: bool,
    pub default: Option<String>,
    /// A regular expression the whole value must match (checked to compile at load time).
    pub pattern: Option<String>,
    pub description: Option<String>,
    /// What the value identifies (`identifies:` in the file), for planning and insight.
    #[serde(default)]
    pub identifies: Option<Identifies>,
}

/// What an input's value identifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Identifies {
    /// Where the release delivers: freezes concern it, conflicts compare it.
    Environment,
    /// What it delivers (one or a list): conflicts compare them.
    Service,
    /// The version it delivers: the advance shipping notice names it.
    Version,
    /// What it changes (text or a list): the advance shipping notice lists it.
    Changes,
}

impl Identifies {
    pub const NAMES: [&'static str; 4] = ["environment", "service", "version", "changes"];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Environment => "environment",
            Self::Service => "service",
            Self::Version => "version",
            Self::Changes => "changes",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "environment" => Some(Self::Environment),
            "service" => Some(Self::Service),
            "version" => Some(Self::Version),
            "changes" => Some(Self::Changes),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum InputType {
    String,
    Text,
    Number,
    Bool,
    List,
    Choice {
        options: Vec<String>,
    },
    /// A point in time: RFC 3339, or `YYYY-MM-DD HH:MM` in the process's time zone.
    Datetime,
    /// A human duration, like `2h` or `1h30m`.
    Duration,
}

impl InputType {
    pub const NAMES: [&'static str; 8] = ["string", "text", "number", "bool", "choice", "list", "datetime", "duration"];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub id: String,
    pub owner: Option<Principal>,
    /// Phases that must end before this one starts. Always explicit here: a file that writes no
    /// `depends_on` in a list gets each item depending on the one before it.
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    /// A minijinja expression; when it is false the phase and its activities are Skipped.
    #[serde(default)]
    pub when: Option<String>,
    pub activities: Vec<Activity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub id: String,
    pub kind: ActivityKind,
    #[serde(default)]
    pub owner: Option<Principal>,
    /// Sibling activities (same phase) that must end before this one starts.
    #[serde(default)]
    pub depends_on: Vec<String>,
    #[serde(default)]
    pub variables: BTreeMap<String, String>,
    #[serde(default)]
    pub when: Option<String>,
    /// Webhook: how long one try may take (or wait for its callback). Check: how long the gate
    /// may stay closed before the activity fails.
    pub timeout: HumanDuration,
    pub retry: Retry,
    pub on_failure: OnFailure,
    /// A failure of a non-critical activity makes the release PartialSuccess instead of Failed.
    #[serde(default = "yes")]
    pub critical: bool,
    /// Secrets this activity's requests may read, beside the process's (these win).
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretRef>,
    /// What the activity's outputs tell about the release (`collects:` in the file): for each,
    /// its output of that name (`version`, `service`, `environment`, `changes`) wins over the
    /// input that identifies the same once the activity succeeded.
    #[serde(default)]
    pub collects: Vec<Identifies>,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Webhook(WebhookSpec),
    Approval(ApprovalSpec),
    Wait(WaitSpec),
    Manual(ManualSpec),
    Notice(NoticeSpec),
    Check(CheckSpec),
    Subprocess(SubprocessSpec),
}

impl ActivityKind {
    pub const NAMES: [&'static str; 7] = ["webhook", "approval", "wait", "manual", "notice", "check", "subprocess"];

    pub fn name(&self) -> &'static str {
        match self {
            ActivityKind::Webhook(_) => "webhook",
            ActivityKind::Approval(_) => "approval",
            ActivityKind::Wait(_) => "wait",
            ActivityKind::Manual(_) => "manual",
            ActivityKind::Notice(_) => "notice",
            ActivityKind::Check(_) => "check",
            ActivityKind::Subprocess(_) => "subprocess",
        }
    }
}

/// A time lock.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WaitSpec {
    /// Wait this long after the activity starts.
    Duration(HumanDuration),
    /// Wait until the next such time in the process's time zone.
    NotBefore(WeeklyTime),
    /// Wait until the time a template renders to (RFC 3339), e.g. `{{ inputs.window }}`.
    Until(String),
}

/// `thu 14:00` (the next Thursday at 14:00) or `14:00` (the next 14:00, any day).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeeklyTime {
    /// 0 = Monday … 6 = Sunday; `None` for every day.
    pub weekday: Option<u8>,
    pub hour: u8,
    pub minute: u8,
}

impl std::str::FromStr for WeeklyTime {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
        let bad = || format!("`{s}` is not a time: write `HH:MM` or a weekday and a time, like `thu 14:00`");
        let text = s.trim().to_ascii_lowercase();
        let (day, time) = match text.split_once(' ') {
            Some((day, time)) => {
                let day = day.get(..3).filter(|_| day.len() >= 3).ok_or_else(bad)?;
                (Some(DAYS.iter().position(|d| *d == day).ok_or_else(bad)? as u8), time.trim())
            }
            None => (None, text.as_str()),
        };
        let (h, m) = time.split_once(':').ok_or_else(bad)?;
        let hour: u8 = h.parse().ok().filter(|h| *h < 24).ok_or_else(bad)?;
        let minute: u8 = m.parse().ok().filter(|n| *n < 60 && m.len() == 2).ok_or_else(bad)?;
        Ok(WeeklyTime { weekday: day, hour, minute })
    }
}

/// A task a person does and marks done.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManualSpec {
    /// What to do, as a checklist (one item per line); a minijinja template.
    pub checklist: String,
}

/// A message posted to a channel.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NoticeSpec {
    /// A minijinja template.
    pub message: String,
    /// Defaults to the process's notices channel.
    pub channel: Option<ChannelId>,
}

/// A metric gate: GET `url` every `interval` until `condition` holds over the JSON answer.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckSpec {
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub interval: HumanDuration,
    /// A minijinja expression over `response` (the parsed JSON answer) and the usual names.
    pub condition: String,
}

/// Another process run as a child release; its result is this activity's result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SubprocessSpec {
    pub process: String,
    /// The child's inputs: name → minijinja template over this release's names.
    pub inputs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct WebhookSpec {
    /// A minijinja template for the URL.
    pub url: String,
    pub method: HttpMethod,
    /// Extra request headers; values are minijinja templates.
    pub headers: BTreeMap<String, String>,
    /// JSON whose strings are minijinja templates, rendered per call.
    pub body: serde_json::Value,
    /// Where the signing secret is found; the secret itself is never stored.
    pub secret: Option<SecretRef>,
    /// Activity outputs taken from the JSON response (or callback): name → dotted path.
    pub outputs: BTreeMap<String, String>,
    pub completion: Completion,
    /// Wrap `body` in Trainmaster's envelope (the default) or send it as it is.
    #[serde(default = "yes")]
    pub envelope: bool,
    /// The body's media type (see `raw::RawWebhook::content_type`).
    #[serde(default)]
    pub content_type: Option<String>,
    /// Query parameters; values are minijinja templates.
    #[serde(default)]
    pub query: BTreeMap<String, String>,
    #[serde(default)]
    pub auth: Option<Auth>,
    /// Polls that follow the work the request started, in order; the activity succeeds when
    /// the last one does.
    #[serde(default)]
    pub then: Vec<PollStage>,
}

/// How a request authenticates. Values are templates: secrets appear in them only as
/// placeholders until the request is sent (see `domain::secrets`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Auth {
    Bearer(String),
    Basic { user: String, password: String },
}

/// One poll after a webhook's answer: GET `url` every `interval` until `until` holds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PollStage {
    /// A template over the previous answer (`response`).
    pub url: String,
    pub headers: BTreeMap<String, String>,
    pub interval: HumanDuration,
    pub until: String,
    pub succeed_if: Option<String>,
    /// A template over the final answer, said when `succeed_if` is false.
    pub reason: Option<String>,
    pub timeout: HumanDuration,
    /// Output name → dotted path into the answers.
    pub outputs: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum HttpMethod {
    Get,
    Post,
    Put,
    Patch,
    Delete,
}

impl HttpMethod {
    pub fn parse(s: &str) -> Option<Self> {
        match s.to_ascii_uppercase().as_str() {
            "GET" => Some(Self::Get),
            "POST" => Some(Self::Post),
            "PUT" => Some(Self::Put),
            "PATCH" => Some(Self::Patch),
            "DELETE" => Some(Self::Delete),
            _ => None,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Put => "PUT",
            Self::Patch => "PATCH",
            Self::Delete => "DELETE",
        }
    }
}

/// When a webhook activity is done.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Completion {
    /// A 2xx answer completes it.
    Response,
    /// A 2xx answer accepts the work; a signed call to the callback URL in the request completes it.
    Callback,
}

/// A reference to a secret held outside Trainmaster: `env:NAME` or `file:PATH`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(into = "String", try_from = "String")]
pub enum SecretRef {
    Env(String),
    File(String),
}

impl std::fmt::Display for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{path}"),
        }
    }
}

impl std::str::FromStr for SecretRef {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.split_once(':') {
            Some(("env", name)) if !name.is_empty() && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') => {
                Ok(SecretRef::Env(name.to_string()))
            }
            Some(("file", path)) if !path.is_empty() => Ok(SecretRef::File(path.to_string())),
            _ => Err(format!(
                "`{s}` is not a secret reference: write `env:NAME` (an environment variable) or `file:PATH`; never the secret itself"
            )),
        }
    }
}

impl From<SecretRef> for String {
    fn from(s: SecretRef) -> Self {
        s.to_string()
    }
}

impl TryFrom<String> for SecretRef {
    type Error = String;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        s.parse()
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ApprovalSpec {
    /// Who may approve a single-level approval (unused when `levels` is given).
    pub approvers: Vec<Principal>,
    /// Distinct approvals needed.
    pub min: u32,
    /// The release's creator and starter may not approve it.
    pub forbid_self: bool,
    /// At least `min` approvers from each of these groups (a single-level approval).
    #[serde(default)]
    pub require: Vec<GroupMin>,
    /// Levels decided in order (business → technical → security); empty for a single level.
    #[serde(default)]
    pub levels: Vec<ApprovalLevel>,
    /// A condition over inputs, variables and `release.risk`; when true the approval is given
    /// by the system as it opens, and the audit trail says which condition held.
    #[serde(default)]
    pub auto_approve_if: Option<String>,
    /// A time lock: clicks before it opens are refused with the time it opens.
    #[serde(default)]
    pub not_before: Option<ApprovalLock>,
    /// No decision within this long: fail, or escalate (`on_expiry`).
    #[serde(default)]
    pub expires_after: Option<HumanDuration>,
    #[serde(default)]
    pub on_expiry: OnExpiry,
    /// Re-ping the open level's approvers in the thread every this long.
    #[serde(default)]
    pub remind_after: Option<HumanDuration>,
}

/// `from` must supply at least `min` of an approval's distinct approvers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GroupMin {
    pub from: Principal,
    pub min: u32,
}

/// One level of a multi-level approval; it opens when the level before is complete.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApprovalLevel {
    /// Empty for a single-level approval.
    pub name: String,
    pub approvers: Vec<Principal>,
    pub min: u32,
    #[serde(default)]
    pub require: Vec<GroupMin>,
}

impl ApprovalLevel {
    /// Everyone who may decide at this level: its approvers and its groups.
    pub fn principals(&self) -> impl Iterator<Item = &Principal> {
        self.approvers.iter().chain(self.require.iter().map(|g| &g.from))
    }
}

/// When an approval's time lock opens.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ApprovalLock {
    /// This long after the approval is requested (`wait: 1h`).
    After(HumanDuration),
    /// The next such time in the process's time zone (`not_before: "thu 14:00"`).
    At(WeeklyTime),
}

/// What an expired approval does.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnExpiry {
    /// The approval fails (and the release with it, unless `on_failure` says otherwise).
    #[default]
    Fail,
    /// These principals may also decide the open level, and are pinged; a second expiry fails.
    Escalate(Vec<Principal>),
}

impl ApprovalSpec {
    /// The levels in order; a single-level approval is one unnamed level.
    pub fn levels(&self) -> std::borrow::Cow<'_, [ApprovalLevel]> {
        if !self.levels.is_empty() {
            return std::borrow::Cow::Borrowed(&self.levels);
        }
        let single = ApprovalLevel { name: String::new(), approvers: self.approvers.clone(), min: self.min, require: self.require.clone() };
        std::borrow::Cow::Owned(vec![single])
    }

    /// A single-level approval of `approvers`, `min` of them, nothing else.
    pub fn simple(approvers: Vec<Principal>, min: u32) -> Self {
        Self {
            approvers,
            min,
            forbid_self: true,
            require: vec![],
            levels: vec![],
            auto_approve_if: None,
            not_before: None,
            expires_after: None,
            on_expiry: OnExpiry::Fail,
            remind_after: None,
        }
    }
}

/// `attempts` counts every try, the first included: `attempts: 3` means up to two retries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Retry {
    pub attempts: u32,
    /// Wait before the second try; each further try waits twice as long, with jitter.
    pub backoff: HumanDuration,
    /// No wait is longer than this.
    #[serde(default = "one_hour")]
    pub max_backoff: HumanDuration,
}

fn one_hour() -> HumanDuration {
    HumanDuration::from_secs(3_600)
}

impl Default for Retry {
    fn default() -> Self {
        Self { attempts: 1, backoff: HumanDuration::from_secs(10), max_backoff: one_hour() }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The activity, its phase and the release fail.
    Fail,
    /// The activity is marked Ignored and the release goes on; it ends PartialSuccess.
    Ignore,
    /// The release stops and runs the process's `rollback` activities; it ends Failed.
    Rollback,
}

impl Process {
    /// An activity of the main flow or of the rollback.
    pub fn activity(&self, id: &str) -> Option<&Activity> {
        self.phases.iter().flat_map(|p| p.activities.iter()).chain(self.rollback.iter()).find(|a| a.id == id)
    }

    pub fn phase_of(&self, activity: &str) -> Option<&Phase> {
        self.phases.iter().find(|p| p.activities.iter().any(|a| a.id == activity))
    }

    /// The processes this one's subprocesses reach, from `catalog`, ready to pin. `None`
    /// names a process the catalog lacks (the loader refuses such files, so only a catalog
    /// changed under a running bot gets here).
    pub fn pin_children(&mut self, catalog: &BTreeMap<String, Process>) -> Result<(), String> {
        let mut todo: Vec<String> = self.subprocess_targets();
        while let Some(name) = todo.pop() {
            if name == self.name || self.children.contains_key(&name) {
                continue;
            }
            let child = catalog.get(&name).ok_or_else(|| format!("process `{}` runs process `{name}`, which is not loaded", self.name))?;
            todo.extend(child.subprocess_targets());
            self.children.insert(name, Process { children: BTreeMap::new(), ..child.clone() });
        }
        Ok(())
    }

    fn subprocess_targets(&self) -> Vec<String> {
        self.phases
            .iter()
            .flat_map(|p| p.activities.iter())
            .chain(self.rollback.iter())
            .filter_map(|a| match &a.kind {
                ActivityKind::Subprocess(s) => Some(s.process.clone()),
                _ => None,
            })
            .collect()
    }

    /// Brings a process pinned by an older model to this one (see `MODEL_VERSION`).
    pub fn upgrade(mut self) -> Self {
        if self.model < MODEL_VERSION {
            chain_in_file_order(&mut self.phases, |p| (&p.id, &mut p.depends_on));
            for phase in &mut self.phases {
                chain_in_file_order(&mut phase.activities, |a| (&a.id, &mut a.depends_on));
            }
            self.model = MODEL_VERSION;
        }
        self
    }

    /// Whether releases of this process may be made in server `guild`.
    pub fn available_in(&self, guild: GuildId) -> bool {
        self.guilds.is_empty() || self.guilds.contains(&guild)
    }

    /// Every channel a release of this process posts to: the notices channel (its card and
    /// thread) and the channels its `notice` activities name, rollback included.
    pub fn channels(&self) -> Vec<ChannelId> {
        let mut channels: Vec<ChannelId> = self.notices_channel.into_iter().collect();
        for activity in self.phases.iter().flat_map(|p| p.activities.iter()).chain(self.rollback.iter()) {
            if let ActivityKind::Notice(NoticeSpec { channel: Some(channel), .. }) = &activity.kind {
                if !channels.contains(channel) {
                    channels.push(*channel);
                }
            }
        }
        channels
    }

    /// The secrets an activity's requests may read: the process's, then the activity's.
    pub fn secrets_for(&self, activity: &Activity) -> BTreeMap<String, SecretRef> {
        let mut all = self.secrets.clone();
        all.extend(activity.secrets.iter().map(|(k, v)| (k.clone(), v.clone())));
        all
    }

    pub fn input(&self, name: &str) -> Option<&InputSpec> {
        self.inputs.iter().find(|i| i.name == name)
    }
}

/// When no item of a list says what it depends on, each depends on the one before it.
pub fn chain_in_file_order<T>(items: &mut [T], deps: impl Fn(&mut T) -> (&String, &mut Vec<String>)) {
    let mut previous: Option<String> = None;
    for item in items.iter_mut() {
        let (id, depends_on) = deps(item);
        let id = id.clone();
        if let Some(p) = previous.take() {
            *depends_on = vec![p];
        }
        previous = Some(id);
    }
}
