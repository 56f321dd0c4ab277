//! Project chores, run with `cargo xtask <chore>` (an alias in `.cargo/config.toml`).
//!
//! `sqlx-prepare` regenerates `.sqlx/`: sqlx's description of every query the store checks at
//! compile time (`sqlx::query_file!`), which lets the crate build without a database. It builds a
//! scratch database from `migrations/`, then has cargo expand the query macros against it.
//! `sqlx-prepare --check` (run by `.ci/run`) fails when the committed `.sqlx/` is not what the SQL
//! files and the migrations produce, naming the files that differ.
//!
//! Written in Rust rather than as a call to `sqlx-cli` so that nothing beyond cargo is needed.
//!
//! `chat-html` draws a test's channels as Discord shows them (see `chat_html.rs`): a developer's
//! tool for reading what the bot says, not a CI step.

use anyhow::{bail, Context};
use sqlx::sqlite::SqliteConnectOptions;
use sqlx::ConnectOptions;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};

mod chat_html;

const USAGE: &str = "usage: cargo xtask sqlx-prepare [--check]\n       cargo xtask chat-html DUMP.json OUT.html [--png OUT.png]";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("chat-html") {
        return match chat_html::run(&args[1..]) {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("xtask chat-html: {error:#}\n{USAGE}");
                ExitCode::FAILURE
            }
        };
    }
    let check = match args.iter().map(String::as_str).collect::<Vec<_>>()[..] {
        ["sqlx-prepare"] => false,
        ["sqlx-prepare", "--check"] => true,
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match sqlx_prepare(check) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("xtask sqlx-prepare: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn sqlx_prepare(check: bool) -> anyhow::Result<()> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().context("xtask lives in the project's root")?.to_path_buf();
    let scratch = std::env::temp_dir().join(format!("trainmaster-xtask-{}", std::process::id()));
    std::fs::create_dir_all(&scratch).with_context(|| format!("cannot create {}", scratch.display()))?;
    let outcome = prepare_in(&root, &scratch, check);
    let _ = std::fs::remove_dir_all(&scratch);
    outcome
}

fn prepare_in(root: &Path, scratch: &Path, check: bool) -> anyhow::Result<()> {
    let database = scratch.join("schema.db");
    migrate(&database)?;
    let committed = root.join(".sqlx");
    let out = if check { scratch.join("sqlx") } else { committed.clone() };
    std::fs::create_dir_all(&out).with_context(|| format!("cannot create {}", out.display()))?;
    if !check {
        // Queries that were removed must not linger.
        for file in query_files(&out)? {
            std::fs::remove_file(out.join(&file)).with_context(|| format!("cannot remove {file} from {}", out.display()))?;
        }
    }
    // The macros read the database when the crate compiles; touching its root makes cargo
    // compile it again instead of reusing a build made from the committed data.
    let lib = root.join("src/lib.rs");
    std::fs::File::options()
        .append(true)
        .open(&lib)
        .and_then(|f| f.set_modified(std::time::SystemTime::now()))
        .with_context(|| format!("cannot touch {}", lib.display()))?;
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let status = Command::new(cargo)
        .current_dir(root)
        // All targets, as clippy checks them, so the dependencies' check builds are shared.
        .args(["check", "--locked", "--quiet", "--package", "trainmaster", "--all-targets"])
        .env("DATABASE_URL", format!("sqlite://{}", database.display()))
        .env("SQLX_OFFLINE", "false")
        .env("SQLX_OFFLINE_DIR", &out)
        .status()
        .context("cannot run cargo check")?;
    if !status.success() {
        bail!("the queries do not compile against the schema of migrations/ (see above)");
    }
    if check {
        compare(&committed, &out)
    } else {
        println!("wrote {} query descriptions to {}", query_files(&out)?.len(), out.display());
        Ok(())
    }
}

/// Applies the migrations to a new database at `path`, as the application does at start-up.
fn migrate(path: &Path) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    runtime.block_on(async {
        let mut connection = SqliteConnectOptions::new().filename(path).create_if_missing(true).connect().await?;
        sqlx::migrate!("../migrations").run(&mut connection).await?;
        anyhow::Ok(())
    })
}

fn query_files(dir: &Path) -> anyhow::Result<BTreeSet<String>> {
    if !dir.exists() {
        return Ok(BTreeSet::new());
    }
    let mut files = BTreeSet::new();
    for entry in std::fs::read_dir(dir).with_context(|| format!("cannot list {}", dir.display()))? {
        let name = entry?.file_name().to_string_lossy().into_owned();
        if name.starts_with("query-") && name.ends_with(".json") {
            files.insert(name);
        }
    }
    Ok(files)
}

/// Fails naming every file that is missing, extra or different in `committed`.
fn compare(committed: &Path, fresh: &Path) -> anyhow::Result<()> {
    let (old, new) = (query_files(committed)?, query_files(fresh)?);
    let read = |dir: &PathBuf, name: &str| std::fs::read(dir.join(name)).ok();
    let mut problems = vec![];
    for name in new.difference(&old) {
        problems.push(format!("missing: .sqlx/{name}"));
    }
    for name in old.difference(&new) {
        problems.push(format!("no longer used: .sqlx/{name}"));
    }
    for name in old.intersection(&new) {
        if read(&committed.to_path_buf(), name) != read(&fresh.to_path_buf(), name) {
            problems.push(format!("out of date: .sqlx/{name}"));
        }
    }
    if problems.is_empty() {
        println!(".sqlx/ describes all {} queries as they are", new.len());
        return Ok(());
    }
    bail!(
        ".sqlx/ does not match the SQL in src/store/sql and migrations/:\n  {}\nrun `cargo xtask sqlx-prepare` and commit .sqlx/",
        problems.join("\n  ")
    )
}
