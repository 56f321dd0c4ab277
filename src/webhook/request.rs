//! Turning a stored request (a webhook try, a poll's look) into bytes on the wire: secrets read
//! and swapped in for their placeholders, the query added, the body encoded as its content type
//! says, and `auth` made into an `Authorization` header. Everything here happens at send time
//! and is never stored.

use crate::domain::process::{Auth, SecretRef};
use crate::domain::{secrets, template};
use base64::Engine as _;
use std::collections::BTreeMap;

/// Reads the text of a secret a process refers to (a file's trailing newline dropped). Errors
/// name the reference, never the value.
pub fn read_secret(reference: &SecretRef) -> Result<String, String> {
    match reference {
        SecretRef::Env(name) => std::env::var(name).map_err(|_| format!("the secret {reference} is not set")),
        SecretRef::File(path) => std::fs::read_to_string(path)
            .map(|text| text.trim_end_matches(['\n', '\r']).to_string())
            .map_err(|e| format!("cannot read the secret {reference}: {}", e.kind())),
    }
}

/// The values of the secrets whose placeholders appear in `texts`: only those are read.
pub fn secrets_used<'a>(
    declared: &BTreeMap<String, SecretRef>,
    texts: impl IntoIterator<Item = &'a str>,
) -> Result<BTreeMap<String, String>, String> {
    let all: String = texts.into_iter().collect::<Vec<_>>().join("\n");
    let mut values = BTreeMap::new();
    for name in secrets::referenced(&all, declared.keys()) {
        if let Some(reference) = declared.get(name) {
            values.insert(name.clone(), read_secret(reference)?);
        }
    }
    Ok(values)
}

/// A request's text parts with their secrets revealed.
pub struct Revealed {
    pub url: String,
    pub headers: Vec<(String, String)>,
    pub authorization: Option<String>,
    /// The secret values used, to redact from anything that may echo the request.
    pub values: BTreeMap<String, String>,
}

impl Revealed {
    /// `request` with the revealed headers and `Authorization`.
    pub fn apply(&self, mut request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        for (name, value) in &self.headers {
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(authorization) = &self.authorization {
            request = request.header(reqwest::header::AUTHORIZATION, authorization.as_str());
        }
        request
    }
}

/// Reveals the secrets in a request's URL, query, headers and auth, and adds the query to the URL.
pub fn reveal(
    declared: &BTreeMap<String, SecretRef>,
    url: &str,
    query: &[(String, String)],
    headers: &BTreeMap<String, String>,
    auth: Option<&Auth>,
    body: Option<&serde_json::Value>,
) -> Result<Revealed, String> {
    let body_texts = body.map(template::strings_in).unwrap_or_default();
    let auth_texts: Vec<&str> = match auth {
        Some(Auth::Bearer(token)) => vec![token.as_str()],
        Some(Auth::Basic { user, password }) => vec![user.as_str(), password.as_str()],
        None => vec![],
    };
    let texts = std::iter::once(url)
        .chain(body_texts)
        .chain(query.iter().map(|(_, v)| v.as_str()))
        .chain(headers.values().map(String::as_str))
        .chain(auth_texts);
    let values = secrets_used(declared, texts)?;
    let open = |text: &str| secrets::reveal(text, &values);
    let mut url = open(url)?;
    if !query.is_empty() {
        let mut parsed = url::Url::parse(&url).map_err(|e| format!("`{}` is not a URL: {e}", secrets::redact(&url, &values)))?;
        for (name, value) in query {
            parsed.query_pairs_mut().append_pair(name, &open(value)?);
        }
        url = parsed.to_string();
    }
    let headers = headers.iter().map(|(k, v)| Ok((k.clone(), open(v)?))).collect::<Result<Vec<_>, String>>()?;
    let authorization = match auth {
        Some(Auth::Bearer(token)) => Some(format!("Bearer {}", open(token)?)),
        Some(Auth::Basic { user, password }) => {
            let pair = format!("{}:{}", open(user)?, open(password)?);
            Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode(pair)))
        }
        None => None,
    };
    Ok(Revealed { url, headers, authorization, values })
}

/// A JSON value with the secrets in its strings revealed.
pub fn reveal_json(value: &serde_json::Value, values: &BTreeMap<String, String>) -> Result<serde_json::Value, String> {
    template::map_strings(value, &|s| secrets::reveal(s, values))
}

const FORM: &str = "application/x-www-form-urlencoded";

/// The body bytes and their content type. The envelope and JSON bodies are JSON; a raw string
/// body is its text; a map sent as a form is form-encoded; no body (null) is none.
pub fn encode_body(payload: &serde_json::Value, raw: bool, content_type: Option<&str>) -> Result<Option<(Vec<u8>, String)>, String> {
    use serde_json::Value;
    if raw && payload.is_null() {
        return Ok(None);
    }
    let is_form = content_type.is_some_and(|c| c.split(';').next().is_some_and(|m| m.trim().eq_ignore_ascii_case(FORM)));
    match payload {
        Value::String(text) if raw => {
            Ok(Some((text.clone().into_bytes(), content_type.unwrap_or("text/plain; charset=utf-8").to_string())))
        }
        Value::Object(map) if raw && is_form => {
            let mut form = url::form_urlencoded::Serializer::new(String::new());
            for (name, value) in map {
                match value {
                    Value::String(s) => form.append_pair(name, s),
                    other => form.append_pair(name, &other.to_string()),
                };
            }
            Ok(Some((form.finish().into_bytes(), FORM.to_string())))
        }
        _ if raw && is_form => Err("a form body (`content_type: application/x-www-form-urlencoded`) must be a map of fields".into()),
        other => Ok(Some((other.to_string().into_bytes(), content_type.unwrap_or("application/json").to_string()))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bodies_are_encoded_as_their_content_type_says() {
        assert_eq!(encode_body(&json!({"a": 1}), false, None), Ok(Some((br#"{"a":1}"#.to_vec(), "application/json".into()))));
        assert_eq!(encode_body(&json!("<x/>"), true, Some("application/xml")), Ok(Some((b"<x/>".to_vec(), "application/xml".into()))));
        assert_eq!(encode_body(&json!({"ref": "main", "n": 2}), true, Some(FORM)), Ok(Some((b"n=2&ref=main".to_vec(), FORM.into()))));
        assert_eq!(encode_body(&serde_json::Value::Null, true, None), Ok(None));
        assert!(encode_body(&json!([1]), true, Some(FORM)).is_err());
    }

    #[test]
    fn basic_auth_is_encoded_after_the_secret_is_revealed() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let path = dir.path().join("pw");
        std::fs::write(&path, "s3cret\n").unwrap_or_else(|e| panic!("{e}"));
        let declared = [("pw".to_string(), SecretRef::File(path.display().to_string()))].into();
        let auth = Auth::Basic { user: "ci".into(), password: secrets::placeholder("pw") };
        let revealed = reveal(&declared, "https://j/x", &[("V".into(), "1 2".into())], &BTreeMap::new(), Some(&auth), None)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(revealed.authorization.as_deref(), Some("Basic Y2k6czNjcmV0"));
        assert_eq!(revealed.url, "https://j/x?V=1+2");
    }
}
