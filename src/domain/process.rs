//! The validated process model. Values of these types exist only after `process_file::load`
//! has checked them, so the engine never re-validates. Serialized to JSON, a `Process` is what a
//! release pins: editing the file later never changes a release that exists.

use super::{HumanDuration, Principal};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Process {
    pub name: String,
    pub description: String,
    pub kind: ReleaseKind,
    /// Content hash of the file the process came from (first 16 hex digits of SHA-256).
    pub version: String,
    pub inputs: Vec<InputSpec>,
    /// Process variables: minijinja templates over `inputs`, rendered when the release starts.
    pub variables: BTreeMap<String, String>,
    pub release_manager: Option<Principal>,
    /// The channel that gets the release's notices and approval requests.
    pub notices_channel: u64,
    pub phases: Vec<Phase>,
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
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "type")]
pub enum InputType {
    String,
    Text,
    Number,
    Bool,
    List,
    Choice { options: Vec<String> },
}

impl InputType {
    pub const NAMES: [&'static str; 6] = ["string", "text", "number", "bool", "list", "choice"];
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Phase {
    pub id: String,
    pub owner: Option<Principal>,
    pub activities: Vec<Activity>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Activity {
    pub id: String,
    pub kind: ActivityKind,
    /// How long one webhook try may take before it counts as failed.
    pub timeout: HumanDuration,
    pub retry: Retry,
    pub on_failure: OnFailure,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ActivityKind {
    Webhook(WebhookSpec),
    Approval(ApprovalSpec),
}

impl ActivityKind {
    pub fn name(&self) -> &'static str {
        match self {
            ActivityKind::Webhook(_) => "webhook",
            ActivityKind::Approval(_) => "approval",
        }
    }
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
    pub approvers: Vec<Principal>,
    /// Distinct approvals needed.
    pub min: u32,
    /// The release's creator and starter may not approve it.
    pub forbid_self: bool,
}

/// `attempts` counts every try, the first included: `attempts: 3` means up to two retries.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Retry {
    pub attempts: u32,
    /// Wait before the second try; each further try waits twice as long (plus jitter).
    pub backoff: HumanDuration,
}

impl Default for Retry {
    fn default() -> Self {
        Self { attempts: 1, backoff: HumanDuration::from_secs(10) }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OnFailure {
    /// The activity, its phase and the release fail.
    Fail,
    /// The activity is marked Ignored and the release goes on; it ends PartialSuccess.
    Ignore,
}

impl Process {
    pub fn activity(&self, id: &str) -> Option<&Activity> {
        self.phases.iter().flat_map(|p| p.activities.iter()).find(|a| a.id == id)
    }

    pub fn input(&self, name: &str) -> Option<&InputSpec> {
        self.inputs.iter().find(|i| i.name == name)
    }
}
