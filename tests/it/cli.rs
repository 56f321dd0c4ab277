//! `trainmaster check` on good and broken process files, as a user runs it.

use std::path::Path;
use std::process::Command;

const GOOD: &str = include_str!("../../processes/weekly-production.yaml");

fn check(files: &[(&str, &str)]) -> anyhow::Result<(bool, String, String)> {
    let dir = tempfile::tempdir()?;
    for (name, text) in files {
        std::fs::write(dir.path().join(name), text)?;
    }
    let out = Command::new(env!("CARGO_BIN_EXE_trainmaster")).arg("check").arg(dir.path()).env_remove("TRAINMASTER_PROCESSES").output()?;
    let path = dir.path().display().to_string();
    let clean = |b: &[u8]| String::from_utf8_lossy(b).replace(&path, "DIR");
    Ok((out.status.success(), clean(&out.stdout), clean(&out.stderr)))
}

#[test]
fn check_accepts_the_example_processes() -> anyhow::Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_trainmaster"))
        .arg("check")
        .arg(Path::new(env!("CARGO_MANIFEST_DIR")).join("processes"))
        .output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in ["weekly-production", "hotfix", "system-release-train", "microservices"] {
        assert!(stdout.contains(&format!("ok: {name} ")), "{name} missing from\n{stdout}");
    }
    Ok(())
}

#[test]
fn check_accepts_the_recipes_for_github_gitlab_jenkins_and_argo_cd() -> anyhow::Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_trainmaster")).arg("check").arg(repo_file("recipes")).output()?;
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8_lossy(&out.stdout);
    for name in ["github-actions", "gitlab-pipeline", "jenkins-build", "argocd-sync"] {
        assert!(stdout.contains(&format!("ok: {name} ")), "{name} missing from\n{stdout}");
    }
    Ok(())
}

#[test]
fn check_takes_several_files_and_answers_json_for_ci() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let good = dir.path().join("good.yaml");
    let bad = dir.path().join("bad.yaml");
    std::fs::write(&good, GOOD)?;
    std::fs::write(&bad, GOOD.replace("name: weekly-production", "name: other").replace("timeout: 30m", "timeout: 30 minutes"))?;
    let out = Command::new(env!("CARGO_BIN_EXE_trainmaster")).args(["check", "--format", "json"]).arg(&good).arg(&bad).output()?;
    assert_eq!(out.status.code(), Some(1));
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(report["ok"], false);
    let errors = report["errors"].as_array().cloned().unwrap_or_default();
    assert_eq!(errors.len(), 1, "{report}");
    assert_eq!(errors[0]["file"], bad.display().to_string());
    assert_eq!((errors[0]["line"].as_u64(), errors[0]["column"].as_u64()), (Some(23), Some(18)));
    assert!(errors[0]["message"].as_str().is_some_and(|m| m.contains("`30 minutes` is not a duration")), "{report}");

    let out = Command::new(env!("CARGO_BIN_EXE_trainmaster")).args(["check", "--format", "json"]).arg(&good).output()?;
    assert!(out.status.success());
    let report: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    assert_eq!(report["processes"][0]["name"], "weekly-production");
    Ok(())
}

fn repo_file(path: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// `trainmaster schema` is what `process.schema.json` holds (regenerate with
/// `cargo run -- schema > process.schema.json`), so editors validate against the real format.
#[test]
fn the_committed_schema_is_the_generated_one() -> anyhow::Result<()> {
    let out = Command::new(env!("CARGO_BIN_EXE_trainmaster")).arg("schema").output()?;
    assert!(out.status.success());
    let generated: serde_json::Value = serde_json::from_slice(&out.stdout)?;
    let committed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(repo_file("process.schema.json"))?)?;
    assert!(generated == committed, "process.schema.json is stale: run `cargo run -- schema > process.schema.json`");
    Ok(())
}

