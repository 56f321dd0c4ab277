//! A set of process files loaded together: names unique, `subprocess` references resolved,
//! their inputs matched against the child process, and no process reaching itself.

use super::{closest, parse_with_refs, Diagnostic, SubprocessRef};
use crate::domain::process::Process;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// The processes loaded, by name.
pub type Catalog = BTreeMap<String, Process>;

/// Loads every `*.yaml` / `*.yml` file of `dir`. Errors from all files are returned together.
pub fn load_dir(dir: &Path) -> Result<Catalog, Vec<Diagnostic>> {
    load_paths(&[dir.to_path_buf()])
}

fn diagnostic(file: &str, line: u64, column: u64, message: String, hint: Option<&str>) -> Diagnostic {
    Diagnostic { file: file.to_string(), line, column, message, hint: hint.map(String::from) }
}

/// Loads files and directories (a directory's `*.yaml` / `*.yml` files) as one catalog.
pub fn load_paths(paths: &[PathBuf]) -> Result<Catalog, Vec<Diagnostic>> {
    let mut errors = vec![];
    let mut files = vec![];
    for path in paths {
        if path.is_dir() {
            match std::fs::read_dir(path) {
                Ok(entries) => {
                    let mut found: Vec<PathBuf> = entries
                        .filter_map(Result::ok)
                        .map(|e| e.path())
                        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("yaml" | "yml")))
                        .collect();
                    found.sort();
                    files.extend(found);
                }
                Err(e) => errors.push(diagnostic(&path.display().to_string(), 1, 1, format!("cannot read the directory: {e}"), None)),
            }
        } else {
            files.push(path.clone());
        }
    }
    let sources = files.into_iter().filter_map(|path| {
        let name = path.display().to_string();
        match std::fs::read_to_string(&path) {
            Ok(source) => Some((name, source)),
            Err(e) => {
                errors.push(diagnostic(&name, 1, 1, format!("cannot read file: {e}"), None));
                None
            }
        }
    });
    let sources: Vec<(String, String)> = sources.collect();
    match load_sources(&sources) {
        Ok(catalog) if errors.is_empty() => Ok(catalog),
        Ok(_) => Err(errors),
        Err(mut more) => {
            errors.append(&mut more);
            Err(errors)
        }
    }
}

/// Loads `(file name, text)` pairs as one catalog.
pub fn load_sources(sources: &[(String, String)]) -> Result<Catalog, Vec<Diagnostic>> {
    let mut catalog = Catalog::new();
    let mut refs: BTreeMap<String, (String, Vec<SubprocessRef>)> = BTreeMap::new();
    let mut errors = vec![];
    for (name, source) in sources {
        match parse_with_refs(name, source) {
            Ok((p, _)) if catalog.contains_key(&p.name) => errors.push(diagnostic(
                name,
                1,
                1,
                format!("another file already defines process `{}`", p.name),
                Some("process names must be unique among the files loaded together"),
            )),
            Ok((p, r)) => {
                refs.insert(p.name.clone(), (name.clone(), r));
                catalog.insert(p.name.clone(), p);
            }
            Err(mut d) => errors.append(&mut d),
        }
    }
    errors.extend(check_subprocesses(&catalog, &refs));
    if errors.is_empty() {
        Ok(catalog)
    } else {
        Err(errors)
    }
}

/// Checks one file (say, uploaded in chat) as if it joined `catalog`: its subprocesses may name
/// the catalog's processes, and it replaces a process of the same name. Returns it alone.
pub fn check_against(catalog: &Catalog, file: &str, source: &str) -> Result<Catalog, Vec<Diagnostic>> {
    let (process, list) = parse_with_refs(file, source)?;
    let mut all = catalog.clone();
    all.insert(process.name.clone(), process.clone());
    // The catalog's own references (already checked) let a cycle through them be found.
    let mut refs: BTreeMap<String, (String, Vec<SubprocessRef>)> =
        catalog.values().map(|p| (p.name.clone(), (String::new(), model_refs(p)))).collect();
    refs.insert(process.name.clone(), (file.to_string(), list));
    let errors: Vec<Diagnostic> = check_subprocesses(&all, &refs).into_iter().filter(|d| d.file == file).collect();
    if errors.is_empty() {
        Ok(Catalog::from([(process.name.clone(), process)]))
    } else {
        Err(errors)
    }
}

