//! `/release list`: filters, pages, and only this server's releases; `/trainmaster help`.

use super::harness::*;

#[tokio::test]
async fn release_list_pages_ten_at_a_time_newest_first_with_working_buttons() -> TestResult {
    let h = Harness::start().await?;
    let mut ids = vec![];
    for _ in 0..12 {
        ids.push(h.create(VALID_INPUTS).await?);
    }
    // Another server's release must not show up or count.
    let outsider = bob().in_guild(200_000_000_000_000_999);
    h.sandbox.slash(&outsider, "release", "create", &[("process", "shop"), ("name", "Elsewhere"), ("inputs", VALID_INPUTS)]).await?;

    let first = h.slash(&dave(), "list", &[]).await?;
    assert!(first.ephemeral());
    assert_eq!(first.footer(), "Page 1 of 2 · 12 release(s)");
    let lines: Vec<String> = first.text().lines().skip(2).map(String::from).collect();
    assert_eq!(lines.len(), 10, "{}", first.text());
    assert!(lines[0].contains(&format!("**{}**", ids[11])) && lines[9].contains(&format!("**{}**", ids[2])), "{lines:?}");
    assert!(!first.text().contains("Elsewhere"));
    assert_eq!(first.buttons(), vec![("◀ Previous".to_string(), false), ("Next ▶".to_string(), true)]);

    let second = h.sandbox.click_reply(&dave(), &first, "Next ▶").await?;
    assert_eq!(second.kind, 7, "the list message is updated in place");
    assert_eq!(second.footer(), "Page 2 of 2 · 12 release(s)");
    assert_eq!(second.text().lines().skip(2).count(), 2, "{}", second.text());
    assert_eq!(second.buttons(), vec![("◀ Previous".to_string(), true), ("Next ▶".to_string(), false)]);
    let back = h.sandbox.click_reply(&dave(), &second, "◀ Previous").await?;
    assert_eq!(back.footer(), "Page 1 of 2 · 12 release(s)");
    h.finish().await
}

#[tokio::test]
async fn release_list_filters_by_status_process_and_mine() -> TestResult {
    let h = Harness::start().await?;
    let drafts = [h.create(VALID_INPUTS).await?, h.create(VALID_INPUTS).await?];
    let started = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &started)]).await?;
    let bobs = h.slash(&bob(), "create", &[("process", "shop"), ("name", "Bob's"), ("inputs", VALID_INPUTS)]).await?;
    let bobs = bobs.release_id().unwrap_or_default();

    let running = h.slash(&dave(), "list", &[("status", "Running")]).await?;
    assert_eq!(running.footer(), "Page 1 of 1 · 1 release(s)");
    assert!(running.text().trim_start().starts_with("Releases: status running"), "{}", running.text());
    assert!(running.text().contains(&format!("**{started}**")), "{}", running.text());
    assert!(running.buttons().is_empty(), "one page needs no buttons");

    let draft = h.slash(&dave(), "list", &[("status", "Draft")]).await?;
    assert_eq!(draft.footer(), "Page 1 of 1 · 3 release(s)");
    for id in drafts.iter().chain([&bobs]) {
        assert!(draft.text().contains(&format!("**{id}**")), "{id}: {}", draft.text());
    }

    let mine = h.slash(&bob(), "list", &[("mine", "true")]).await?;
    assert_eq!(mine.footer(), "Page 1 of 1 · 1 release(s)");
    assert!(mine.text().contains("Bob's"), "{}", mine.text());

    let none = h.slash(&dave(), "list", &[("process", "nope")]).await?;
    assert_eq!(none.footer(), "Page 1 of 1 · 0 release(s)");
    assert!(none.text().contains("No releases match"), "{}", none.text());
    h.finish().await
}