#[test]
fn the_schema_accepts_every_example_and_rejects_a_broken_file() -> anyhow::Result<()> {
    let schema = serde_json::to_value(trainmaster::domain::process_file::schema())?;
    let validator = jsonschema::validator_for(&schema).map_err(|e| anyhow::anyhow!("the schema does not compile: {e}"))?;
    let mut examples = 0;
    let recipes = std::fs::read_dir(repo_file("recipes"))?;
    for entry in std::fs::read_dir(repo_file("processes"))?.chain(recipes) {
        let path = entry?.path();
        let text = std::fs::read_to_string(&path)?;
        assert!(
            text.starts_with("# yaml-language-server: $schema=../process.schema.json"),
            "{} does not reference the schema",
            path.display()
        );
        let yaml: serde_json::Value = serde_saphyr::from_str(&text)?;
        let problems: Vec<String> = validator.iter_errors(&yaml).map(|e| format!("{}: {e}", e.instance_path())).collect();
        assert!(problems.is_empty(), "{}: {problems:#?}", path.display());
        examples += 1;
    }
    assert_eq!(examples, 8, "four examples and four recipes");
    let broken: serde_json::Value =
        serde_saphyr::from_str(&GOOD.replace("    activities:\n      - id: qa-approval", "    activites:\n      - id: qa-approval"))?;
    assert!(!validator.is_valid(&broken), "an unknown key must be refused by the schema");
    let no_phases: serde_json::Value = serde_saphyr::from_str("name: x\nnotices: {channel: 1}\n")?;
    assert!(!validator.is_valid(&no_phases), "a missing required key must be refused by the schema");
    Ok(())
}

#[test]
fn check_reports_each_broken_file_with_its_place() -> anyhow::Result<()> {
    let cases = [
        (
            "unknown-key.yaml",
            GOOD.replace("    activities:\n      - id: qa-approval", "    activites:\n      - id: qa-approval"),
            "DIR/unknown-key.yaml:26:5: unknown field `activites`",
            "did you mean `activities`?",
        ),
        (
            "missing-id.yaml",
            GOOD.replace("      - id: deploy\n        webhook:", "      - webhook:"),
            "DIR/missing-id.yaml:31:",
            "missing field `id`",
        ),
        (
            "duplicate-id.yaml",
            GOOD.replace("id: deploy", "id: branch-cut"),
            "DIR/duplicate-id.yaml:31:13: duplicate id `branch-cut`",
            "already used at line 19",
        ),
        (
            "bad-template.yaml",
            GOOD.replace("{{ vars.target }}", "{{ vars.target "),
            "DIR/bad-template.yaml:33:11: bad template `{{ vars.target `",
            "does not parse",
        ),
    ];
    for (name, text, place, detail) in &cases {
        let (ok, _, stderr) = check(&[(name, text)])?;
        assert!(!ok, "{name} passed the check");
        assert!(stderr.contains(place), "{name}: expected {place:?} in\n{stderr}");
        assert!(stderr.contains(detail), "{name}: expected {detail:?} in\n{stderr}");
    }
    Ok(())
}

#[test]
fn check_reports_errors_from_every_file_at_once() -> anyhow::Result<()> {
    let (ok, _, stderr) = check(&[("a.yaml", &GOOD.replace("role:QA", "QA")), ("b.yaml", "name: b\nnotices: {channel: 1}\nphases: []\n")])?;
    assert!(!ok);
    assert!(stderr.contains("DIR/a.yaml:") && stderr.contains("DIR/b.yaml:3:9: a process needs at least one phase"), "{stderr}");
    assert!(stderr.contains("2 error(s)"), "{stderr}");
    Ok(())
}

#[test]
fn serve_without_a_token_says_how_to_get_one_and_exits_2() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out = Command::new(env!("CARGO_BIN_EXE_trainmaster")).arg("serve").current_dir(dir.path()).env_remove("DISCORD_TOKEN").output()?;
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("needs a Discord bot token") && stderr.contains("DISCORD_TOKEN") && stderr.contains("trainmaster demo"),
        "{stderr}"
    );
    assert!(!dir.path().join("trainmaster.db").exists(), "nothing is created before the token check");
    Ok(())
}

#[test]
fn demo_plays_a_release_to_success_without_a_token() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out = Command::new(env!("CARGO_BIN_EXE_trainmaster")).arg("demo").current_dir(dir.path()).env_remove("DISCORD_TOKEN").output()?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", String::from_utf8_lossy(&out.stderr));
    for expected in [
        "bob: clicks Approve",
        "🗳️ Approval `qa-approval` needed — @QA · 1 approval\n               ✅ Approved by bob at ",
        "Trainmaster: ✅ Release 1 · Week 47 — shipped in ",
        "** shipped.",
        "/1/deploy/run-1 body:",
        // The planned release: announced a day ahead, then started by itself as its scheduler.
        "#releases gets the advance shipping notice",
        "📦 **Coming up: Release 2 · Week 48** — version 1.5.0",
        "🚀 Started by alice, as scheduled.",
        "/2/deploy/run-1 body:",
    ] {
        assert!(stdout.contains(expected), "no {expected:?} in\n{stdout}");
    }
    Ok(())
}

