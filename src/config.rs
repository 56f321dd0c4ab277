//! Configuration: `trainmaster.toml` (optional), then the environment, which wins.
//!
//! | setting | toml key | environment | default |
//! | --- | --- | --- | --- |
//! | bot token | `discord_token` | `DISCORD_TOKEN` | none (`serve` refuses to start) |
//! | Discord-compatible API base | `discord_api` | `TRAINMASTER_DISCORD_API` | Discord itself |
//! | SQLite file | `database` | `TRAINMASTER_DATABASE` | `trainmaster.db` |
//! | processes directory | `processes` | `TRAINMASTER_PROCESSES` | `processes/` |
//! | HTTP listen address | `http` | `TRAINMASTER_HTTP` | `127.0.0.1:8080` |
//! | public base URL (callbacks) | `public_url` | `TRAINMASTER_PUBLIC_URL` | `http://<http>` |
//! | CI trigger secret (`whsec_…`) | `trigger_secret` | `TRAINMASTER_TRIGGER_SECRET` | none: triggers refused |
//! | status API bearer token | `api_token` | `TRAINMASTER_API_TOKEN` | none: status API refused |
//! | audit channel (head hash at each release's end) | `audit_channel` | `TRAINMASTER_AUDIT_CHANNEL` | none |
//! | guide linked from `/trainmaster help` | `help_url` | `TRAINMASTER_HELP_URL` | none: names the README |
//! | webhook allow-list | `webhook_allow` (list) | `TRAINMASTER_WEBHOOK_ALLOW` (comma-separated) | empty |
//! | proxy for webhooks | `webhook_proxy` | `TRAINMASTER_WEBHOOK_PROXY` | none (`HTTP_PROXY` and the like are ignored) |
//! | account admins | `admins` (list of `user:`/`role:`) | none | none |
//! | grace for calls in flight at SIGTERM/SIGINT | `shutdown_grace` | `TRAINMASTER_SHUTDOWN_GRACE` | `20s` |
//! | `/hooks/*` requests per second per address, and burst | `hooks_per_second`, `hooks_burst` | none | 50, 200 (0: no limit) |
//! | servers CI may trigger releases in | `trigger_guilds` (list of ids) | none | every server the bot is in |
//! | a status API token for one server's releases | `[guilds.<guild id>]` `api_token` | none | none |
//! | notices channel for processes that name none | `[guilds.<guild id>]` `notices_channel` | none | the channel a release is created in |
//! | roles per guild | `[guilds.<guild id>]` `release_managers`, `approvers`, `viewers` | none | open (see `domain::access`) |
//! | a server's time zone (freeze dates, `/freeze add`, the calendar) | `[guilds.<guild id>]` `time_zone` | none | UTC |
//! | how long ended releases stay listed before they are archived | `[guilds.<guild id>]` `retention` | none | `365d` |
//! | a server's weekly digest (last week's releases and DORA figures) | `[guilds.<guild id>]` `digest = { channel, cron }` | none | none |
//! | a server's freezes | `[guilds.<guild id>]` `freezes` (list of `{ name, from, to }` or `{ name, cron, duration }`, with `applies_to`, `allow`) | none | none |

