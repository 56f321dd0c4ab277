//! The HTTP face under hostile or careless clients: oversized bodies, random callback tokens,
//! unknown routes, header spelling.

use super::harness::*;

async fn audit_rows(h: &Harness) -> anyhow::Result<i64> {
    let store = h.store().await?;
    Ok(sqlx::query_scalar("SELECT COUNT(*) FROM audit").fetch_one(store.pool()).await?)
}

#[tokio::test]
async fn a_body_over_64_kib_is_refused_in_json_and_an_oversized_callback_is_audited() -> TestResult {
    let (h, _secret_dir, id, callback_url) = started_callback_release().await?;

    let client = reqwest::Client::new();
    for url in [h.http_url("/hooks/releases"), callback_url] {
        let answer = client.post(&url).body(vec![b' '; 100 * 1024]).send().await?;
        assert_eq!(answer.status().as_u16(), 413, "{url}");
        assert!(answer.headers()["content-type"].to_str()?.starts_with("application/json"), "{url}");
        let body: serde_json::Value = answer.json().await?;
        assert_eq!(body["error"], "the body is larger than 64 KiB", "{url}");
    }
    let trail = h.audit(&id).await?;
    let refusal = trail.iter().find(|r| r.action == "callback_refused").ok_or_else(|| anyhow::anyhow!("{:?}", actions(&trail)))?;
    assert_eq!(refusal.detail["reason"], "the body is larger than 64 KiB");
    h.finish().await
}

#[tokio::test]
async fn callbacks_to_unknown_tokens_are_counted_not_written_to_the_audit_trail() -> TestResult {
    let h = Harness::start().await?;
    let before = audit_rows(&h).await?;
    let client = reqwest::Client::new();
    let mut unknown = 0;
    for n in 0..400 {
        let answer = client.post(h.http_url(&format!("/hooks/activities/random-{n}"))).body("{}").send().await?;
        match answer.status().as_u16() {
            404 => unknown += 1,
            429 => {} // the rate limit caught up with the flood
            other => anyhow::bail!("request {n}: {other}"),
        }
    }
    assert!(unknown >= 200, "the default burst lets 200 through: {unknown}");
    assert_eq!(audit_rows(&h).await?, before, "nothing was chained into the audit trail");
    let metrics = client.get(h.http_url("/metrics")).send().await?.text().await?;
    assert!(metrics.contains(&format!("trainmaster_callbacks_refused_total{{reason=\"unknown_token\"}} {unknown}")), "{metrics}");
    h.finish().await
}

#[tokio::test]
async fn unknown_routes_and_wrong_methods_answer_json_and_bearer_is_any_case() -> TestResult {
    let h = Harness::start().await?;
    let client = reqwest::Client::new();
    let missing = client.get(h.http_url("/nothing-here")).send().await?;
    assert_eq!(missing.status().as_u16(), 404);
    assert!(missing.json::<serde_json::Value>().await?["error"].as_str().is_some_and(|e| e.contains("no such endpoint")));
    let wrong = client.get(h.http_url("/hooks/releases")).send().await?;
    assert_eq!(wrong.status().as_u16(), 405);
    let body: serde_json::Value = wrong.json().await?;
    assert!(body["error"].as_str().is_some_and(|e| e.starts_with("method not allowed here")), "{body}");

    let id = h.create(VALID_INPUTS).await?;
    for scheme in ["Bearer", "bearer", "BEARER"] {
        let answer =
            client.get(h.http_url(&format!("/releases/{id}"))).header("authorization", format!("{scheme} {API_TOKEN}")).send().await?;
        assert_eq!(answer.status().as_u16(), 200, "{scheme}");
    }
    let wrong_scheme =
        client.get(h.http_url(&format!("/releases/{id}"))).header("authorization", format!("Basic {API_TOKEN}")).send().await?;
    assert_eq!(wrong_scheme.status().as_u16(), 401);
    h.finish().await
}

