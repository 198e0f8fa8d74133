//! Backend credentials for `--from` and `--destination`: extra request headers read from the
//! environment or from a file. Their values never appear in an error or in `Debug` output.
//!
//! - `TRACEGATE_BACKEND_TOKEN=T` → `authorization: Bearer T`
//! - `TRACEGATE_BACKEND_HEADERS=Name=value,Name2=value2` → one header per entry
//! - `--backend-credentials FILE`: one `Name: value` per line; blank lines and lines starting
//!   with `#` are ignored. When a file is given, the environment is not read.

use std::fmt;
use std::path::Path;

/// The environment variable holding a bearer token.
pub const TOKEN_ENV: &str = "TRACEGATE_BACKEND_TOKEN";
/// The environment variable holding `Name=value,Name2=value2` headers.
pub const HEADERS_ENV: &str = "TRACEGATE_BACKEND_HEADERS";

/// Headers to send to a backend. `Debug` shows the header names only.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct BackendCredentials {
    headers: Vec<(String, String)>,
}

impl fmt::Debug for BackendCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("BackendCredentials")
            .field(
                "headers",
                &crate::otlp::client::RedactedHeaders(&self.headers),
            )
            .finish()
    }
}

/// Why credentials could not be read. The message names the file (and line) or the variable,
/// never a value.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct CredentialError(String);

impl BackendCredentials {
    /// From `file` when given, otherwise from the process environment.
    pub fn load(file: Option<&Path>) -> Result<BackendCredentials, CredentialError> {
        match file {
            Some(path) => BackendCredentials::from_file(path),
            None => BackendCredentials::from_env(|name| std::env::var(name).ok()),
        }
    }

    /// From `TRACEGATE_BACKEND_TOKEN` and `TRACEGATE_BACKEND_HEADERS`, read through `var`.
    pub fn from_env(
        var: impl Fn(&str) -> Option<String>,
    ) -> Result<BackendCredentials, CredentialError> {
        let mut headers = Vec::new();
        if let Some(token) = var(TOKEN_ENV).filter(|t| !t.trim().is_empty()) {
            let value = format!("Bearer {}", token.trim());
            check_value(&value).map_err(|why| CredentialError(format!("{TOKEN_ENV}: {why}")))?;
            headers.push(("authorization".to_owned(), value));
        }
        if let Some(list) = var(HEADERS_ENV) {
            for (i, entry) in list.split(',').enumerate() {
                if entry.trim().is_empty() {
                    continue;
                }
                let at = || format!("{HEADERS_ENV}: entry {}", i + 1);
                let (name, value) = entry
                    .split_once('=')
                    .ok_or_else(|| CredentialError(format!("{}: expected Name=value", at())))?;
                headers.push(
                    header(name, value)
                        .map_err(|why| CredentialError(format!("{}: {why}", at())))?,
                );
            }
        }
        Ok(BackendCredentials { headers })
    }

    /// From a file of `Name: value` lines.
    pub fn from_file(path: &Path) -> Result<BackendCredentials, CredentialError> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| CredentialError(format!("{}: {e}", path.display())))?;
        BackendCredentials::parse_file(&path.display().to_string(), &text)
    }

    /// Parse the text of a credentials file named `source` in errors.
    pub fn parse_file(source: &str, text: &str) -> Result<BackendCredentials, CredentialError> {
        let mut headers = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let at = || format!("{source}:{}", i + 1);
            let (name, value) = line
                .split_once(':')
                .ok_or_else(|| CredentialError(format!("{}: expected `Name: value`", at())))?;
            headers.push(
                header(name, value).map_err(|why| CredentialError(format!("{}: {why}", at())))?,
            );
        }
        Ok(BackendCredentials { headers })
    }

    /// The headers (name, value), for [`super::SpanSource::Backend`].
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// The headers, owned.
    pub fn into_headers(self) -> Vec<(String, String)> {
        self.headers
    }

    /// Whether there is no header.
    pub fn is_empty(&self) -> bool {
        self.headers.is_empty()
    }
}

fn header(name: &str, value: &str) -> Result<(String, String), String> {
    let name = name.trim();
    if name.is_empty()
        || !name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
    {
        return Err(format!("{name:?} is not a valid header name"));
    }
    let value = value.trim();
    check_value(value).map_err(|why| format!("header {name}: {why}"))?;
    Ok((name.to_ascii_lowercase(), value.to_owned()))
}

fn check_value(value: &str) -> Result<(), String> {
    if value.is_empty() {
        return Err("empty value".to_owned());
    }
    if value.bytes().any(|b| b.is_ascii_control() && b != b'\t') {
        return Err("the value holds control characters".to_owned());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| {
            pairs
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        }
    }

    #[test]
    fn the_environment_gives_a_bearer_token_and_extra_headers() {
        let credentials = BackendCredentials::from_env(env(&[
            (TOKEN_ENV, "s3cr3t-token"),
            (HEADERS_ENV, "X-Scope-OrgID=tenant-a, X-Api-Key = k=v"),
        ]))
        .unwrap();
        assert_eq!(
            credentials.headers(),
            [
                ("authorization".to_owned(), "Bearer s3cr3t-token".to_owned()),
                ("x-scope-orgid".to_owned(), "tenant-a".to_owned()),
                ("x-api-key".to_owned(), "k=v".to_owned()),
            ]
        );
        assert!(BackendCredentials::from_env(env(&[])).unwrap().is_empty());
    }

    #[test]
    fn a_file_gives_name_value_lines_and_errors_name_the_line_not_the_value() {
        let text =
            "# Tempo behind a gateway\nAuthorization: Basic dXNlcjpzM2NyM3Q=\n\nX-Scope-OrgID: a\n";
        let credentials = BackendCredentials::parse_file("creds.txt", text).unwrap();
        assert_eq!(credentials.headers().len(), 2);
        assert_eq!(credentials.headers()[0].1, "Basic dXNlcjpzM2NyM3Q=");

        let err = BackendCredentials::parse_file("creds.txt", "a: b\nno-colon-s3cr3t\n")
            .unwrap_err()
            .to_string();
        assert_eq!(err, "creds.txt:2: expected `Name: value`");
        let err = BackendCredentials::parse_file("creds.txt", "bad name: s3cr3t\n")
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("creds.txt:1: "), "{err}");
        assert!(!err.contains("s3cr3t"), "{err}");
        let err = BackendCredentials::from_env(env(&[(HEADERS_ENV, "a=1,s3cr3t")]))
            .unwrap_err()
            .to_string();
        assert_eq!(
            err,
            "TRACEGATE_BACKEND_HEADERS: entry 2: expected Name=value"
        );
    }

    #[test]
    fn debug_output_shows_header_names_only() {
        let credentials =
            BackendCredentials::from_env(env(&[(TOKEN_ENV, "s3cr3t-token")])).unwrap();
        let debug = format!("{credentials:?}");
        assert!(debug.contains("authorization"), "{debug}");
        assert!(!debug.contains("s3cr3t"), "{debug}");
    }
}
