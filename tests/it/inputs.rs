//! Bad `/release create` input: a specific ephemeral error, and nothing stored.

use super::harness::*;

#[tokio::test]
async fn each_bad_input_gets_an_ephemeral_error_and_creates_nothing() -> TestResult {
    let h = Harness::start().await?;
    let cases: [(&str, &str, &str); 8] = [
        (
            "shop",
            "version=1.4.0 services=api colour=red",
            "unknown input `colour`; this process takes `environment`, `notes`, `services`, `version`",
        ),
        ("shop", "version=1.4.0 services=api environment=", "input `environment` is ``; write one of staging, prod"),
        ("shop", "version=1.4 services=api", "input `version` is `1.4`, which does not match the pattern `\\d+\\.\\d+\\.\\d+`"),
        ("shop", "version=1.4.0 services=api environment=qa", "input `environment` is `qa`; write one of staging, prod"),
        ("shop", "version=1.4.0 services=api notes=\"open", "the quote is never closed"),
        ("shop", "version=1.4.0 version=1.5.0 services=api", "input `version` is given twice"),
        ("shop", "version 1.4.0", "expected `=` after the key"),
        ("nope", "version=1.4.0", "there is no process `nope`; known processes: `shop`"),
    ];
    for (process, inputs, expected) in cases {
        let reply = h.slash(&alice(), "create", &[("process", process), ("name", "Bad"), ("inputs", inputs)]).await?;
        assert!(reply.ephemeral(), "{inputs}: reply is not ephemeral");
        assert!(
            reply.text().to_lowercase().contains(&expected.to_lowercase()),
            "{inputs}:\n  got      {}\n  expected {expected}",
            reply.text()
        );
    }
    assert_eq!(h.count_releases().await?, 0);
    h.finish().await
}

#[tokio::test]
async fn missing_required_inputs_are_asked_for_in_a_form_and_a_bad_answer_keeps_what_was_typed() -> TestResult {
    let h = Harness::start().await?;
    let form = h.slash(&alice(), "create", &[("process", "shop"), ("name", "Week 49"), ("inputs", "services=api,web")]).await?;
    assert_eq!(form.kind, 9, "a modal: {:?}", form.data);
    let fields: Vec<&str> =
        form.data["components"].as_array().into_iter().flatten().filter_map(|row| row["components"][0]["custom_id"].as_str()).collect();
    assert_eq!(fields, ["version"], "only what is missing");
    assert_eq!(form.data["components"][0]["components"][0]["placeholder"], "like 1.4.0");
    // Someone else cannot submit alice's form.
    let stranger = h.sandbox.submit_modal(&bob(), &form, &[("version", "9.9.9")]).await?;
    assert!(stranger.ephemeral() && stranger.text().contains("expired"), "{}", stranger.text());
    assert_eq!(h.count_releases().await?, 0);

    let bad = h.sandbox.submit_modal(&alice(), &form, &[("version", "1.4")]).await?;
    assert!(bad.ephemeral() && bad.text().contains("does not match the pattern"), "{}", bad.text());
    assert_eq!(h.count_releases().await?, 0, "nothing half-made is stored");
    let again = h.sandbox.click_reply(&alice(), &bad, "Fill in again").await?;
    assert_eq!(again.kind, 9);
    assert_eq!(again.data["components"][0]["components"][0]["value"], "1.4", "what was typed is kept");
    let created = h.sandbox.submit_modal(&alice(), &again, &[("version", "1.4.1")]).await?;
    assert!(created.ephemeral(), "asked in the notices channel: the live card will be the channel's one card");
    let id = created.release_id().unwrap_or_default();
    let status = h.slash(&alice(), "status", &[("release", &id)]).await?;
    assert!(status.text().contains("`version` 1.4.1") && status.text().contains("`services` api, web"), "{}", status.text());
    h.finish().await
}

#[tokio::test]
async fn more_missing_inputs_than_a_form_holds_are_named_for_the_inputs_text() -> TestResult {
    let receiver = trainmaster::sandbox::receiver::WebhookReceiver::start().await?;
    let inputs: String = (1..=6).map(|i| format!("  k{i}: {{ type: string, required: true }}\n")).collect();
    let process = format!(
        "name: wide\ninputs:\n{inputs}notices: {{ channel: \"{}\" }}\nphases:\n  - id: a\n    activities:\n      - {{ id: x, wait: {{ duration: 1m }} }}\n",
        trainmaster::sandbox::CHANNEL_ID
    );
    let h = Harness::start_with_files(receiver, &[("wide.yaml", &process)]).await?;
    let reply = h.slash(&alice(), "create", &[("process", "wide"), ("name", "W")]).await?;
    assert!(reply.ephemeral() && reply.text().contains("Input `k1` is required"), "{}", reply.text());
    h.finish().await
}