/// The subprocess references of a loaded process (without places in a file).
fn model_refs(p: &Process) -> Vec<SubprocessRef> {
    p.phases
        .iter()
        .flat_map(|ph| ph.activities.iter())
        .chain(p.rollback.iter())
        .filter_map(|a| match &a.kind {
            crate::domain::process::ActivityKind::Subprocess(s) => Some(SubprocessRef {
                activity: a.id.clone(),
                process: s.process.clone(),
                inputs: s.inputs.keys().cloned().collect(),
                line: 1,
                column: 1,
            }),
            _ => None,
        })
        .collect()
}

fn check_subprocesses(catalog: &Catalog, refs: &BTreeMap<String, (String, Vec<SubprocessRef>)>) -> Vec<Diagnostic> {
    let mut errors = vec![];
    for (file, list) in refs.values() {
        for r in list {
            let Some(child) = catalog.get(&r.process) else {
                let hint = closest(&r.process, catalog.keys().map(String::as_str))
                    .map(|best| format!("did you mean `{best}`?"))
                    .unwrap_or_else(|| "the child process must be among the files loaded together (the processes directory)".into());
                errors.push(diagnostic(
                    file,
                    r.line,
                    r.column,
                    format!("subprocess `{}`: no process is named `{}`", r.activity, r.process),
                    Some(&hint),
                ));
                continue;
            };
            for key in &r.inputs {
                if child.input(key).is_none() {
                    let message = format!("subprocess `{}` gives input `{key}`, which process `{}` does not take", r.activity, r.process);
                    errors.push(diagnostic(file, r.line, r.column, message, None));
                }
            }
            for spec in child.inputs.iter().filter(|s| s.required && s.default.is_none()) {
                if !r.inputs.contains(&spec.name) {
                    let message =
                        format!("subprocess `{}` does not give `{}`, which process `{}` requires", r.activity, spec.name, r.process);
                    let hint = format!("add `{}: \"{{{{ inputs.{} }}}}\"` (or another template) under `inputs:`", spec.name, spec.name);
                    errors.push(diagnostic(file, r.line, r.column, message, Some(&hint)));
                }
            }
        }
    }
    // A process that reaches itself through subprocesses would create child releases forever.
    for (start, (file, list)) in refs {
        for r in list {
            if let Some(path) = path_back(refs, &r.process, start, vec![start.clone(), r.process.clone()]) {
                let message = format!("subprocesses form a cycle: {}", path.join(" → "));
                errors.push(diagnostic(file, r.line, r.column, message, Some("a process cannot run itself, directly or through others")));
            }
        }
    }
    errors
}

