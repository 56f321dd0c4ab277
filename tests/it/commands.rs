//! The application commands registered with Discord match the golden copies in `commands/`.
//! After changing a command on purpose, refresh them with `UPDATE_GOLDEN=1 cargo test`.

use std::path::PathBuf;

#[test]
fn registered_commands_match_the_files_in_commands() -> anyhow::Result<()> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("commands");
    let commands = poise::builtins::create_application_commands(&trainmaster::discord::commands());
    for command in commands {
        let json = serde_json::to_value(&command)?;
        let name = json["name"].as_str().unwrap_or_default().to_string();
        let file = dir.join(format!("{name}.json"));
        let pretty = serde_json::to_string_pretty(&json)? + "\n";
        if std::env::var_os("UPDATE_GOLDEN").is_some() {
            std::fs::write(&file, &pretty)?;
        }
        let golden = std::fs::read_to_string(&file)
            .map_err(|e| anyhow::anyhow!("{}: {e}; run UPDATE_GOLDEN=1 cargo test to create it", file.display()))?;
        let golden: serde_json::Value = serde_json::from_str(&golden)?;
        assert_eq!(
            json,
            golden,
            "command `{name}` differs from {}; if the change is intended, run UPDATE_GOLDEN=1 cargo test",
            file.display()
        );
    }
    Ok(())
}
