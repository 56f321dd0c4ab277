//! `depends_on` among siblings: resolution (with file-order default), missing ids, cycles, and
//! which siblings have surely ended before another starts (its ancestors).

use super::raw::At;
use super::{closest, Checker};
use std::collections::BTreeSet;

/// One phase or activity as the graph sees it.
pub struct Node<'a> {
    pub id: &'a At<String>,
    pub depends_on: Option<&'a [At<String>]>,
}

/// Resolves the `depends_on` of `nodes` (siblings) to indices. When no node writes `depends_on`,
/// each depends on the one before it. `other_level` says where an id lives when it is not a
/// sibling (for "across levels" errors). Reports missing ids and cycles; a cycle's edges are
/// left out of the result so later checks can go on.
pub fn resolve(c: &mut Checker, what: &str, nodes: &[Node], other_level: &dyn Fn(&str) -> Option<String>) -> Vec<Vec<usize>> {
    let explicit = nodes.iter().any(|n| n.depends_on.is_some());
    if !explicit {
        return (0..nodes.len()).map(|i| if i == 0 { vec![] } else { vec![i - 1] }).collect();
    }
    let ids: Vec<&str> = nodes.iter().map(|n| n.id.value.as_str()).collect();
    let mut deps: Vec<Vec<usize>> = vec![];
    for node in nodes {
        let mut mine = vec![];
        for dep in node.depends_on.unwrap_or_default() {
            let name = dep.value.as_str();
            match ids.iter().position(|id| *id == name) {
                Some(i) if ids[i] == node.id.value => {
                    c.at(dep, format!("{what} `{name}` depends on itself"), Some("remove it from its own `depends_on`".into()));
                }
                Some(i) => {
                    if !mine.contains(&i) {
                        mine.push(i);
                    }
                }
                None => {
                    let hint = match other_level(name) {
                        Some(place) => Some(format!("`{name}` is {place}; `depends_on` names {what}s at the same level (sibling {what}s)")),
                        None => closest(name, ids.iter().copied())
                            .map(|best| format!("did you mean `{best}`?"))
                            .or_else(|| Some(format!("write one of {}", ids.join(", ")))),
                    };
                    let message = match other_level(name) {
                        Some(_) => format!("{what} `{}` depends on `{name}`, which is not a sibling {what}", node.id.value),
                        None => format!("{what} `{}` depends on `{name}`, which does not exist", node.id.value),
                    };
                    c.at(dep, message, hint);
                }
            }
        }
        deps.push(mine);
    }
    break_cycles(c, what, nodes, &mut deps);
    deps
}

/// Finds each cycle, reports it once (naming every member, at the edge that closes it), and
/// removes that edge.
fn break_cycles(c: &mut Checker, what: &str, nodes: &[Node], deps: &mut [Vec<usize>]) {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        OnPath,
        Done,
    }
    let mut mark = vec![Mark::New; nodes.len()];
    for start in 0..nodes.len() {
        if mark[start] != Mark::New {
            continue;
        }
        // Iterative DFS: (node, next dependency index to look at).
        let mut path: Vec<(usize, usize)> = vec![(start, 0)];
        mark[start] = Mark::OnPath;
        while let Some(top) = path.len().checked_sub(1) {
            let (node, next) = path[top];
            if next >= deps[node].len() {
                mark[node] = Mark::Done;
                path.pop();
                continue;
            }
            let dep = deps[node][next];
            path[top].1 += 1;
            match mark[dep] {
                Mark::New => {
                    mark[dep] = Mark::OnPath;
                    path.push((dep, 0));
                }
                Mark::OnPath => {
                    let from = path.iter().position(|(n, _)| *n == dep).unwrap_or(0);
                    let mut names: Vec<&str> = path[from..].iter().map(|(n, _)| nodes[*n].id.value.as_str()).collect();
                    names.push(&nodes[dep].id.value);
                    let at = nodes[node].depends_on.and_then(|d| d.iter().find(|d| d.value == nodes[dep].id.value));
                    let plural = match what.strip_suffix('y') {
                        Some(stem) => format!("{stem}ies"),
                        None => format!("{what}s"),
                    };
                    let message = format!("{plural} depend on each other in a cycle: {}", names.join(" → "));
                    let hint = Some(format!("remove one of these `depends_on` entries; a {what} cannot wait for itself"));
                    match at {
                        Some(at) => c.at(at, message, hint),
                        None => c.at(nodes[node].id, message, hint),
                    }
                    deps[node].remove(next);
                    path[top].1 = next;
                }
                Mark::Done => {}
            }
        }
    }
}

/// For each node, every node that has surely ended before it starts.
pub fn ancestors(deps: &[Vec<usize>]) -> Vec<BTreeSet<usize>> {
    let mut memo: Vec<Option<BTreeSet<usize>>> = vec![None; deps.len()];
    fn visit(i: usize, deps: &[Vec<usize>], memo: &mut Vec<Option<BTreeSet<usize>>>, depth: usize) -> BTreeSet<usize> {
        if let Some(done) = &memo[i] {
            return done.clone();
        }
        let mut all = BTreeSet::new();
        // Cycles were broken before; the depth bound is a guard, not a rule.
        if depth <= deps.len() {
            for &d in &deps[i] {
                all.insert(d);
                all.extend(visit(d, deps, memo, depth + 1));
            }
        }
        memo[i] = Some(all.clone());
        all
    }
    (0..deps.len()).map(|i| visit(i, deps, &mut memo, 0)).collect()
}
