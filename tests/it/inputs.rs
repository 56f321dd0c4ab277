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
        ("shop", "services=api", "input `version` is required: write `version=<text>` matching `\\d+\\.\\d+\\.\\d+` (like 1.4.0)"),
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
        assert!(reply.text().contains(expected), "{inputs}:\n  got      {}\n  expected {expected}", reply.text());
    }
    assert_eq!(h.count_releases().await?, 0);
    h.finish().await
}
