use super::*;

const GOOD: &str = include_str!("../../../processes/weekly-production.yaml");

fn errors(source: &str) -> Vec<Diagnostic> {
    parse("p.yaml", source).err().unwrap_or_default()
}

#[test]
fn the_example_process_loads() {
    let p = parse("weekly-production.yaml", GOOD);
    assert!(p.is_ok(), "{p:?}");
    let p = p.unwrap_or_else(|_| unreachable!());
    assert_eq!(p.phases.len(), 3);
    assert_eq!(p.notices_channel, Some(crate::domain::ChannelId(100000000000000001)));
    assert_eq!(p.activity("branch-cut").map(|a| a.retry.attempts), Some(3));
}

#[test]
fn an_unknown_key_is_reported_with_its_place_and_a_suggestion() {
    let src = GOOD.replace("    activities:\n      - id: qa-approval", "    activites:\n      - id: qa-approval");
    let e = errors(&src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].message.contains("activites"), "{}", e[0]);
    assert_eq!(e[0].line, 26, "{}", e[0]);
    assert_eq!(e[0].hint.as_deref(), Some("did you mean `activities`?"), "{:?}", e[0].message);
}

#[test]
fn a_missing_id_is_reported() {
    let src = GOOD.replace("      - id: deploy\n", "      - \n");
    let e = errors(&src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert!(e[0].to_string().starts_with("p.yaml:"), "{}", e[0]);
}

#[test]
fn a_duplicate_id_names_the_first_use() {
    let src = GOOD.replace("id: deploy", "id: branch-cut");
    let e = errors(&src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!((e[0].line, e[0].column), (31, 13));
    assert!(e[0].message.contains("already used at line 19"), "{}", e[0]);
}

#[test]
fn a_bad_template_is_reported_at_its_url() {
    let src = GOOD.replace("https://cd.example.com/deploy", "https://cd.example.com/{{ inputs.verison }}");
    let e = errors(&src);
    assert_eq!(e.len(), 1, "{e:?}");
    assert_eq!(e[0].line, 33);
    assert!(e[0].message.contains("inputs.verison"), "{}", e[0]);
}

#[test]
fn every_semantic_problem_is_reported_at_once() {
    let src = GOOD
        .replace("pattern: '\\d+\\.\\d+\\.\\d+'", "pattern: '(['")
        .replace("timeout: 30m", "timeout: 30 minutes")
        .replace("role:QA", "QA");
    let e = errors(&src);
    assert_eq!(e.len(), 3, "{e:?}");
}

#[test]
fn garbage_never_panics() {
    for src in ["", ":", "- - -", "name: [", "\u{0}\u{1}", "phases: 5", "name: x\nnotices: {channel: 0}\nphases: []"] {
        assert!(parse("p.yaml", src).is_err(), "{src:?}");
    }
}

#[test]
fn webhook_options_are_checked() {
    let cases = [
        ("secret: \"whsec_abc\"", "not a secret reference"),
        ("method: FETCH", "unknown method `FETCH`"),
        ("completion: callback", "needs a `secret`"),
        ("outputs: { url: \"a..b\" }", "not a path into the response"),
        ("completion: later", "unknown completion `later`"),
    ];
    let src = GOOD.replace(
        "        webhook:\n          url: \"https://cd.example.com/deploy\"",
        "        webhook:\n          url: \"https://cd.example.com/deploy\"\n  EXTRA",
    );
    for (extra, expected) in cases {
        let file = src.replace("  EXTRA", &format!("          {extra}"));
        let e = errors(&file);
        assert!(e.iter().any(|d| d.message.contains(expected)), "{extra}: {e:?}");
    }
    let ok = src.replace("  EXTRA", "          secret: \"env:CD_SECRET\"\n          completion: callback\n          method: put\n          outputs: { url: artifact.url }");
    assert!(parse("p.yaml", &ok).is_ok(), "{:?}", errors(&ok));
}

/// Thousands of mutated copies of a real file (characters dropped, duplicated, swapped for YAML
/// punctuation): the loader answers every one with a process or diagnostics, never a panic.
#[test]
fn mutated_files_never_panic_the_loader() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(47);
    let examples = [
        GOOD,
        include_str!("../../../processes/hotfix.yaml"),
        include_str!("../../../processes/system-release-train.yaml"),
        include_str!("../../../processes/microservices.yaml"),
    ];
    let punctuation = [':', '-', '{', '}', '[', ']', '"', '\'', '\n', ' ', '#', '&', '*', '!', '|', '>', '%', '@', '\t', '\u{0}'];
    for round in 0..3_000 {
        let mut text: Vec<char> = examples[round % examples.len()].chars().collect();
        for _ in 0..rng.random_range(1..6) {
            let at = rng.random_range(0..text.len());
            match rng.random_range(0..3) {
                0 => {
                    text.remove(at);
                }
                1 => text.insert(at, punctuation[rng.random_range(0..punctuation.len())]),
                _ => text[at] = punctuation[rng.random_range(0..punctuation.len())],
            }
        }
        let text: String = text.into_iter().collect();
        if let Err(diagnostics) = parse("fuzz.yaml", &text) {
            assert!(!diagnostics.is_empty());
            assert!(diagnostics.iter().all(|d| d.line >= 1 && !d.message.is_empty()), "{diagnostics:?}");
        }
    }
}

/// Random `depends_on` graphs among phases: the loader accepts exactly the acyclic ones (checked
/// here with Kahn's algorithm, independently of the loader's depth-first search), and names a
/// cycle otherwise.
#[test]
fn random_phase_graphs_are_accepted_exactly_when_acyclic() {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(11);
    let mut cyclic_seen = 0;
    for _ in 0..400 {
        let n = rng.random_range(2..8usize);
        let deps: Vec<Vec<usize>> = (0..n).map(|i| (0..n).filter(|&j| j != i && rng.random_bool(0.25)).collect()).collect();
        let mut file = String::from("name: g\nnotices: {channel: \"1\"}\nphases:\n");
        for (i, d) in deps.iter().enumerate() {
            let names: Vec<String> = d.iter().map(|j| format!("p{j}")).collect();
            file.push_str(&format!(
                "  - id: p{i}\n    depends_on: [{}]\n    activities:\n      - {{ id: a{i}, webhook: {{ url: \"https://x\" }} }}\n",
                names.join(", ")
            ));
        }
        // Kahn: repeatedly remove phases whose dependencies are all removed.
        let mut removed = vec![false; n];
        while let Some(i) = (0..n).find(|&i| !removed[i] && deps[i].iter().all(|&d| removed[d])) {
            removed[i] = true;
        }
        let acyclic = removed.iter().all(|r| *r);
        match parse("g.yaml", &file) {
            Ok(_) => assert!(acyclic, "a cyclic graph was accepted:\n{file}"),
            Err(e) => {
                assert!(!acyclic, "an acyclic graph was refused: {e:#?}\n{file}");
                assert!(e.iter().all(|d| d.message.contains("in a cycle: ")), "{e:#?}");
                cyclic_seen += 1;
            }
        }
    }
    assert!(cyclic_seen > 50, "the generator must produce cycles too ({cyclic_seen})");
}
