//! A webhook that follows its run with polls: success, the tool's own failure, timeouts, fences.

use super::*;
use crate::domain::process_file::parse;
use crate::domain::secrets::placeholder;
use chrono::Duration as Span;

const FOLLOWED: &str = r#"name: followed
secrets: { jenkins: "env:JENKINS_TOKEN" }
notices: { channel: "1" }
phases:
  - id: p
    activities:
      - id: build
        retry: { attempts: 2, backoff: 10s }
        webhook:
          url: "https://ci/job/app/buildWithParameters"
          envelope: false
          auth: { basic: { user: ci, password: "{{ secrets.jenkins }}" } }
          then:
            poll:
              url: "{{ response.headers.location }}api/json"
              interval: 10s
              timeout: 1m
              until: "response.executable is defined"
              then:
                poll:
                  url: "{{ response.executable.url }}api/json"
                  interval: 30s
                  until: "not response.building"
                  succeed_if: "response.result == 'SUCCESS'"
                  reason: "build {{ response.url }} ended {{ response.result }}"
                  outputs: { build_url: url }
      - { id: ship, webhook: { url: "https://cd/ship" } }
"#;

fn actor() -> Actor {
    Actor { user: UserId(1), display_name: "alice".into(), roles: vec![] }
}

fn followed() -> Release {
    let process = parse("followed.yaml", FOLLOWED).unwrap_or_else(|e| panic!("{e:#?}"));
    Release::new_draft(ReleaseId(9), crate::domain::GuildId(1), "f".into(), process, Default::default(), UserId(1), Utc::now())
}

fn polls(fx: &[Effect]) -> Vec<Poll> {
    fx.iter().filter_map(|e| if let Effect::Poll(p) = e { Some(p.clone()) } else { None }).collect()
}

fn calls(fx: &[Effect]) -> Vec<WebhookCall> {
    fx.iter().filter_map(|e| if let Effect::CallWebhook(c) = e { Some(c.clone()) } else { None }).collect()
}

fn only_poll(fx: &[Effect]) -> Poll {
    let found = polls(fx);
    assert_eq!(found.len(), 1, "{fx:#?}");
    found.into_iter().next().unwrap_or_else(|| unreachable!())
}

/// Starts the release and answers the build request like Jenkins: 201 with the queue item.
fn queued(r: &mut Release, t0: DateTime<Utc>) -> Poll {
    let fx = r.start(&actor(), t0).unwrap_or_default();
    let call = calls(&fx).into_iter().next().unwrap_or_else(|| panic!("no call in {fx:#?}"));
    assert!(call.raw && call.follow, "{call:?}");
    assert_eq!(call.auth, Some(Auth::Basic { user: "ci".into(), password: placeholder("jenkins") }), "the secret stays a placeholder");
    let answer = json!({"headers": {"location": "https://ci/queue/item/7/"}, "status_code": 201});
    let fx =
        r.webhook_result("build", 1, CallOutcome::Success { outputs: Default::default(), answer: Some(answer) }, t0).unwrap_or_default();
    assert_eq!(r.activity("build").map(|a| a.status), Some(StepStatus::Running), "a followed webhook runs until its polls end");
    only_poll(&fx)
}

fn look(json: serde_json::Value) -> Result<Look, String> {
    Ok(Look::ok(json))
}

#[test]
fn a_build_is_followed_from_its_queue_item_to_its_result_and_the_next_activity_runs() {
    let mut r = followed();
    let t0 = Utc::now();
    let queue = queued(&mut r, t0);
    assert_eq!((queue.url.as_str(), queue.stage, queue.poll), ("https://ci/queue/item/7/api/json", Some(0), 1));
    assert!(queue.auth.is_some(), "polls authenticate like their webhook");
    let again = only_poll(&r.poll_result(&queue, look(json!({"why": "waiting for an executor"})), t0).unwrap_or_default());
    assert_eq!((again.poll, again.delay_secs), (2, 10));
    let fx = r.poll_result(&again, look(json!({"executable": {"url": "https://ci/job/app/5/"}})), t0).unwrap_or_default();
    let build = only_poll(&fx);
    assert_eq!((build.url.as_str(), build.stage, build.poll), ("https://ci/job/app/5/api/json", Some(1), 1));
    let fx = r.poll_result(&build, look(json!({"building": true, "url": "https://ci/job/app/5/"})), t0).unwrap_or_default();
    assert!(
        fx.contains(&Effect::Notify(Notice::ActivityLink {
            activity: "build".into(),
            name: "build_url".into(),
            url: "https://ci/job/app/5/".into()
        })),
        "the build's page is linked while it runs: {fx:#?}"
    );
    let next = only_poll(&fx);
    let done = json!({"building": false, "result": "SUCCESS", "url": "https://ci/job/app/5/"});
    let fx = r.poll_result(&next, look(done), t0 + Span::seconds(30)).unwrap_or_default();
    assert_eq!(
        r.activity("build").map(|a| (a.status, a.outputs.clone())),
        Some((StepStatus::Success, json!({"build_url": "https://ci/job/app/5/"}).as_object().cloned().unwrap_or_default()))
    );
    assert_eq!(calls(&fx).iter().map(|c| c.activity.as_str()).collect::<Vec<_>>(), ["ship"]);
    assert!(!fx.iter().any(|e| matches!(e, Effect::Notify(Notice::ActivityLink { .. }))), "a link is posted once");
}

