//! What every message the bot sends must be, whatever the scenario: in plain words (no internal
//! state names, no `role:` config syntax outside code) and within Discord's limits. The harness
//! runs this over everything a test's bot said when the test ends, so the whole suite is the scan.

use trainmaster::sandbox::Said;

/// The internal names a person must never read (the domain's enum variants).
const INTERNAL_WORDS: [&str; 3] = ["NotStarted", "OnHold", "PartialSuccess"];

/// What is wrong with the things said, one line per problem; empty when all is well.
pub fn problems(said: &[Said]) -> Vec<String> {
    let mut found = vec![];
    for s in said {
        for text in s.texts() {
            let prose = outside_code(&text);
            for word in INTERNAL_WORDS {
                if prose.split(|c: char| !c.is_alphanumeric()).any(|w| w == word) {
                    found.push(format!("{}: internal word `{word}` in {text:?}", s.route));
                }
            }
            for syntax in ["role:", "user:"] {
                if prose.contains(syntax) {
                    found.push(format!("{}: config syntax `{syntax}` outside code in {text:?}", s.route));
                }
            }
        }
        found.extend(over_limits(s));
    }
    found
}

/// The text with inline code and code blocks taken out: config syntax there is documentation.
fn outside_code(text: &str) -> String {
    text.split('`').step_by(2).collect::<Vec<_>>().join(" ")
}

/// Discord's limits on a message: content, each embed's parts and total, button labels.
fn over_limits(s: &Said) -> Vec<String> {
    let len = |v: &serde_json::Value| v.as_str().map_or(0, |t| t.chars().count());
    let mut found = vec![];
    let mut check = |what: &str, n: usize, limit: usize| {
        if n > limit {
            found.push(format!("{}: {what} is {n} characters, over Discord's {limit}", s.route));
        }
    };
    check("content", len(&s.body["content"]), 2_000);
    for embed in s.body["embeds"].as_array().into_iter().flatten() {
        let fields = embed["fields"].as_array().cloned().unwrap_or_default();
        check("embed title", len(&embed["title"]), 256);
        check("embed description", len(&embed["description"]), 4_096);
        check("embed footer", len(&embed["footer"]["text"]), 2_048);
        check("embed fields", fields.len(), 25);
        for field in &fields {
            check("field name", len(&field["name"]), 256);
            check("field value", len(&field["value"]), 1_024);
        }
        let total = len(&embed["title"])
            + len(&embed["description"])
            + len(&embed["footer"]["text"])
            + fields.iter().map(|f| len(&f["name"]) + len(&f["value"])).sum::<usize>();
        check("embed", total, 6_000);
    }
    for row in s.body["components"].as_array().into_iter().flatten() {
        for component in row["components"].as_array().into_iter().flatten() {
            check("button label", len(&component["label"]), 80);
        }
    }
    found
}

#[test]
fn the_scan_finds_internal_words_and_config_syntax_but_not_in_code() {
    let said = |body: serde_json::Value| Said { route: "POST /channels/1/messages".into(), body };
    let bad = [
        said(serde_json::json!({"content": "phase `qa` is NotStarted"})),
        said(serde_json::json!({"embeds": [{"title": "x", "fields": [{"name": "Now", "value": "✋ OnHold"}]}]})),
        said(serde_json::json!({"content": "needs 1 approval from role:QA"})),
        said(serde_json::json!({"content": "x".repeat(2_001)})),
    ];
    for s in &bad {
        assert_eq!(problems(std::slice::from_ref(s)).len(), 1, "{:?}", s.body);
    }
    let fine = said(serde_json::json!({"content": "Write approvers as `role:QA`; it is on hold, not started, partly shipped."}));
    assert!(problems(&[fine]).is_empty());
}
