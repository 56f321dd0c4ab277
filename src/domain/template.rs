//! minijinja templates in process files: URLs, webhook bodies and variables.
//! Rendering has no loader (no filesystem), strict undefined (a typo is an error, not an empty
//! string) and a cap on the output size.

use minijinja::{Environment, UndefinedBehavior};
use serde::Serialize;
use std::collections::BTreeSet;

/// Rendered text above this size is refused rather than sent anywhere.
pub const MAX_RENDERED_BYTES: usize = 64 * 1024;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TemplateError {
    #[error("template does not parse: {0}")]
    Syntax(String),
    #[error("template refers to `{name}`, which is not defined; templates can read {known}")]
    Unknown { name: String, known: String },
    #[error("template failed to render: {0}")]
    Render(String),
    #[error("rendered text is {0} bytes, over the limit of {MAX_RENDERED_BYTES}")]
    TooLarge(usize),
}

fn environment() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    env.set_recursion_limit(32);
    // A raw request body is sent as written, to the last byte.
    env.set_keep_trailing_newline(true);
    // Bounds the work one render may do, so a loop in a process file cannot stall the engine.
    env.set_fuel(Some(200_000));
    env
}

/// The dotted names a template may read, like `inputs.version` or
/// `activities.build.outputs.artifact_url`.
#[derive(Debug, Clone, Default)]
pub struct Names(BTreeSet<String>);

impl Names {
    pub fn new<'a>(
        inputs: impl IntoIterator<Item = &'a String>,
        vars: impl IntoIterator<Item = &'a String>,
        outputs: impl IntoIterator<Item = (&'a String, &'a String)>,
    ) -> Self {
        let mut names: BTreeSet<String> = ["release.id", "release.name", "release.kind", "release.risk"].map(String::from).into();
        names.extend(inputs.into_iter().map(|i| format!("inputs.{i}")));
        names.extend(vars.into_iter().map(|v| format!("vars.{v}")));
        names.extend(outputs.into_iter().map(|(a, o)| format!("activities.{a}.outputs.{o}")));
        Self(names)
    }

    /// These names and more.
    pub fn with(mut self, more: impl IntoIterator<Item = String>) -> Self {
        self.0.extend(more);
        self
    }

    /// A name is readable when it is known, leads to a known name (`inputs`), or reaches
    /// inside one (`inputs.services.0`).
    fn allows(&self, name: &str) -> bool {
        self.0.iter().any(|known| {
            known == name
                || known.strip_prefix(name).is_some_and(|rest| rest.starts_with('.'))
                || name.strip_prefix(known.as_str()).is_some_and(|rest| rest.starts_with('.'))
        })
    }
}

/// Checks that `source` parses and reads only `known` names.
pub fn check(source: &str, known: &Names) -> Result<(), TemplateError> {
    let env = environment();
    let template = env.template_from_str(source).map_err(|e| TemplateError::Syntax(plain(&e)))?;
    only_known(template.undeclared_variables(true), known)
}

/// Checks that the expression `source` (a `when:` or a check's condition) parses and reads
/// only `known` names.
pub fn check_expression(source: &str, known: &Names) -> Result<(), TemplateError> {
    let env = environment();
    let expr = env.compile_expression(source).map_err(|e| TemplateError::Syntax(plain(&e)))?;
    only_known(expr.undeclared_variables(true), known)
}

/// The first (alphabetically) of `read` that `known` does not allow, as an error.
fn only_known(read: std::collections::HashSet<String>, known: &Names) -> Result<(), TemplateError> {
    match read.into_iter().filter(|n| !known.allows(n)).min() {
        None => Ok(()),
        Some(name) => Err(TemplateError::Unknown { name, known: known.0.iter().cloned().collect::<Vec<_>>().join(", ") }),
    }
}

/// Evaluates the expression `source` against `context` as true or false.
pub fn evaluate<C: Serialize>(source: &str, context: &C) -> Result<bool, TemplateError> {
    let env = environment();
    let expr = env.compile_expression(source).map_err(|e| TemplateError::Syntax(plain(&e)))?;
    let value = expr.eval(context).map_err(|e| TemplateError::Render(plain(&e)))?;
    Ok(value.is_true())
}