#[test]
fn a_failed_build_fails_the_try_with_the_tools_own_words_and_is_triggered_again() {
    let mut r = followed();
    let t0 = Utc::now();
    let queue = queued(&mut r, t0);
    let build = only_poll(&r.poll_result(&queue, look(json!({"executable": {"url": "https://ci/job/app/5/"}})), t0).unwrap_or_default());
    let failed = json!({"building": false, "result": "FAILURE", "url": "https://ci/job/app/5/"});
    let fx = r.poll_result(&build, look(failed.clone()), t0).unwrap_or_default();
    let retried = calls(&fx);
    assert_eq!(retried.iter().map(|c| (c.attempt, c.key.as_str())).collect::<Vec<_>>(), [(2, "9/build/run-1")], "the same run, a new try");
    assert!(fx.iter().any(|e| matches!(e, Effect::Notify(Notice::ActivityRetrying { reason, .. }) if reason == "build https://ci/job/app/5/ ended FAILURE")), "{fx:#?}");
    // The second try's build fails too: the activity and the release fail with the tool's words.
    let answer = json!({"headers": {"location": "https://ci/queue/item/8/"}});
    let queue = only_poll(
        &r.webhook_result("build", 2, CallOutcome::Success { outputs: Default::default(), answer: Some(answer) }, t0).unwrap_or_default(),
    );
    let build = only_poll(&r.poll_result(&queue, look(json!({"executable": {"url": "https://ci/job/app/6/"}})), t0).unwrap_or_default());
    let _ = r.poll_result(&build, look(json!({"building": false, "result": "ABORTED", "url": "https://ci/job/app/6/"})), t0);
    assert_eq!(r.status, ReleaseStatus::Failed);
    assert!(r.reason.as_deref().is_some_and(|why| why.contains("build https://ci/job/app/6/ ended ABORTED")), "{:?}", r.reason);
}

#[test]
fn a_poll_that_never_sees_the_end_fails_at_its_timeout_naming_the_last_look() {
    let mut r = followed();
    let t0 = Utc::now();
    let mut poll = queued(&mut r, t0);
    let mut at = t0;
    let mut fx = vec![];
    for _ in 0..10 {
        fx = r.poll_result(&poll, Err("HTTP 503 Service Unavailable".into()), at).unwrap_or_default();
        match polls(&fx).into_iter().next() {
            Some(next) => poll = next,
            None => break,
        }
        at += Span::seconds(10);
    }
    let retrying =
        fx.iter().find_map(|e| if let Effect::Notify(Notice::ActivityRetrying { reason, .. }) = e { Some(reason.clone()) } else { None });
    assert_eq!(retrying.as_deref(), Some("the run did not finish within 1m (7 looks); last look: HTTP 503 Service Unavailable"), "{fx:#?}");
}

#[test]
fn a_202_look_waits_as_long_as_the_server_asks() {
    let mut r = followed();
    let t0 = Utc::now();
    let queue = queued(&mut r, t0);
    let busy = Look { status: 202, json: json!({}), retry_after_secs: Some(25) };
    let next = only_poll(&r.poll_result(&queue, Ok(busy), t0).unwrap_or_default());
    assert_eq!(next.delay_secs, 25);
}

#[test]
fn looks_for_an_old_try_or_an_aborted_release_change_nothing() {
    let mut r = followed();
    let t0 = Utc::now();
    let queue = queued(&mut r, t0);
    let old = Poll { attempt: 0, ..queue.clone() };
    assert!(matches!(r.poll_result(&old, look(json!({})), t0), Err(CommandError::Stale { .. })));
    let _ = r.abort(&actor(), "wrong build");
    assert!(matches!(r.poll_result(&queue, look(json!({"executable": {"url": "x"}})), t0), Err(CommandError::Stale { .. })));
}

#[test]
fn a_202_answer_with_retry_after_delays_the_first_look() {
    let mut r = followed();
    let t0 = Utc::now();
    let _ = r.start(&actor(), t0);
    let answer = json!({"headers": {"location": "https://ci/queue/item/7/", "retry-after": "12"}, "status_code": 202});
    let fx =
        r.webhook_result("build", 1, CallOutcome::Success { outputs: Default::default(), answer: Some(answer) }, t0).unwrap_or_default();
    let first = only_poll(&fx);
    assert_eq!((first.url.as_str(), first.delay_secs), ("https://ci/queue/item/7/api/json", 12));
}
