//! The `trainmaster` binary: a thin command line over the library.

use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;
use trainmaster::app::{Application, Settings};
use trainmaster::config::Config;
use trainmaster::domain::process_file;
use trainmaster::domain::release::ReleaseId;
use trainmaster::engine::Shutdown;
use trainmaster::store::{AuditRow, Store};

#[derive(Parser)]
#[command(name = "trainmaster", version, about = "Release orchestration that lives in Discord")]
struct Cli {
    /// Configuration file; optional, the environment overrides it.
    #[arg(long, global = true, default_value = "trainmaster.toml")]
    config: PathBuf,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Connect to Discord and run releases.
    Serve {
        /// Start without `PRAGMA quick_check` of the database (for very large databases whose
        /// check takes too long; see the README for the cost).
        #[arg(long)]
        skip_integrity_check: bool,
    },
    /// Copy the database, consistent, to PATH (works beside a running bot); the copy is checked.
    Backup {
        /// Where to write the copy; must not exist yet.
        path: PathBuf,
    },
    /// Play a release end to end against a built-in Discord sandbox; no token, no network.
    Demo,
    /// Run the built-in Discord sandbox on its own, for `serve` with TRAINMASTER_DISCORD_API.
    Sandbox {
        /// Port on 127.0.0.1 (0 picks a free one).
        #[arg(long, default_value_t = 0)]
        port: u16,
    },
    /// Check or export the audit trail.
    Audit {
        #[command(subcommand)]
        which: Audit,
    },
    /// Print performance figures (use a release build): `bench engine` or `bench interactions`.
    Bench {
        #[command(subcommand)]
        which: Bench,
    },
    /// Validate process files; exits non-zero with file:line:col messages on errors.
    Check {
        /// Process files and directories of them, checked together (default: the configured
        /// processes directory).
        paths: Vec<PathBuf>,
        /// `text` (file:line:col: message, on stderr) or `json` (one report on stdout).
        #[arg(long, value_enum, default_value_t = CheckFormat::Text)]
        format: CheckFormat,
    },
    /// Print the JSON Schema of process files, for editors: `trainmaster schema > process.schema.json`.
    Schema,
    /// Write a commented trainmaster.toml and an example process into DIR (default: here).
    Init {
        #[arg(default_value = ".")]
        dir: PathBuf,
    },
}

#[derive(Subcommand)]
enum Audit {
    /// Walk the hash chain; exits 1 naming the first broken row.
    Verify,
    /// Print one release's trail.
    Export {
        #[arg(long)]
        release: String,
        #[arg(long, value_enum, default_value_t = ExportFormat::Jsonl)]
        format: ExportFormat,
    },
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Jsonl,
    Csv,
}

#[derive(Subcommand)]
enum Bench {
    /// N releases × M webhook activities against a local receiver.
    Engine {
        #[arg(long, default_value_t = 1000)]
        releases: usize,
        #[arg(long, default_value_t = 10)]
        activities: usize,
        /// Another trainmaster binary to run the same bench against, interleaved with this one
        /// (other, this, other, this, …): prints both medians and the ratio.
        #[arg(long, value_name = "PATH_TO_OTHER_BINARY")]
        compare: Option<std::path::PathBuf>,
        /// Runs of each binary with --compare.
        #[arg(long, default_value_t = 3)]
        runs: usize,
    },
    /// N releases each waiting on an approval: click Approve through the sandbox and time until
    /// the next activity's webhook reaches the receiver.
    Approval {
        #[arg(long, default_value_t = 200)]
        releases: usize,
    },
    /// Reports, DORA and the inventory over a generated history (two years of deliveries).
    Insight {
        #[arg(long, default_value_t = 100_000)]
        releases: usize,
    },
    /// Start to ready with many releases in the database.
    Startup {
        #[arg(long, default_value_t = 100_000)]
        releases: usize,
    },
    /// Releases started at a steady rate for a while: the WAL's peak and idle size.
    Soak {
        #[arg(long, default_value_t = 2_000)]
        releases: usize,
        /// Releases started per second.
        #[arg(long, default_value_t = 20)]
        rate: u32,
    },
    /// `/release status` through the sandbox at a steady rate; acknowledgement latency beside a
    /// bare serenity handler's (the floor).
    Interactions {
        #[arg(long, default_value_t = 100)]
        rate: u32,
        #[arg(long, default_value_t = 30)]
        seconds: u32,
    },
}

const NO_TOKEN: &str = "\
trainmaster serve needs a Discord bot token.
  1. Open https://discord.com/developers/applications, create an application, and add a Bot.
  2. Copy the bot's token and set it: export DISCORD_TOKEN=...   (or discord_token in trainmaster.toml)
  3. Invite the bot to your server with the applications.commands and bot scopes.