#[tokio::test]
async fn trainmaster_help_lists_the_commands_for_anyone_privately() -> TestResult {
    let h = Harness::start().await?;
    let help = h.sandbox.slash(&dave(), "trainmaster", "help", &[]).await?;
    assert!(help.ephemeral());
    for line in ["`/release create`: Create a Draft release", "`/release list`: List this server's releases", "`/process check`"] {
        assert!(help.text().contains(line), "{line} missing from {}", help.text());
    }
    assert!(help.text().contains("README.md"), "{}", help.text());
    h.finish().await
}

#[tokio::test]
async fn processes_and_this_servers_releases_are_suggested_while_typing() -> TestResult {
    let h = Harness::start().await?;
    let processes = h.sandbox.autocomplete(&alice(), "release", "create", "process", "SH").await?;
    assert_eq!(processes, vec![("shop — Storefront release used by the tests".to_string(), "shop".to_string())]);
    assert!(h.sandbox.autocomplete(&alice(), "process", "show", "process", "nope").await?.is_empty());

    let first = h.create(VALID_INPUTS).await?;
    let second = h.slash(&alice(), "create", &[("process", "shop"), ("name", "Hotfix 2"), ("inputs", VALID_INPUTS)]).await?;
    let second = second.release_id().unwrap_or_default();
    // Another server's release is never suggested.
    let elsewhere = bob().in_guild(200_000_000_000_000_999);
    h.sandbox.slash(&elsewhere, "release", "create", &[("process", "shop"), ("name", "Week 48"), ("inputs", VALID_INPUTS)]).await?;

    let by_name = h.sandbox.autocomplete(&dave(), "release", "status", "release", "week").await?;
    assert_eq!(by_name, vec![(format!("{first} · Week 47 · Draft"), first.clone())]);
    let all = h.sandbox.autocomplete(&dave(), "release", "start", "release", "").await?;
    assert_eq!(all.iter().map(|(_, v)| v.clone()).collect::<Vec<_>>(), vec![second.clone(), first.clone()], "newest first");
    let by_id = h.sandbox.autocomplete(&dave(), "release", "hold", "release", &second).await?;
    assert_eq!(by_id.first().map(|(_, v)| v.as_str()), Some(second.as_str()));
    h.finish().await
}

#[tokio::test]
async fn input_keys_and_a_releases_failed_activities_are_suggested_while_typing() -> TestResult {
    let h = Harness::start().await?;
    let keys = h.sandbox.autocomplete_after(&alice(), "release", "create", &[("process", "shop")], "inputs", "").await?;
    let values: Vec<&str> = keys.iter().map(|(_, v)| v.as_str()).collect();
    assert_eq!(values, ["services=", "version=", "environment=", "notes="], "required inputs first");
    assert_eq!(keys[1].0, "version= (required) — like 1.4.0");
    let choice = h
        .sandbox
        .autocomplete_after(&alice(), "release", "create", &[("process", "shop")], "inputs", "version=1.4.0 environment=st")
        .await?;
    assert_eq!(choice, vec![("environment=staging".to_string(), "version=1.4.0 environment=staging ".to_string())]);

    // A release whose first webhook fails for good: retry and skip suggest it first.
    h.receiver.answer_by_default(trainmaster::sandbox::receiver::Answer::Status(500));
    let id = h.create(VALID_INPUTS).await?;
    h.slash(&alice(), "start", &[("release", &id)]).await?;
    h.wait_for_audit(&id, "release_finished").await?;
    let activities = h.sandbox.autocomplete_after(&alice(), "release", "retry", &[("release", &id)], "activity", "").await?;
    assert_eq!(activities.first(), Some(&("branch-cut · failed".to_string(), "branch-cut".to_string())));
    assert_eq!(activities.len(), 3);
    let elsewhere = alice().in_guild(200_000_000_000_000_999);
    let hidden = h.sandbox.autocomplete_after(&elsewhere, "release", "skip", &[("release", &id)], "activity", "").await?;
    assert!(hidden.is_empty(), "another server's release is not looked into: {hidden:?}");
    h.finish().await
}