/// A path of subprocess references from `from` to `target`, if there is one.
fn path_back(refs: &BTreeMap<String, (String, Vec<SubprocessRef>)>, from: &str, target: &str, path: Vec<String>) -> Option<Vec<String>> {
    if from == target {
        return Some(path);
    }
    let (_, list) = refs.get(from)?;
    for r in list {
        if path.iter().skip(1).any(|p| *p == r.process) && r.process != target {
            continue; // a cycle not through `target`; reported from its own start
        }
        let mut next = path.clone();
        next.push(r.process.clone());
        if let Some(found) = path_back(refs, &r.process, target, next) {
            return Some(found);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn process(name: &str, activity: &str) -> (String, String) {
        let source = format!(
            "name: {name}\ninputs:\n  version: {{ type: string, required: true }}\nnotices: {{ channel: \"1\" }}\nphases:\n  - id: only\n    activities:\n      - {activity}\n"
        );
        (format!("{name}.yaml"), source)
    }

    fn messages(sources: &[(String, String)]) -> Vec<String> {
        load_sources(sources).err().unwrap_or_default().iter().map(|d| d.to_string()).collect()
    }

    #[test]
    fn a_subprocess_names_a_process_of_the_catalog() {
        let parent = process("parent", "{ id: child, subprocess: { process: hotfx, inputs: { version: \"{{ inputs.version }}\" } } }");
        let child = process("hotfix", "{ id: go, webhook: { url: \"https://x\" } }");
        let e = messages(&[parent.clone(), child.clone()]);
        assert_eq!(e.len(), 1, "{e:#?}");
        assert!(e[0].starts_with("parent.yaml:8:"), "{}", e[0]);
        assert!(e[0].contains("no process is named `hotfx`") && e[0].contains("did you mean `hotfix`?"), "{}", e[0]);
        let fixed = (parent.0, parent.1.replace("hotfx", "hotfix"));
        assert!(load_sources(&[fixed, child]).is_ok());
    }

    #[test]
    fn a_subprocess_gives_what_the_child_requires_and_nothing_else() {
        let parent = process("parent", "{ id: child, subprocess: { process: hotfix, inputs: { verison: \"1\" } } }");
        let child = process("hotfix", "{ id: go, webhook: { url: \"https://x\" } }");
        let e = messages(&[parent, child]);
        assert!(e.iter().any(|m| m.contains("gives input `verison`, which process `hotfix` does not take")), "{e:#?}");
        assert!(e.iter().any(|m| m.contains("does not give `version`, which process `hotfix` requires")), "{e:#?}");
    }

    #[test]
    fn subprocesses_that_reach_back_form_a_named_cycle() {
        let give = "inputs: { version: \"{{ inputs.version }}\" }";
        let a = process("a", &format!("{{ id: run-b, subprocess: {{ process: b, {give} }} }}"));
        let b = process("b", &format!("{{ id: run-c, subprocess: {{ process: c, {give} }} }}"));
        let c = process("c", &format!("{{ id: run-a, subprocess: {{ process: a, {give} }} }}"));
        let e = messages(&[a, b, c]);
        assert!(e.iter().any(|m| m.starts_with("a.yaml:8:") && m.contains("subprocesses form a cycle: a → b → c → a")), "{e:#?}");
        let own = process("own", &format!("{{ id: again, subprocess: {{ process: own, {give} }} }}"));
        assert!(messages(&[own]).iter().any(|m| m.contains("cycle: own → own")));
    }

    #[test]
    fn an_uploaded_file_that_closes_a_cycle_through_the_catalog_is_refused() {
        let give = "inputs: { version: \"{{ inputs.version }}\" }";
        let b = process("b", &format!("{{ id: run-a, subprocess: {{ process: a, {give} }} }}"));
        let catalog = load_sources(&[b, process("a", "{ id: go, webhook: { url: \"https://x\" } }")]).unwrap_or_default();
        assert_eq!(catalog.len(), 2);
        let (_, a) = process("a", &format!("{{ id: run-b, subprocess: {{ process: b, {give} }} }}"));
        let e = check_against(&catalog, "a.yaml", &a).err().unwrap_or_default();
        assert!(e.iter().any(|d| d.file == "a.yaml" && d.message.contains("cycle: a → b → a")), "{e:#?}");
    }

    #[test]
    fn two_files_cannot_define_one_process() {
        let e = messages(&[
            process("same", "{ id: a, webhook: { url: \"https://x\" } }"),
            process("same", "{ id: b, webhook: { url: \"https://x\" } }"),
        ]);
        assert!(e.iter().any(|m| m.contains("another file already defines process `same`")), "{e:#?}");
    }
}
