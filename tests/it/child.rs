//! `trainmaster serve` as a real child process against the sandbox: for what only a process can
//! show (SIGKILL, SIGTERM, a second instance on the same database).

use super::harness::*;
use std::path::PathBuf;
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

pub struct Bot {
    pub dir: PathBuf,
    pub sandbox_url: String,
    pub http: std::net::SocketAddr,
    /// Extra environment, e.g. `TRAINMASTER_SHUTDOWN_GRACE`.
    pub env: Vec<(String, String)>,
    child: Option<tokio::process::Child>,
}

impl Bot {
    /// A bot on `dir/trainmaster.db` with its processes in `dir/processes`, not started yet.
    pub fn new(dir: &std::path::Path, sandbox_url: String) -> anyhow::Result<Self> {
        Ok(Self { dir: dir.to_path_buf(), sandbox_url, http: free_port()?, env: vec![], child: None })
    }

    /// The `serve` command with this bot's environment; its output goes to `dir/bot.log`.
    pub fn command(&self, http: std::net::SocketAddr) -> anyhow::Result<tokio::process::Command> {
        let mut command = tokio::process::Command::new(env!("CARGO_BIN_EXE_trainmaster"));
        command
            .arg("serve")
            .current_dir(&self.dir)
            .env("DISCORD_TOKEN", trainmaster::sandbox::TOKEN)
            .env("TRAINMASTER_DISCORD_API", &self.sandbox_url)
            .env("TRAINMASTER_DATABASE", self.dir.join("trainmaster.db"))
            .env("TRAINMASTER_PROCESSES", self.dir.join("processes"))
            .env("TRAINMASTER_HTTP", http.to_string())
            .env("TRAINMASTER_TRIGGER_SECRET", TRIGGER_SECRET)
            .env("TRAINMASTER_WEBHOOK_ALLOW", "127.0.0.1")
            .env("RUST_LOG", "warn")
            .envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())))
            .kill_on_drop(true);
        Ok(command)
    }

    pub async fn start(&mut self) -> TestResult {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(self.dir.join("bot.log"))?;
        let child = self.command(self.http)?.stdout(Stdio::null()).stderr(log).spawn()?;
        self.child = Some(child);
        // Ready means the database is open and the gateway connected.
        let url = format!("http://{}/readyz", self.http);
        let client = reqwest::Client::new();
        let deadline = tokio::time::Instant::now() + trainmaster::sandbox::WAIT;
        loop {
            if client.get(&url).send().await.is_ok_and(|r| r.status().is_success()) {
                return Ok(());
            }
            if let Some(status) = self.child.as_mut().and_then(|c| c.try_wait().ok().flatten()) {
                anyhow::bail!("the bot exited with {status} before it was ready: {}", self.log());
            }
            anyhow::ensure!(tokio::time::Instant::now() < deadline, "the bot did not become ready: {}", self.log());
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// What the bot wrote to stderr so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("bot.log")).unwrap_or_default()
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().and_then(|c| c.id())
    }

    /// SIGKILL: no shutdown path runs, leases and in-flight calls are simply cut off.
    pub async fn kill(&mut self) -> TestResult {
        if let Some(mut child) = self.child.take() {
            child.kill().await?;
        }
        Ok(())
    }

    /// SIGTERM, as systemd, Docker and Kubernetes stop a service; waits up to `within` for the
    /// exit.
    pub async fn terminate(&mut self, within: Duration) -> anyhow::Result<ExitStatus> {
        let mut child = self.child.take().ok_or_else(|| anyhow::anyhow!("the bot is not running"))?;
        let pid = child.id().ok_or_else(|| anyhow::anyhow!("the bot has already exited"))?;
        let sent = tokio::process::Command::new("kill").args(["-TERM", &pid.to_string()]).status().await?;
        anyhow::ensure!(sent.success(), "kill -TERM {pid} failed");
        Ok(tokio::time::timeout(within, child.wait()).await.map_err(|_| anyhow::anyhow!("the bot did not exit within {within:?}"))??)
    }
}

pub fn free_port() -> anyhow::Result<std::net::SocketAddr> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?)
}