To try Trainmaster without a token, run: trainmaster demo";

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints a transcript; only errors belong beside it.
    let default_filter = if matches!(cli.command, Command::Demo | Command::Bench { .. }) { "error" } else { "warn,trainmaster=info" };
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| default_filter.into()))
        .with_writer(std::io::stderr)
        .init();
    let config = match Config::load(&cli.config, |k| std::env::var(k).ok()) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::from(2);
        }
    };
    match cli.command {
        Command::Check { paths, format } => check(if paths.is_empty() { vec![config.processes] } else { paths }, format),
        Command::Schema => match serde_json::to_string_pretty(&process_file::schema()) {
            Ok(text) => {
                println!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("cannot write the schema: {e}");
                ExitCode::FAILURE
            }
        },
        Command::Demo => match trainmaster::demo::run().await {
            Ok(transcript) => {
                println!("{transcript}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("demo failed: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Serve { skip_integrity_check } => {
            let mut config = config;
            config.integrity_check = !skip_integrity_check;
            serve(config).await
        }
        Command::Backup { path } => backup(&config, &path).await,
        Command::Init { dir } => init(&dir),
        Command::Audit { which } => audit(&config, which).await,
        Command::Sandbox { port } => match trainmaster::sandbox::Sandbox::start_on(port).await {
            Ok(sandbox) => {
                println!("sandbox Discord API at {}", sandbox.base_url());
                println!(
                    "run: TRAINMASTER_DISCORD_API={} DISCORD_TOKEN={} trainmaster serve",
                    sandbox.base_url(),
                    trainmaster::sandbox::TOKEN
                );
                let _ = tokio::signal::ctrl_c().await;
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: {e:#}");
                ExitCode::FAILURE
            }
        },
        Command::Bench { which } => {
            let figures = match which {
                Bench::Engine { releases, activities, compare: None, .. } => trainmaster::bench::engine(releases, activities).await,
                Bench::Engine { releases, activities, compare: Some(other), runs } => {
                    trainmaster::bench::compare_engine(&other, runs, releases, activities)
                }
                Bench::Approval { releases } => trainmaster::bench::approval(releases).await,
                Bench::Insight { releases } => trainmaster::bench::insight(releases).await,
                Bench::Interactions { rate, seconds } => trainmaster::bench::interactions(rate, seconds).await,
                Bench::Startup { releases } => trainmaster::bench::startup(releases).await,
                Bench::Soak { releases, rate } => trainmaster::bench::soak(releases, rate).await,
            };
            match figures {
                Ok(text) => {
                    println!("{text}");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("bench failed: {e:#}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum CheckFormat {
    Text,
    Json,
}

/// `trainmaster init`: a configuration to edit and a process that passes `check`, so the way
/// from a token to a first release is short. Writes nothing when either file exists.
fn init(dir: &std::path::Path) -> ExitCode {
    let files = [
        (dir.join("trainmaster.toml"), include_str!("init/trainmaster.toml")),
        (dir.join("processes").join("first-release.yaml"), include_str!("init/first-release.yaml")),
    ];
    if let Some((existing, _)) = files.iter().find(|(path, _)| path.exists()) {
        eprintln!("error: {} exists already; nothing was written (init only starts a new directory)", existing.display());
        return ExitCode::from(2);
    }
    for (path, text) in &files {
        let written = path.parent().map_or(Ok(()), std::fs::create_dir_all).and_then(|()| std::fs::write(path, text));
        if let Err(e) = written {
            eprintln!("error: cannot write {}: {e}", path.display());
            return ExitCode::FAILURE;
        }
        println!("wrote {}", path.display());
    }
    println!(
        "next: set DISCORD_TOKEN, put your channel's id in processes/first-release.yaml, then `trainmaster check` and `trainmaster serve`"
    );
    ExitCode::SUCCESS
}

fn check(paths: Vec<PathBuf>, format: CheckFormat) -> ExitCode {
    if let Some(missing) = paths.iter().find(|p| !p.exists()) {
        eprintln!("error: {}", trainmaster::app::no_processes(missing));
        return ExitCode::from(2);
    }
    let result = process_file::load_paths(&paths);
    match format {
        CheckFormat::Json => println!("{}", process_file::report_json(&result)),
        CheckFormat::Text if result.is_ok() => println!("{}", process_file::report(&result)),
        CheckFormat::Text => eprintln!("{}", process_file::report(&result)),
    }
    let Ok(catalog) = result else { return ExitCode::FAILURE };
    // The signing secrets the processes name, where this machine can read them: one too short
    // (under the Standard Webhooks minimum of 24 bytes) or malformed fails the check now rather
    // than the first webhook later. One that cannot be read here is left for the bot's machine.
    let mut bad = false;
    for process in catalog.values() {
        for activity in process.phases.iter().flat_map(|p| p.activities.iter()).chain(process.rollback.iter()) {
            let trainmaster::domain::process::ActivityKind::Webhook(spec) = &activity.kind else { continue };
            let Some(reference) = &spec.secret else { continue };
            if trainmaster::webhook::request::read_secret(reference).is_err() {
                continue;
            }
            if let Err(e) = trainmaster::webhook::resolve_secret(reference) {
                eprintln!("process `{}`, activity `{}`: {e}", process.name, activity.id);
                bad = true;
            }
        }
    }
    if bad {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn serve(settings: Settings) -> ExitCode {
    if settings.bot.token.trim().is_empty() {
        eprintln!("{NO_TOKEN}");
        return ExitCode::from(2);
    }
    let app = match Application::build(&settings).await {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    let (stop, shutdown) = Shutdown::new();
    tokio::spawn(async move {
        stop_signal().await;
        let _ = stop.send(true);
    });
    match app.run_until_stopped(shutdown).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = ?e, "stopped");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// SIGINT (Ctrl-C) or SIGTERM, the signal systemd, Docker and Kubernetes stop a service with.
async fn stop_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => {
                tokio::select! {
                    _ = tokio::signal::ctrl_c() => {}
                    _ = term.recv() => {}
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "cannot listen for SIGTERM; only Ctrl-C stops the bot gracefully");
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

async fn backup(config: &Settings, path: &std::path::Path) -> ExitCode {
    if !config.database.exists() {
        eprintln!("error: there is no database at {}", config.database.display());
        return ExitCode::from(2);
    }
    let result = async {
        let store = Store::open(&config.database).await?;
        store.backup_to(path).await?;
        let copy = Store::open(path).await?;
        copy.integrity_check().await.map_err(|problems| anyhow::anyhow!("the copy does not pass its check: {problems}"))?;
        let rows = match copy.verify_audit().await? {
            Ok((rows, _)) => rows,
            Err(broken) => anyhow::bail!("the copy's audit chain is broken: {broken}"),
        };
        anyhow::Ok(rows)
    }
    .await;
    match result {
        Ok(rows) => {
            println!("backed up {} to {} (checked; audit chain intact, {rows} rows)", config.database.display(), path.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

async fn audit(config: &Settings, which: Audit) -> ExitCode {
    if !config.database.exists() {
        eprintln!("error: there is no database at {}", config.database.display());
        return ExitCode::from(2);
    }
    let store = match Store::open(&config.database).await {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e:#}");
            return ExitCode::FAILURE;
        }
    };
    match which {
        Audit::Verify => match store.verify_audit().await {
            Ok(Ok((rows, head))) => {
                println!("ok: {rows} audit rows, chain intact, head {head}");
                ExitCode::SUCCESS
            }
            Ok(Err(broken)) => {
                eprintln!("audit chain broken: {broken}");
                ExitCode::FAILURE
            }
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        },
        Audit::Export { release, format } => {
            let id: ReleaseId = match release.parse() {
                Ok(id) => id,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::from(2);
                }
            };
            let rows = match store.audit_of(id).await {
                Ok(rows) => rows,
                Err(e) => {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            };
            print!("{}", export(&rows, format));
            ExitCode::SUCCESS
        }
    }
}

/// The trail as JSON lines or CSV. Rows hold secret references at most, never secrets.
fn export(rows: &[AuditRow], format: ExportFormat) -> String {
    let csv = |s: &str| format!("\"{}\"", s.replace('"', "\"\""));
    let mut out = String::new();
    if matches!(format, ExportFormat::Csv) {
        out.push_str("id,release_id,at,actor,action,detail,hash\n");
    }
    for r in rows {
        let line = match format {
            ExportFormat::Jsonl => serde_json::json!({
                "id": r.id, "release_id": r.release_id, "at": r.at, "actor": r.actor,
                "action": r.action, "detail": r.detail, "hash": r.hash,
            })
            .to_string(),
            ExportFormat::Csv => [
                r.id.to_string(),
                r.release_id.map(|i| i.to_string()).unwrap_or_default(),
                csv(&r.at),
                csv(&r.actor.to_string()),
                csv(&r.action),
                csv(&r.detail.to_string()),
                r.hash.clone(),
            ]
            .join(","),
        };
        out.push_str(&line);
        out.push('\n');
    }
    out
}
