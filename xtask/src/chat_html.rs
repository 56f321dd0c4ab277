//! `cargo xtask chat-html DUMP.json OUT.html [--png OUT.png]`: draws a scenario's channels the
//! way Discord shows them, to read the bot's messages as a stakeholder skimming the channel would.
//!
//! A dump is what the test harness writes with `TRAINMASTER_CHAT_DUMP=<dir> cargo test ...`:
//! each channel's messages as last edited, the release threads, the answers to commands. The page
//! imitates Discord's dark theme: content with its markdown, mentions as names, timestamps in
//! words, embeds with their colour bar, fields, footer and buttons. With `--png`, headless
//! Chromium (Debian's `chromium` package) takes a full-page screenshot of it.

use anyhow::{bail, Context};
use serde_json::Value;
use std::fmt::Write as _;
use std::path::Path;

pub fn run(args: &[String]) -> anyhow::Result<()> {
    let (dump, out, png) = match args {
        [dump, out] => (dump, out, None),
        [dump, out, flag, png] if flag == "--png" => (dump, out, Some(png)),
        _ => bail!("expected a dump and an output file"),
    };
    let text = std::fs::read_to_string(dump).with_context(|| format!("cannot read {dump}"))?;
    let dump: Value = serde_json::from_str(&text).with_context(|| format!("{dump} is not a chat dump"))?;
    std::fs::write(out, page(&dump)).with_context(|| format!("cannot write {out}"))?;
    if let Some(png) = png {
        screenshot(Path::new(out), Path::new(png))?;
    }
    Ok(())
}

fn screenshot(html: &Path, png: &Path) -> anyhow::Result<()> {
    let html = std::fs::canonicalize(html)?;
    let status = std::process::Command::new("chromium")
        .args(["--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", "--window-size=1400,3000"])
        .arg(format!("--screenshot={}", png.display()))
        .arg(format!("file://{}", html.display()))
        .status()
        .context("cannot run chromium (apt-get install chromium)")?;
    if !status.success() {
        bail!("chromium failed: {status}");
    }
    Ok(())
}

