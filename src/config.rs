//! Configuration: `trainmaster.toml` (optional), then the environment, which wins.
//!
//! | setting | toml key | environment | default |
//! | --- | --- | --- | --- |
//! | bot token | `discord_token` | `DISCORD_TOKEN` | none (`serve` refuses to start) |
//! | Discord-compatible API base | `discord_api` | `TRAINMASTER_DISCORD_API` | Discord itself |
//! | SQLite file | `database` | `TRAINMASTER_DATABASE` | `trainmaster.db` |
//! | processes directory | `processes` | `TRAINMASTER_PROCESSES` | `processes/` |

use anyhow::Context;
use serde::Deserialize;
use std::path::{Path, PathBuf};

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    discord_token: Option<String>,
    discord_api: Option<String>,
    database: Option<PathBuf>,
    processes: Option<PathBuf>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub discord_token: Option<String>,
    pub discord_api: Option<String>,
    pub database: PathBuf,
    pub processes: PathBuf,
}

impl Config {
    /// Reads `file` (which may be absent) and applies overrides from `env`.
    pub fn load(file: &Path, env: impl Fn(&str) -> Option<String>) -> anyhow::Result<Self> {
        let from_file: FileConfig = match std::fs::read_to_string(file) {
            Ok(text) => toml::from_str(&text).with_context(|| format!("{} is not valid configuration", file.display()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => FileConfig::default(),
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", file.display())),
        };
        let env = |name: &str| env(name).filter(|v| !v.trim().is_empty());
        Ok(Self {
            discord_token: env("DISCORD_TOKEN").or(from_file.discord_token),
            discord_api: env("TRAINMASTER_DISCORD_API").or(from_file.discord_api),
            database: env("TRAINMASTER_DATABASE")
                .map(PathBuf::from)
                .or(from_file.database)
                .unwrap_or_else(|| "trainmaster.db".into()),
            processes: env("TRAINMASTER_PROCESSES")
                .map(PathBuf::from)
                .or(from_file.processes)
                .unwrap_or_else(|| "processes".into()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_overrides_the_file_and_defaults_fill_the_rest() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let file = dir.path().join("trainmaster.toml");
        std::fs::write(&file, "discord_token = \"from-file\"\ndatabase = \"file.db\"\n").unwrap_or_else(|e| panic!("{e}"));
        let config = Config::load(&file, |k| (k == "TRAINMASTER_DATABASE").then(|| "env.db".to_string())).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(config.discord_token.as_deref(), Some("from-file"));
        assert_eq!(config.database, PathBuf::from("env.db"));
        assert_eq!(config.processes, PathBuf::from("processes"));
        assert_eq!(config.discord_api, None);
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
