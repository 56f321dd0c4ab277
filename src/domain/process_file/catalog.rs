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

fn check_subprocesses(catalog: &Catalog, refs: &BTreeMap<String, (String, Vec<SubprocessRef>)>) -> Vec<Diagnostic> {
    let mut errors = vec![];
    for (file, list) in refs.values() {
        for r in list {
            let Some(child) = catalog.get(&r.process) else {
                let hint = closest(&r.process, catalog.keys().map(String::as_str))
                    .map(|best| format!("did you mean `{best}`?"))
                    .unwrap_or_else(|| "the child process must be among the files loaded together (the processes directory)".into());
                errors.push(diagnostic(file, r.line, r.column, format!("subprocess `{}`: no process is named `{}`", r.activity, r.process), Some(&hint)));
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
                    let message = format!("subprocess `{}` does not give `{}`, which process `{}` requires", r.activity, spec.name, r.process);
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