#[tokio::test]
async fn audit_verify_and_export_work_on_the_database_file() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let db = dir.path().join("trainmaster.db");
    {
        let store = trainmaster::store::Store::open(&db).await?;
        let mut tx = store.begin().await?;
        let actor = trainmaster::domain::release::AuditActor::System;
        let release = Some(trainmaster::domain::release::ReleaseId(5));
        trainmaster::store::Store::append_audit(&mut tx, release, &actor, "first", &serde_json::json!({"a": "x,\"y\""})).await?;
        trainmaster::store::Store::append_audit(&mut tx, None, &actor, "second", &serde_json::json!({})).await?;
        tx.commit().await?;
    }
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_trainmaster")).args(args).current_dir(dir.path()).env("TRAINMASTER_DATABASE", &db).output()
    };
    let ok = run(&["audit", "verify"])?;
    assert!(ok.status.success() && String::from_utf8_lossy(&ok.stdout).contains("ok: 2 audit rows"), "{ok:?}");
    let jsonl = String::from_utf8(run(&["audit", "export", "--release", "5"])?.stdout)?;
    let lines: Vec<serde_json::Value> = jsonl.lines().map(serde_json::from_str).collect::<Result<_, _>>()?;
    assert_eq!((lines.len(), lines[0]["action"].as_str(), lines[0]["detail"]["a"].as_str()), (1, Some("first"), Some("x,\"y\"")));
    let csv = String::from_utf8(run(&["audit", "export", "--release", "5", "--format", "csv"])?.stdout)?;
    assert!(csv.starts_with("id,release_id,at,actor,action,detail,hash\n1,5,"), "{csv}");
    assert!(csv.contains(r#""{""a"":""x,\""y\""""}""#), "{csv}");

    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display())).await?;
    sqlx::query("DROP TRIGGER audit_is_append_only_update").execute(&pool).await?;
    sqlx::query("UPDATE audit SET action = 'forged' WHERE id = 1").execute(&pool).await?;
    pool.close().await;
    let broken = run(&["audit", "verify"])?;
    assert_eq!(broken.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&broken.stderr).contains("row 1 was altered"), "{broken:?}");

    let missing = Command::new(env!("CARGO_BIN_EXE_trainmaster"))
        .args(["audit", "verify"])
        .current_dir(dir.path())
        .env("TRAINMASTER_DATABASE", dir.path().join("nope.db"))
        .output()?;
    assert_eq!(missing.status.code(), Some(2));
    assert!(!dir.path().join("nope.db").exists(), "verify must not create a database");
    let bad_id = run(&["audit", "export", "--release", "x"])?;
    assert_eq!(bad_id.status.code(), Some(2));
    Ok(())
}

/// The process sketch in DESIGN.md (normative in spirit) is a valid process file. Skipped, with a
/// reason, where `../shared` is not beside the repository.
#[test]
fn the_design_sketch_is_a_valid_process() -> anyhow::Result<()> {
    let Ok(design) = std::fs::read_to_string(repo_file("../shared/DESIGN.md")) else {
        println!("skipped: ../shared/DESIGN.md is not beside the repository");
        return Ok(());
    };
    let start = design.find("```yaml\nname:").map(|i| i + "```yaml\n".len()).ok_or_else(|| anyhow::anyhow!("no sketch"))?;
    let end = design[start..].find("```").map(|i| start + i).ok_or_else(|| anyhow::anyhow!("unclosed sketch"))?;
    let sketch = trainmaster::domain::process_file::parse("DESIGN.md", &design[start..end]);
    assert!(sketch.is_ok(), "{:#?}", sketch.err());
    Ok(())
}

#[test]
fn check_refuses_a_signing_secret_shorter_than_the_standard_webhooks_minimum() -> anyhow::Result<()> {
    let secrets = tempfile::tempdir()?;
    let short = secrets.path().join("short.secret");
    std::fs::write(&short, "whsec_c2VjcmV0LXRoYXQtaXMtd3Jvbmc=")?; // 20 bytes
    let process = format!(
        "name: signed\nnotices: {{ channel: \"1\" }}\nphases:\n  - id: p\n    activities:\n      - {{ id: call, webhook: {{ url: \"https://ci.example.com/hook\", secret: \"file:{}\" }} }}\n",
        short.display()
    );
    let (ok, _, stderr) = check(&[("signed.yaml", &process)])?;
    assert!(!ok, "{stderr}");
    assert!(stderr.contains("activity `call`") && stderr.contains("at least 24 bytes"), "{stderr}");
    // A secret this machine cannot read is left to the bot's machine.
    let unreadable = process.replace(&format!("file:{}", short.display()), "env:TRAINMASTER_TEST_NOT_SET");
    let (ok, _, stderr) = check(&[("signed.yaml", &unreadable)])?;
    assert!(ok, "{stderr}");
    Ok(())
}

