//! Checks of requests to tools' own APIs: raw bodies, auth, secrets and follow-up polls.

use super::validation_tests::{errors, one_error};
use super::*;

const TOOL: &str = r#"name: tool
secrets: { gh: "env:GITHUB_TOKEN" }
notices: { channel: "1" }
phases:
  - id: build
    activities:
      - id: dispatch
        secrets: { extra: "file:/run/secrets/extra" }
        webhook:
          url: "https://api.github.com/repos/o/r/actions/workflows/ci.yml/dispatches"
          envelope: false
          headers: { Accept: application/vnd.github+json, X-Extra: "{{ secrets.extra }}" }
          auth: { bearer: "{{ secrets.gh }}" }
          query: { ref: main }
          body: { ref: main, inputs: { correlation: "{{ run.key }}" } }
          then:
            poll:
              url: "https://api.github.com/repos/o/r/actions/runs?event=workflow_dispatch"
              interval: 5s
              until: "response.workflow_runs | selectattr('display_title', 'endingwith', run.key) | list | length > 0"
              then:
                poll:
                  url: "{{ (response.workflow_runs | selectattr('display_title', 'endingwith', run.key) | first).url }}"
                  until: "response.status == 'completed'"
                  succeed_if: "response.conclusion == 'success'"
                  reason: "the run concluded {{ response.conclusion }}"
                  outputs: { run_url: html_url }
  - id: tell
    activities:
      - { id: say, notice: { message: "run: {{ activities.dispatch.outputs.run_url }}" } }
"#;

#[test]
fn a_raw_request_with_auth_secrets_and_two_polls_loads() {
    let p = parse("p.yaml", TOOL).unwrap_or_else(|e| panic!("{e:#?}"));
    let activity = p.activity("dispatch").cloned().unwrap_or_else(|| panic!("no dispatch"));
    let ActivityKind::Webhook(hook) = &activity.kind else { panic!("not a webhook") };
    assert!(!hook.envelope);
    assert_eq!(hook.then.len(), 2, "nested polls run in order");
    assert_eq!(hook.then[1].outputs.get("run_url").map(String::as_str), Some("html_url"));
    assert_eq!(hook.auth, Some(Auth::Bearer("{{ secrets.gh }}".into())));
    assert_eq!(p.secrets_for(&activity).keys().collect::<Vec<_>>(), ["extra", "gh"]);
}

#[test]
fn a_secret_in_a_notice_is_refused_where_people_would_read_it() {
    let source = TOOL.replace("run: {{ activities.dispatch.outputs.run_url }}", "token {{ secrets.gh }}");
    let e = one_error(&source);
    assert_eq!((e.line, e.message.contains("secrets may only be used in requests")), (30, true), "{e}");
}

#[test]
fn a_secret_in_a_condition_or_a_poll_reason_is_refused() {
    let when = TOOL.replace("interval: 5s", "interval: 5s\n              succeed_if: \"secrets.gh != ''\"");
    assert!(one_error(&when).message.contains("secrets may only be used in requests"));
    let reason = TOOL.replace("the run concluded {{ response.conclusion }}", "{{ secrets.gh }}");
    assert!(one_error(&reason).message.contains("secrets may only be used in requests"));
}

#[test]
fn an_undeclared_secret_in_a_request_says_where_to_declare_it() {
    let e = one_error(&TOOL.replace("{{ secrets.gh }}", "{{ secrets.github }}"));
    assert!(e.message.contains("`secrets.github`, which is not a secret of this process"), "{e}");
    assert!(e.hint.as_deref().is_some_and(|h| h.contains("secrets:")), "{e:?}");
}

#[test]
fn secret_references_and_names_are_checked() {
    let e = one_error(&TOOL.replace("\"env:GITHUB_TOKEN\"", "\"ghp_123\""));
    assert!(e.message.contains("is not a secret reference"), "{e}");
    let e = one_error(&TOOL.replace("secrets: { gh: ", "secrets: { gh: \"env:X\", bad-name: "));
    assert!(e.message.contains("`bad-name` is not a secret name"), "{e}");
}

#[test]
fn auth_takes_exactly_one_scheme() {
    let both = TOOL.replace(
        "auth: { bearer: \"{{ secrets.gh }}\" }",
        "auth: { bearer: \"{{ secrets.gh }}\", basic: { user: u, password: \"{{ secrets.gh }}\" } }",
    );
    assert!(one_error(&both).message.contains("one of `bearer` or `basic`"));
}

#[test]
fn a_callback_webhook_cannot_be_raw_or_follow_polls() {
    let callback = TOOL.replace("envelope: false\n", "envelope: false\n          completion: callback\n          secret: \"env:S\"\n");
    let messages: Vec<String> = errors(&callback).into_iter().map(|d| d.message).collect();
    assert!(messages.iter().any(|m| m.contains("needs the envelope")), "{messages:#?}");
    assert!(messages.iter().any(|m| m.contains("either by `callback` or by following")), "{messages:#?}");
}

#[test]
fn polls_look_at_most_every_second_and_read_only_known_names() {
    let e = one_error(&TOOL.replace("interval: 5s", "interval: 0s"));
    assert!(e.message.contains("at most every second"), "{e}");
    let e = one_error(&TOOL.replace("response.status == 'completed'", "respons.status == 'completed'"));
    assert!(e.message.contains("respons"), "{e}");
}

#[test]
fn content_type_needs_a_raw_request() {
    let e = one_error(&TOOL.replace("envelope: false", "content_type: text/plain"));
    assert!(e.message.contains("`content_type` applies to raw requests"), "{e}");
}