/// Renders one template against `context`.
pub fn render<C: Serialize>(source: &str, context: &C) -> Result<String, TemplateError> {
    let env = environment();
    let out = env.render_str(source, context).map_err(|e| TemplateError::Render(plain(&e)))?;
    if out.len() > MAX_RENDERED_BYTES {
        return Err(TemplateError::TooLarge(out.len()));
    }
    Ok(out)
}

/// Renders every string inside a JSON value (keys stay as written).
pub fn render_json<C: Serialize>(value: &serde_json::Value, context: &C) -> Result<serde_json::Value, TemplateError> {
    map_strings(value, &|s| render(s, context))
}

/// `value` with each string inside it (keys excepted) replaced by `f` of it.
pub fn map_strings<E>(value: &serde_json::Value, f: &impl Fn(&str) -> Result<String, E>) -> Result<serde_json::Value, E> {
    use serde_json::Value;
    Ok(match value {
        Value::String(s) => Value::String(f(s)?),
        Value::Array(items) => Value::Array(items.iter().map(|v| map_strings(v, f)).collect::<Result<_, _>>()?),
        Value::Object(map) => Value::Object(map.iter().map(|(k, v)| Ok((k.clone(), map_strings(v, f)?))).collect::<Result<_, E>>()?),
        other => other.clone(),
    })
}

/// Renders every value of a map of templates (request headers), keys as written.
pub fn render_map<C: Serialize>(
    map: &std::collections::BTreeMap<String, String>,
    context: &C,
) -> Result<std::collections::BTreeMap<String, String>, TemplateError> {
    map.iter().map(|(k, v)| Ok((k.clone(), render(v, context)?))).collect()
}

/// Every string inside a JSON value, for checking.
pub fn strings_in(value: &serde_json::Value) -> Vec<&str> {
    use serde_json::Value;
    match value {
        Value::String(s) => vec![s.as_str()],
        Value::Array(items) => items.iter().flat_map(strings_in).collect(),
        Value::Object(map) => map.values().flat_map(strings_in).collect(),
        _ => vec![],
    }
}

fn plain(e: &minijinja::Error) -> String {
    match e.detail() {
        Some(detail) => format!("{} ({detail})", e.kind()),
        None => e.kind().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names(inputs: &[&str]) -> Names {
        let inputs: Vec<String> = inputs.iter().map(|s| s.to_string()).collect();
        let outputs = [("build".to_string(), "url".to_string())];
        Names::new(&inputs, &[], outputs.iter().map(|(a, o)| (a, o)))
    }

    #[test]
    fn accepts_declared_inputs_and_release_fields() {
        let r = check("{{ inputs.version }} {{ release.name }} {{ activities.build.outputs.url }}", &names(&["version"]));
        assert_eq!(r, Ok(()));
    }

    #[test]
    fn names_an_unknown_input() {
        let r = check("{{ inputs.verison }}", &names(&["version"]));
        assert!(matches!(r, Err(TemplateError::Unknown { ref name, .. }) if name == "inputs.verison"));
    }

    #[test]
    fn names_an_undeclared_output() {
        let r = check("{{ activities.build.outputs.artefact }}", &names(&[]));
        assert!(matches!(r, Err(TemplateError::Unknown { ref name, .. }) if name == "activities.build.outputs.artefact"));
    }

    #[test]
    fn reports_syntax_errors() {
        assert!(matches!(check("{{ inputs.version ", &names(&[])), Err(TemplateError::Syntax(_))));
    }

    #[test]
    fn renders_strings_inside_json() {
        let ctx = json!({"inputs": {"version": "1.2.3"}});
        let out = render_json(&json!({"v": "{{ inputs.version }}", "n": [1, "x{{ inputs.version }}"]}), &ctx);
        assert_eq!(out, Ok(json!({"v": "1.2.3", "n": [1, "x1.2.3"]})));
    }

    #[test]
    fn refuses_oversized_output() {
        let ctx = json!({});
        let r = render("{% for i in range(9000) %}xxxxxxxxxx{% endfor %}", &ctx);
        assert!(matches!(r, Err(TemplateError::TooLarge(_))));
    }
}