#[tokio::test]
async fn a_client_over_the_hooks_rate_limit_gets_429_with_retry_after() -> TestResult {
    let h = Harness::start_tweaked(&[], |s| s.hooks_limit = trainmaster::http::HooksLimit { per_second: 1, burst: 5 }).await?;
    let client = reqwest::Client::new();
    let url = h.http_url("/hooks/activities/nobody");
    for n in 0..5 {
        assert_eq!(client.post(&url).body("{}").send().await?.status().as_u16(), 404, "request {n} is within the burst");
    }
    let limited = client.post(&url).body("{}").send().await?;
    assert_eq!(limited.status().as_u16(), 429);
    let retry_after: u64 = limited.headers()["retry-after"].to_str()?.parse()?;
    assert!((1..=2).contains(&retry_after), "{retry_after}");
    let body: serde_json::Value = limited.json().await?;
    assert!(body["error"].as_str().is_some_and(|e| e.starts_with("too many requests from this address")), "{body}");
    // Other endpoints are not limited.
    assert_eq!(client.get(h.http_url("/healthz")).send().await?.status().as_u16(), 200);
    h.finish().await
}

fn process_in(name: &str, channel: u64) -> String {
    format!("name: {name}\nnotices: {{ channel: \"{channel}\" }}\nphases:\n  - id: p\n    activities:\n      - {{ id: w, wait: {{ duration: 1h }} }}\n")
}

async fn trigger_in(h: &Harness, guild: u64, process: &str, run: &str) -> anyhow::Result<(u16, serde_json::Value)> {
    let body = serde_json::json!({"guild_id": guild.to_string(), "process": process, "name": run});
    post_signed(&h.http_url("/hooks/releases"), TRIGGER_SECRET, run, now(), body.to_string().as_bytes()).await
}

#[tokio::test]
async fn triggers_go_only_to_allowed_servers_the_bot_is_in_and_a_servers_token_sees_only_its_releases() -> TestResult {
    use trainmaster::domain::GuildId;
    use trainmaster::sandbox::{CHANNEL_ID, GUILD_ID, OTHER_CHANNEL_ID, OTHER_GUILD_ID};
    let files = [("home.yaml", process_in("home", CHANNEL_ID)), ("away.yaml", process_in("away", OTHER_CHANNEL_ID))];
    let files: Vec<(&str, &str)> = files.iter().map(|(n, t)| (*n, t.as_str())).collect();
    let h = Harness::start_tweaked(&files, |s| {
        s.trigger_guilds = Some(vec![GuildId(GUILD_ID)]);
        s.guild_api_tokens = vec![(GuildId(GUILD_ID), "home-token".into())];
    })
    .await?;
    let (status, home) = trigger_in(&h, GUILD_ID, "home", "home-1").await?;
    assert_eq!(status, 201, "{home}");
    let (status, body) = trigger_in(&h, OTHER_GUILD_ID, "away", "away-1").await?;
    assert_eq!(status, 403, "{body}");
    assert!(body["error"].as_str().is_some_and(|e| e.contains("trigger_guilds")), "{body}");
    let (status, body) = trigger_in(&h, 999, "home", "nowhere-1").await?;
    assert_eq!(status, 403, "{body}");
    assert_eq!(h.count_releases().await?, 1);

    // The home server's token reads its release, with its server, and nothing else.
    let client = reqwest::Client::new();
    let home_url = h.http_url(&format!("/releases/{}", home["id"]));
    let seen: serde_json::Value = client.get(&home_url).bearer_auth("home-token").send().await?.json().await?;
    assert_eq!(seen["guild_id"], GUILD_ID.to_string(), "{seen}");
    h.finish().await?;

    // Another server's release is not found with that token, though the global token sees it.
    let h = Harness::start_tweaked(&files, |s| s.guild_api_tokens = vec![(GuildId(GUILD_ID), "home-token".into())]).await?;
    let (status, away) = trigger_in(&h, OTHER_GUILD_ID, "away", "away-2").await?;
    assert_eq!(status, 201, "{away}");
    let away_url = h.http_url(&format!("/releases/{}", away["id"]));
    assert_eq!(client.get(&away_url).bearer_auth("home-token").send().await?.status().as_u16(), 404);
    let global: serde_json::Value = client.get(&away_url).bearer_auth(API_TOKEN).send().await?.json().await?;
    assert_eq!(global["guild_id"], OTHER_GUILD_ID.to_string(), "{global}");
    h.finish().await
}
