//! Contract: every REST request the bot sent maps to an operation of Discord's OpenAPI
//! description, and its JSON body validates against that operation's request schema.

use anyhow::{anyhow, bail, Context};
use serde_json::Value;
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};
use trainmaster::sandbox::RecordedRequest;

/// Where the description comes from, for whoever lacks it.
const HOW_TO_GET: &str = "Clone https://github.com/discord/discord-api-spec beside this repository's parent as shared/discord-api-spec (the file is specs/openapi.json there; copy it to shared/discord-api-spec/openapi.json).";

fn spec_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/discord-api-spec/openapi.json")
}

fn spec() -> Option<&'static Value> {
    static SPEC: OnceLock<Option<Value>> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text = std::fs::read_to_string(spec_path()).ok()?;
        serde_json::from_str(&text).ok()
    })
    .as_ref()
}

/// Compiled request-body validators, by path template and method.
type ValidatorCache = Mutex<HashMap<(String, String), Arc<jsonschema::Validator>>>;

fn validators() -> &'static ValidatorCache {
    static CACHE: OnceLock<ValidatorCache> = OnceLock::new();
    CACHE.get_or_init(Default::default)
}

/// The spec's path template that `path` matches, preferring literal segments over parameters.
fn template_for<'a>(spec: &'a Value, path: &str) -> Option<&'a str> {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let paths = spec["paths"].as_object()?;
    paths
        .keys()
        .filter_map(|template| {
            let parts: Vec<&str> = template.trim_start_matches('/').split('/').collect();
            if parts.len() != segments.len() {
                return None;
            }
            let mut literal = 0;
            for (p, s) in parts.iter().zip(&segments) {
                if p.starts_with('{') && p.ends_with('}') {
                    continue;
                }
                if p != s {
                    return None;
                }
                literal += 1;
            }
            Some((literal, template.as_str()))
        })
        .max_by_key(|(literal, _)| *literal)
        .map(|(_, t)| t)
}

fn validator(spec: &Value, template: &str, method: &str, schema: &Value) -> anyhow::Result<Arc<jsonschema::Validator>> {
    let key = (template.to_string(), method.to_string());
    let mut cache = validators().lock().map_err(|_| anyhow!("validator cache poisoned"))?;
    if let Some(v) = cache.get(&key) {
        return Ok(v.clone());
    }
    // The operation's schema refers to `#/components/...`: give it the components at its root.
    let mut root = schema.clone();
    if let Some(obj) = root.as_object_mut() {
        obj.insert("components".into(), spec["components"].clone());
    }
    let compiled = Arc::new(jsonschema::validator_for(&root).map_err(|e| anyhow!("schema for {method} {template} does not compile: {e}"))?);
    cache.insert(key, compiled.clone());
    Ok(compiled)
}

/// Whether a missing API description fails the check: under CI (`CI=true`) it must be there;
/// on a developer's machine without it the check is skipped, saying so.
fn spec_required() -> bool {
    std::env::var("CI").is_ok_and(|v| v == "true" || v == "1")
}

/// Checks recorded requests; skips, saying why, when the API description is absent (outside CI).
pub fn check_requests(requests: &[RecordedRequest]) -> anyhow::Result<()> {
    let Some(spec) = spec() else {
        if spec_required() {
            bail!(
                "CI=true and Discord's API description is missing at {}: the contract cannot be checked. {HOW_TO_GET}",
                spec_path().display()
            );
        }
        eprintln!("contract check skipped: {} is absent. {HOW_TO_GET}", spec_path().display());
        return Ok(());
    };
    let mut problems = vec![];
    for r in requests {
        let method = r.method.to_lowercase();
        let Some(template) = template_for(spec, &r.path) else {
            problems.push(format!("{} {}: no such path in Discord's API", r.method, r.path));
            continue;
        };
        let Some(operation) = spec["paths"][template].get(&method) else {
            problems.push(format!("{} {}: {template} has no {} operation", r.method, r.path, r.method));
            continue;
        };
        let Some(body) = &r.body else { continue };
        let body = &upload_indices_as_ids(body);
        let Some(schema) = operation.pointer("/requestBody/content/application~1json/schema") else {
            problems.push(format!("{} {}: sends a JSON body, but the operation takes none", r.method, r.path));
            continue;
        };
        let v = validator(spec, template, &method, schema).context("compiling a request schema")?;
        let errors: Vec<String> = v.iter_errors(body).map(|e| format!("at {}: {}", e.instance_path(), e)).take(5).collect();
        if !errors.is_empty() {
            problems.push(format!("{} {}: body does not validate:\n    {}\n    body: {}", r.method, r.path, errors.join("\n    "), body));
        }
    }
    if !problems.is_empty() {
        bail!("{} request(s) break Discord's API contract:\n{}", problems.len(), problems.join("\n"));
    }
    Ok(())
}

#[test]
fn a_request_off_the_api_is_caught() {
    if spec().is_none() {
        assert!(!spec_required(), "CI=true and Discord's API description is missing at {}", spec_path().display());
        eprintln!("skipped: {} is absent. {HOW_TO_GET}", spec_path().display());
        return;
    }
    let bad = [
        RecordedRequest { method: "POST".into(), path: "/channels/1/not-a-route".into(), body: None },
        RecordedRequest { method: "POST".into(), path: "/channels/1/messages".into(), body: Some(serde_json::json!({"content": 5})) },
    ];
    for r in bad {
        assert!(check_requests(std::slice::from_ref(&r)).is_err(), "{r:?} should break the contract");
    }
    let good =
        RecordedRequest { method: "POST".into(), path: "/channels/1/messages".into(), body: Some(serde_json::json!({"content": "hi"})) };
    assert!(check_requests(&[good]).is_ok());
}

/// A message uploading files (multipart, `payload_json` + `files[n]`) names each new file in
/// `attachments` by its index `n`, as Discord's "Uploading Files" guide shows (`"id": 0`); the
/// OpenAPI description types every attachment id as a snowflake string. The index is checked as
/// that string: everything else about the attachment is validated as sent.
fn upload_indices_as_ids(body: &serde_json::Value) -> serde_json::Value {
    let mut body = body.clone();
    if let Some(attachments) = body.get_mut("attachments").and_then(|a| a.as_array_mut()) {
        for a in attachments {
            if let Some(index) = a.get("id").and_then(|id| id.as_u64()).filter(|i| *i < 10) {
                a["id"] = serde_json::json!(index.to_string());
            }
        }
    }
    body
}