#[test]
fn init_writes_a_configuration_and_a_process_that_check_accepts_and_never_overwrites() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let trainmaster = || {
        let mut command = Command::new(env!("CARGO_BIN_EXE_trainmaster"));
        command.current_dir(dir.path()).env_remove("TRAINMASTER_PROCESSES").env_remove("TRAINMASTER_DATABASE");
        command
    };
    let init = trainmaster().arg("init").output()?;
    assert!(init.status.success(), "{}", String::from_utf8_lossy(&init.stderr));
    // `check` with no argument reads the written trainmaster.toml and its processes directory.
    let check = trainmaster().arg("check").output()?;
    assert!(check.status.success(), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stdout).contains("ok: first-release "), "{}", String::from_utf8_lossy(&check.stdout));
    let again = trainmaster().arg("init").output()?;
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("exists already; nothing was written"));
    Ok(())
}

#[test]
fn serve_in_a_fresh_directory_says_what_is_missing_and_what_to_do() -> anyhow::Result<()> {
    let dir = tempfile::tempdir()?;
    let out = Command::new(env!("CARGO_BIN_EXE_trainmaster"))
        .arg("serve")
        .current_dir(dir.path())
        .env("DISCORD_TOKEN", "token")
        .env_remove("TRAINMASTER_PROCESSES")
        .env_remove("TRAINMASTER_DATABASE")
        .env("TRAINMASTER_HTTP", "127.0.0.1:0")
        .output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("there are no process files at processes: run `trainmaster init`"), "{stderr}");
    assert!(!stderr.contains("os error"), "{stderr}");
    Ok(())
}

/// The systemd unit in deploy/ is one systemd accepts, checked where `systemd-analyze` exists.
#[test]
fn the_systemd_unit_verifies() -> anyhow::Result<()> {
    let Ok(found) = Command::new("systemd-analyze").arg("--version").output() else {
        println!("skipped: systemd-analyze is not installed here");
        return Ok(());
    };
    anyhow::ensure!(found.status.success(), "systemd-analyze --version failed");
    let unit = std::fs::read_to_string(repo_file("deploy/trainmaster.service"))?;
    assert!(unit.contains("KillSignal=SIGTERM") && unit.contains("Restart=on-failure") && unit.contains("StateDirectory="));
    // `verify` wants ExecStart's program to exist: point it at the binary just built.
    let dir = tempfile::tempdir()?;
    let path = dir.path().join("trainmaster.service");
    std::fs::write(&path, unit.replace("/usr/local/bin/trainmaster", env!("CARGO_BIN_EXE_trainmaster")))?;
    let out = Command::new("systemd-analyze").arg("verify").arg(&path).output()?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success() && !stderr.contains("trainmaster.service"), "{stderr}");
    Ok(())
}

#[test]
fn a_file_missing_required_fields_reports_them_with_every_other_error_and_notices_are_optional() -> anyhow::Result<()> {
    // No name, no notices, and a cycle: the missing name is one error among the others.
    let broken = "phases:\n  - id: a\n    depends_on: [b]\n    activities: [{ id: x, wait: { duration: 1m } }]\n  - id: b\n    depends_on: [a]\n    activities: [{ id: y, wait: { duration: 1m } }]\n";
    let (ok, _, stderr) = check(&[("broken.yaml", broken)])?;
    assert!(!ok);
    assert!(stderr.contains("DIR/broken.yaml:1:1: the process has no `name`"), "{stderr}");
    assert!(stderr.contains("add `name: weekly-production`"), "{stderr}");
    assert!(stderr.contains("cycle"), "the cycle is reported too: {stderr}");
    assert!(!stderr.contains("notices"), "notices are optional: {stderr}");
    let no_phases = "name: empty\n";
    let (ok, _, stderr) = check(&[("empty.yaml", no_phases)])?;
    assert!(!ok && stderr.contains("the process has no `phases`") && stderr.contains("add `phases:`"), "{stderr}");
    // Without notices at all, a process is valid.
    let minimal = "name: minimal\nphases:\n  - id: a\n    activities: [{ id: x, wait: { duration: 1m } }]\n";
    let (ok, stdout, stderr) = check(&[("minimal.yaml", minimal)])?;
    assert!(ok, "{stderr}");
    assert!(stdout.contains("ok: minimal "), "{stdout}");
    Ok(())
}