const STYLE: &str = r#"
body { background:#313338; color:#dbdee1; font:16px/1.375 "gg sans","Noto Sans",Helvetica,Arial,sans-serif; margin:0; display:flex; gap:16px; padding:16px; }
.column { width:660px; flex:none; }
h2 { color:#f2f3f5; font-size:15px; border-bottom:1px solid #3f4147; padding-bottom:6px; }
.msg { display:flex; gap:12px; padding:6px 0; }
.avatar { width:40px; height:40px; border-radius:50%; background:#5865f2; flex:none; }
.who { color:#f2f3f5; font-weight:500; } .bot { background:#5865f2; color:#fff; font-size:10px; padding:1px 4px; border-radius:3px; margin-left:4px; }
.eph { color:#949ba4; font-size:12px; }
.content { white-space:pre-wrap; word-wrap:break-word; }
code { background:#2b2d31; border-radius:3px; padding:0 3px; font-size:14px; }
.mention { background:rgba(88,101,242,.3); color:#c9cdfb; border-radius:3px; padding:0 2px; }
.time { background:#2b2d31; border-radius:3px; padding:0 2px; }
.embed { background:#2b2d31; border-left:4px solid #1e1f22; border-radius:4px; padding:8px 16px 12px 12px; margin-top:4px; max-width:520px; }
.title { color:#f2f3f5; font-weight:600; margin:4px 0; white-space:pre-wrap; }
.desc, .value { white-space:pre-wrap; font-size:14px; }
.fields { display:flex; flex-wrap:wrap; gap:4px 16px; margin-top:8px; }
.field { flex:1 1 100%; } .field.inline { flex:1 1 28%; }
.name { color:#f2f3f5; font-weight:600; font-size:14px; }
.footer { color:#949ba4; font-size:12px; margin-top:8px; }
.buttons { display:flex; gap:8px; margin-top:8px; flex-wrap:wrap; }
.button { color:#fff; border-radius:3px; padding:2px 16px; font-size:14px; line-height:28px; }
.s1 { background:#5865f2; } .s2 { background:#4e5058; } .s3 { background:#248046; } .s4 { background:#da373c; } .s5 { background:#4e5058; }
.disabled { opacity:.5; }
"#;

fn page(dump: &Value) -> String {
    let roles = &dump["roles"];
    let mut html = format!("<!doctype html><meta charset=utf-8><style>{STYLE}</style>");
    let channels = dump["channels"].as_array().cloned().unwrap_or_default();
    for channel in &channels {
        let title = match channel["parent"].as_str() {
            Some(_) => format!("🧵 thread {}", thread_name(dump, channel)),
            None => format!("# channel {}", channel["id"].as_str().unwrap_or_default()),
        };
        let _ = write!(html, "<div class=column><h2>{}</h2>", escape(&title));
        for message in channel["messages"].as_array().into_iter().flatten() {
            html.push_str(&message_html(message, roles, false));
        }
        html.push_str("</div>");
    }
    let replies = dump["replies"].as_array().cloned().unwrap_or_default();
    if !replies.is_empty() {
        html.push_str("<div class=column><h2>Answers to commands and clicks</h2>");
        for reply in &replies {
            let ephemeral = reply["flags"].as_u64().unwrap_or(0) & 64 != 0;
            html.push_str(&message_html(reply, roles, ephemeral));
        }
        html.push_str("</div>");
    }
    html
}

/// The name a thread was started with: its parent message's card title, as the bot names it.
fn thread_name(dump: &Value, thread: &Value) -> String {
    let id = thread["id"].as_str().unwrap_or_default();
    let parents = dump["channels"].as_array().into_iter().flatten().flat_map(|c| c["messages"].as_array().into_iter().flatten());
    parents
        .filter(|m| m["id"].as_str() == Some(id))
        .find_map(|m| m["embeds"][0]["title"].as_str().map(String::from))
        .unwrap_or_else(|| id.to_string())
}

fn message_html(message: &Value, roles: &Value, ephemeral: bool) -> String {
    let mut html = String::from("<div class=msg><div class=avatar></div><div>");
    html.push_str("<span class=who>Trainmaster</span><span class=bot>APP</span>");
    if ephemeral {
        html.push_str(" <span class=eph>👁 Only you can see this</span>");
    }
    if let Some(content) = message["content"].as_str().filter(|c| !c.is_empty()) {
        let _ = write!(html, "<div class=content>{}</div>", markdown(content, roles));
    }
    for embed in message["embeds"].as_array().into_iter().flatten() {
        let colour = embed["color"].as_u64().map(|c| format!("#{c:06x}")).unwrap_or_else(|| "#1e1f22".into());
        let _ = write!(html, "<div class=embed style='border-left-color:{colour}'>");
        if let Some(title) = embed["title"].as_str() {
            // Discord shows titles as they are: no mentions, no timestamps.
            let _ = write!(html, "<div class=title>{}</div>", escape(title));
        }
        if let Some(description) = embed["description"].as_str() {
            let _ = write!(html, "<div class=desc>{}</div>", markdown(description, roles));
        }
        let fields = embed["fields"].as_array().cloned().unwrap_or_default();
        if !fields.is_empty() {
            html.push_str("<div class=fields>");
            for field in &fields {
                let inline = if field["inline"].as_bool() == Some(true) { " inline" } else { "" };
                let _ = write!(
                    html,
                    "<div class='field{inline}'><div class=name>{}</div><div class=value>{}</div></div>",
                    markdown(field["name"].as_str().unwrap_or_default(), roles),
                    markdown(field["value"].as_str().unwrap_or_default(), roles)
                );
            }
            html.push_str("</div>");
        }
        if let Some(footer) = embed["footer"]["text"].as_str() {
            let _ = write!(html, "<div class=footer>{}</div>", escape(footer));
        }
        html.push_str("</div>");
    }
    let buttons: Vec<&Value> =
        message["components"].as_array().into_iter().flatten().flat_map(|r| r["components"].as_array().into_iter().flatten()).collect();
    if !buttons.is_empty() {
        html.push_str("<div class=buttons>");
        for b in buttons {
            let disabled = if b["disabled"].as_bool() == Some(true) { " disabled" } else { "" };
            let style = b["style"].as_u64().unwrap_or(2);
            let _ = write!(html, "<span class='button s{style}{disabled}'>{}</span>", escape(b["label"].as_str().unwrap_or_default()));
        }
        html.push_str("</div>");
    }
    html.push_str("</div></div>");
    html
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;")
}

/// The markdown Discord renders in content, descriptions and fields: bold, inline code, role and
/// user mentions, channel links, timestamps.
fn markdown(text: &str, roles: &Value) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<code>{}</code>", escape(part));
            continue;
        }
        out.push_str(&inline(part, roles));
    }
    out
}

fn inline(text: &str, roles: &Value) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find('<') {
        out.push_str(&bold(&escape(&rest[..start])));
        let tail = &rest[start..];
        let Some(end) = tail.find('>') else {
            out.push_str(&escape(tail));
            return out;
        };
        let token = &tail[1..end];
        let shown = if let Some(role) = token.strip_prefix("@&") {
            let name = roles[role].as_str().map(String::from).unwrap_or_else(|| format!("unknown-role {role}"));
            Some(format!("<span class=mention>@{}</span>", escape(&name)))
        } else if let Some(user) = token.strip_prefix('@') {
            Some(format!("<span class=mention>@user{}</span>", escape(user)))
        } else if let Some(channel) = token.strip_prefix('#') {
            Some(format!("<span class=mention>#{}</span>", escape(&channel[channel.len().saturating_sub(4)..])))
        } else if let Some(time) = token.strip_prefix("t:") {
            let (secs, style) = time.split_once(':').unwrap_or((time, "f"));
            Some(format!("<span class=time>{}</span>", timestamp(secs, style)))
        } else if token.starts_with("http") {
            Some(format!("<a style='color:#00a8fc'>{}</a>", escape(token)))
        } else {
            None
        };
        match shown {
            Some(html) => out.push_str(&html),
            None => out.push_str(&escape(&tail[..=end])),
        }
        rest = &tail[end + 1..];
    }
    out.push_str(&bold(&escape(rest)));
    out
}

fn bold(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split("**").enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<b>{part}</b>");
        } else {
            out.push_str(part);
        }
    }
    out
}

/// A Discord timestamp as a reader sees it (relative ones as "just now": the dump has no clock).
fn timestamp(secs: &str, style: &str) -> String {
    match style {
        "R" => "a minute ago".into(),
        "t" | "T" => "14:02".into(),
        _ => format!("7 December 2026 14:02 ({secs})"),
    }
}
