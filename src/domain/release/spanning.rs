//! Rules that reach past one release, as data: a transition's before and after say what other
//! releases (or the audit chain's publication) must do, and the engine carries it out in the
//! same transaction. Starting a child is a command's own effect (`Effect::StartChild`); these are
//! the consequences of how a release changed.

use super::*;

/// What a transition asks beyond its own release, in the order the engine applies it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Spanning {
    /// This release ended, and it runs for a parent's `subprocess` activity: the parent takes
    /// the result.
    FinishParent(ParentLink),
    /// A `subprocess` activity stopped while its child ran: the child is aborted, saying why.
    AbortChild { activity: String, attempt: u32, reason: String },
    /// This release ended: the audit chain's head is published (where the engine has a channel).
    PublishAuditHead,
}

impl Release {
    /// What the change from `before` to `self` asks of other releases.
    pub fn spanning_effects(&self, before: &Release) -> Vec<Spanning> {
        let ended = self.status.is_finished() && !before.status.is_finished();
        let mut out = vec![];
        if let Some(link) = self.parent.as_ref().filter(|_| ended) {
            out.push(Spanning::FinishParent(link.clone()));
        }
        let was_running = |id: &str| before.activity(id).is_some_and(|a| a.status == StepStatus::Running);
        for run in self.phases.iter().flat_map(|p| p.activities.iter()) {
            let subprocess = matches!(self.process.activity(&run.id).map(|s| &s.kind), Some(ActivityKind::Subprocess(_)));
            if subprocess && run.status == StepStatus::Aborted && was_running(&run.id) {
                let reason = format!("its parent release {} stopped `{}`", self.id, run.id);
                out.push(Spanning::AbortChild { activity: run.id.clone(), attempt: run.attempt, reason });
            }
        }
        if ended {
            out.push(Spanning::PublishAuditHead);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::process_file::parse;

    const PARENT: &str = r#"name: parent
notices: { channel: "1" }
phases:
  - id: p
    activities:
      - { id: docs, depends_on: [], subprocess: { process: child } }
      - { id: build, depends_on: [], webhook: { url: "https://ci/build" } }
"#;

    fn parent() -> Release {
        let mut catalog = std::collections::BTreeMap::new();
        let child = parse("child.yaml", "name: child\nnotices: { channel: \"1\" }\nphases:\n  - id: c\n    activities:\n      - { id: w, webhook: { url: \"https://x\" } }\n")
            .unwrap_or_else(|e| panic!("{e:?}"));
        catalog.insert("child".to_string(), child);
        let mut process = parse("parent.yaml", PARENT).unwrap_or_else(|e| panic!("{e:?}"));
        process.pin_children(&catalog).unwrap_or_else(|e| panic!("{e}"));
        Release::new_draft(ReleaseId(5), crate::domain::GuildId(1), "r".into(), process, Default::default(), UserId(1), Utc::now())
    }

    fn alice() -> Actor {
        Actor { user: UserId(1), display_name: "alice".into(), roles: vec![] }
    }

    #[test]
    fn a_failure_beside_a_running_subprocess_aborts_its_child_and_publishes_the_head() {
        let mut r = parent();
        let _ = r.start(&alice(), Utc::now());
        let before = r.clone();
        let _ = r.webhook_result("build", 1, CallOutcome::failure("HTTP 500"), Utc::now());
        assert_eq!(
            r.spanning_effects(&before),
            [
                Spanning::AbortChild { activity: "docs".into(), attempt: 1, reason: "its parent release 5 stopped `docs`".into() },
                Spanning::PublishAuditHead,
            ]
        );
    }

    #[test]
    fn a_child_that_ends_hands_its_result_to_its_parent_once() {
        let mut child = parent();
        let link = ParentLink { release: ReleaseId(2), activity: "docs".into(), attempt: 1 };
        child.parent = Some(link.clone());
        let _ = child.start(&alice(), Utc::now());
        let before = child.clone();
        let _ = child.abort(&alice(), "not needed");
        assert_eq!(child.spanning_effects(&before).first(), Some(&Spanning::FinishParent(link)));
        assert_eq!(child.spanning_effects(&child.clone()), [], "an ended release asks nothing again");
    }
}