use crate::app::Settings;
use crate::discord::BotConfig;
use crate::domain::access::{AccessPolicy, GuildRoles};
use crate::domain::{ChannelId, GuildId, Principal};
use crate::webhook::guard::AllowRule;
use crate::webhook::signing::Secret;
use anyhow::Context;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    discord_token: Option<String>,
    discord_api: Option<String>,
    database: Option<PathBuf>,
    processes: Option<PathBuf>,
    http: Option<String>,
    public_url: Option<String>,
    trigger_secret: Option<String>,
    api_token: Option<String>,
    webhook_allow: Option<Vec<String>>,
    webhook_proxy: Option<String>,
    audit_channel: Option<String>,
    help_url: Option<String>,
    shutdown_grace: Option<String>,
    hooks_per_second: Option<u32>,
    hooks_burst: Option<u32>,
    trigger_guilds: Option<Vec<String>>,
    admins: Option<Vec<String>>,
    guilds: Option<BTreeMap<String, GuildFile>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct GuildFile {
    #[serde(default)]
    release_managers: Vec<String>,
    #[serde(default)]
    approvers: Vec<String>,
    #[serde(default)]
    viewers: Vec<String>,
    /// A status API token that sees this server's releases only.
    api_token: Option<String>,
    /// The notices channel of releases whose process names none (and that CI creates).
    notices_channel: Option<String>,
    /// IANA time zone the server's freeze dates, `/freeze add` and the calendar are read in.
    time_zone: Option<String>,
    #[serde(default)]
    freezes: Vec<crate::domain::planning::freeze::FreezeSpec>,
    /// How long ended releases stay before they are archived, like `365d`.
    retention: Option<String>,
    /// The weekly digest: `{ channel = "<id>", cron = "0 9 * * mon" }`.
    digest: Option<DigestFile>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DigestFile {
    channel: String,
    cron: String,
}

/// What configuration makes: the application's one settings type, `app::Settings`, from the
/// file and the environment (no second struct copying its fields).
pub struct Config;

impl Config {
    /// Reads `file` (which may be absent) and applies overrides from `env`.
    pub fn load(file: &Path, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
        let from_file: FileConfig = match std::fs::read_to_string(file) {
            Ok(text) => toml::from_str(&text).with_context(|| format!("{} is not valid configuration", file.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileConfig::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        };
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        let http_text = env("TRAINMASTER_HTTP").or(from_file.http).unwrap_or_else(|| "127.0.0.1:8080".into());
        let http: SocketAddr = http_text.parse().with_context(|| format!("http = `{http_text}` is not an address like 127.0.0.1:8080"))?;
        // Unset: the HTTP server's own address (`Application::build`).
        let public_url = env("TRAINMASTER_PUBLIC_URL").or(from_file.public_url);
        let trigger_secret = env("TRAINMASTER_TRIGGER_SECRET")
            .or(from_file.trigger_secret)
            .map(|s| Secret::parse(&s).context("trigger_secret is not valid"))
            .transpose()?;
        let allow_text: Vec<String> = match env("TRAINMASTER_WEBHOOK_ALLOW") {
            Some(list) => list.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect(),
            None => from_file.webhook_allow.unwrap_or_default(),
        };
        let webhook_allow = allow_text
            .iter()
            .map(|s| s.parse::<AllowRule>().map_err(|e| anyhow::anyhow!("webhook_allow: {e}")))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let audit_channel = env("TRAINMASTER_AUDIT_CHANNEL")
            .or(from_file.audit_channel)
            .map(|c| c.trim().parse::<u64>().map(ChannelId).map_err(|_| anyhow::anyhow!("audit_channel `{c}` is not a channel id")))
            .transpose()?;
        let grace_text = env("TRAINMASTER_SHUTDOWN_GRACE").or(from_file.shutdown_grace).unwrap_or_else(|| "20s".into());
        let shutdown_grace = grace_text
            .parse::<crate::domain::HumanDuration>()
            .map_err(|e| anyhow::anyhow!("shutdown_grace = `{grace_text}`: {e}"))?
            .as_duration();
        let guilds = from_file.guilds.unwrap_or_default();
        let guild_api_tokens = guilds
            .iter()
            .filter_map(|(id, g)| g.api_token.as_ref().filter(|t| !t.trim().is_empty()).map(|t| (id, t.trim().to_string())))
            .map(|(id, token)| Ok((GuildId(guild_number(id)?), token)))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let guild_notices = guilds
            .iter()
            .filter_map(|(id, g)| g.notices_channel.as_ref().map(|c| (id, c)))
            .map(|(id, c)| {
                let channel =
                    c.trim().parse::<u64>().map_err(|_| anyhow::anyhow!("[guilds.{id}] notices_channel: `{c}` is not a channel id"))?;
                Ok((GuildId(guild_number(id)?), ChannelId(channel)))
            })
            .collect::<anyhow::Result<Vec<_>>>()?;
        let trigger_guilds = from_file
            .trigger_guilds
            .map(|list| {
                list.iter()
                    .map(|g| g.trim().parse::<u64>().map(GuildId).map_err(|_| anyhow::anyhow!("trigger_guilds: `{g}` is not a server id")))
                    .collect::<anyhow::Result<Vec<_>>>()
            })
            .transpose()?;
        let guild_settings = guild_settings(&guilds)?;
        let access = access_policy(from_file.admins.unwrap_or_default(), guilds)?;
        Ok(Settings {
            bot: BotConfig {
                // Empty when not configured: `serve` says how to get one; the sandbox takes any.
                token: env("DISCORD_TOKEN").or(from_file.discord_token).unwrap_or_default(),
                api_base: env("TRAINMASTER_DISCORD_API").or(from_file.discord_api),
                help_url: env("TRAINMASTER_HELP_URL").or(from_file.help_url),
            },
            database: env("TRAINMASTER_DATABASE").map(PathBuf::from).or(from_file.database).unwrap_or_else(|| "trainmaster.db".into()),
            processes: env("TRAINMASTER_PROCESSES").map(PathBuf::from).or(from_file.processes).unwrap_or_else(|| "processes".into()),
            http,
            public_url,
            trigger_secret,
            api_token: env("TRAINMASTER_API_TOKEN").or(from_file.api_token),
            webhook_allow,
            webhook_proxy: env("TRAINMASTER_WEBHOOK_PROXY").or(from_file.webhook_proxy),
            audit_channel,
            access,
            shutdown_grace,
            trigger_guilds,
            guild_api_tokens,
            guild_notices,
            integrity_check: true,
            clock: crate::domain::clock::system(),
            guild_settings,
            hooks_limit: {
                let default = crate::http::HooksLimit::default();
                crate::http::HooksLimit {
                    per_second: from_file.hooks_per_second.unwrap_or(default.per_second),
                    burst: from_file.hooks_burst.unwrap_or(default.burst),
                }
            },
        })
    }
}

/// Each server's time zone and declared freezes, checked: a wrong one stops the start with where it is.
fn guild_settings(guilds: &BTreeMap<String, GuildFile>) -> anyhow::Result<Vec<(GuildId, crate::app::GuildSettings)>> {
    use crate::domain::planning::freeze::FreezeOrigin;
    guilds
        .iter()
        .map(|(id, g)| {
            let time_zone = match &g.time_zone {
                Some(tz) => tz
                    .parse::<chrono_tz::Tz>()
                    .map_err(|_| anyhow::anyhow!("[guilds.{id}] time_zone: `{tz}` is not an IANA time zone, like `Europe/Berlin`"))?,
                None => chrono_tz::UTC,
            };
            let freezes = g
                .freezes
                .iter()
                .map(|f| f.check(time_zone, FreezeOrigin::Config).map_err(|e| anyhow::anyhow!("[guilds.{id}] freezes: {e}")))
                .collect::<anyhow::Result<Vec<_>>>()?;
            let retention = g
                .retention
                .as_deref()
                .map(|r| {
                    let d =
                        r.parse::<crate::domain::HumanDuration>().map_err(|e| anyhow::anyhow!("[guilds.{id}] retention: `{r}`: {e}"))?;
                    chrono::Duration::from_std(d.as_duration()).map_err(|e| anyhow::anyhow!("[guilds.{id}] retention: {e}"))
                })
                .transpose()?;
            let digest = g
                .digest
                .as_ref()
                .map(|d| {
                    let channel = d
                        .channel
                        .trim()
                        .parse::<u64>()
                        .map_err(|_| anyhow::anyhow!("[guilds.{id}] digest: channel `{}` is not a channel id", d.channel))?;
                    if d.cron.split_whitespace().count() != 5 || d.cron.parse::<croner::Cron>().is_err() {
                        anyhow::bail!("[guilds.{id}] digest: cron `{}` is not a 5-field cron expression, like `0 9 * * mon`", d.cron);
                    }
                    Ok((ChannelId(channel), d.cron.clone()))
                })
                .transpose()?;
            Ok((GuildId(guild_number(id)?), crate::app::GuildSettings { time_zone, freezes, retention, digest }))
        })
        .collect()
}

fn guild_number(id: &str) -> anyhow::Result<u64> {
    id.trim().parse().map_err(|_| anyhow::anyhow!("[guilds.{id}]: `{id}` is not a guild id (a number)"))
}

fn principals(key: &str, list: &[String]) -> anyhow::Result<Vec<Principal>> {
    list.iter().map(|p| p.parse::<Principal>().map_err(|e| anyhow::anyhow!("{key}: {e}"))).collect()
}

fn access_policy(admins: Vec<String>, guilds: BTreeMap<String, GuildFile>) -> anyhow::Result<AccessPolicy> {
    let mut policy = AccessPolicy { admins: principals("admins", &admins)?, guilds: BTreeMap::new() };
    for (id, g) in guilds {
        let guild = guild_number(&id)?;
        let roles = GuildRoles {
            release_managers: principals(&format!("guilds.{id}.release_managers"), &g.release_managers)?,
            approvers: principals(&format!("guilds.{id}.approvers"), &g.approvers)?,
            viewers: principals(&format!("guilds.{id}.viewers"), &g.viewers)?,
        };
        policy.guilds.insert(GuildId(guild), roles);
    }
    Ok(policy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file_and_defaults_fill_the_rest() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("trainmaster.toml");
        std::fs::write(&file, "discord_token = \"from-file\"\ndatabase = \"file.db\"\nhelp_url = \"https://wiki/tm\"\n")
            .unwrap_or_else(|e| panic!("{e}"));
        let config = Config::load(&file, |k| (k == "TRAINMASTER_DATABASE").then(|| "env.db".to_string())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.bot.token, "from-file");
        assert_eq!(config.database, PathBuf::from("env.db"));
        assert_eq!(config.processes, PathBuf::from("processes"));
        assert_eq!(config.bot.api_base, None);
        assert_eq!(config.http.to_string(), "127.0.0.1:8080");
        assert_eq!(config.public_url, None, "unset: the HTTP server's own address, http://127.0.0.1:8080");
        assert_eq!(config.bot.help_url.as_deref(), Some("https://wiki/tm"));
    }

    #[test]
    fn admins_and_roles_per_guild_come_from_the_file_and_a_bad_principal_names_its_key() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("trainmaster.toml");
        let text = "admins = [\"user:1\"]\n[guilds.42]\nrelease_managers = [\"role:Release Managers\"]\napprovers = [\"role:QA\"]\n";
        std::fs::write(&file, text).unwrap_or_else(|e| panic!("{e}"));
        let config = Config::load(&file, |_| None).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(config.access.admins, vec![Principal::User(crate::domain::UserId(1))]);
        let guild = config.access.guilds.get(&GuildId(42)).cloned().unwrap_or_default();
        assert_eq!(guild.release_managers.iter().map(ToString::to_string).collect::<Vec<_>>(), ["role:Release Managers"]);
        assert!(guild.viewers.is_empty());
        std::fs::write(&file, "[guilds.42]\napprovers = [\"QA\"]\n").unwrap_or_else(|e| panic!("{e}"));
        let error = Config::load(&file, |_| None).map(|_| ()).map_err(|e| format!("{e:#}"));
        assert!(
            error.as_ref().is_err_and(|e| e.contains("guilds.42.approvers") && e.contains("`QA` is not a valid principal")),
            "{error:?}"
        );
    }

    #[test]
    fn the_webhook_allow_list_comes_from_a_comma_separated_variable() {
        let env = |k: &str| (k == "TRAINMASTER_WEBHOOK_ALLOW").then(|| "ci.internal, 10.0.0.0/8".to_string());
        let config = Config::load(Path::new("/nonexistent/trainmaster.toml"), env).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.webhook_allow.len(), 2);
        let bad = Config::load(Path::new("/nonexistent/trainmaster.toml"), |k| {
            (k == "TRAINMASTER_WEBHOOK_ALLOW").then(|| "http://x".to_string())
        });
        assert!(bad.is_err());
    }

    #[test]
    fn operations_settings_come_from_the_file_with_defaults_and_clear_errors() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("trainmaster.toml");
        let defaults = Config::load(&file, |_| None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(defaults.shutdown_grace, std::time::Duration::from_secs(20));
        assert_eq!(defaults.hooks_limit, crate::http::HooksLimit { per_second: 50, burst: 200 });
        assert_eq!((defaults.trigger_guilds, defaults.guild_api_tokens), (None, vec![]));
        std::fs::write(
            &file,
            "shutdown_grace = \"5s\"\nhooks_per_second = 2\nhooks_burst = 10\ntrigger_guilds = [\"42\"]\n[guilds.42]\napi_token = \"t42\"\nnotices_channel = \"7\"\n",
        )
        .unwrap_or_else(|e| panic!("{e}"));
        let config = Config::load(&file, |_| None).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.shutdown_grace, std::time::Duration::from_secs(5));
        assert_eq!(config.hooks_limit, crate::http::HooksLimit { per_second: 2, burst: 10 });
        assert_eq!(config.trigger_guilds, Some(vec![GuildId(42)]));
        assert_eq!(config.guild_api_tokens, vec![(GuildId(42), "t42".to_string())]);
        assert_eq!(config.guild_notices, vec![(GuildId(42), ChannelId(7))]);
        let env = |k: &str| (k == "TRAINMASTER_SHUTDOWN_GRACE").then(|| "soon".to_string());
        let refused = Config::load(&file, env).map(|_| ()).map_err(|e| e.to_string()).err().unwrap_or_default();
        assert!(refused.starts_with("shutdown_grace = `soon`"), "{refused}");
    }

    #[test]
    fn an_unknown_key_in_the_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("trainmaster.toml");
        std::fs::write(&file, "discord_tokn = \"x\"\n").unwrap_or_else(|e| panic!("{e}"));
        let err = Config::load(&file, |_| None).err().map(|e| format!("{e:#}")).unwrap_or_default();
        assert!(err.contains("discord_tokn"), "{err}");
    }
}
