//! GitHub `CODEOWNERS`: where it is looked up, its syntax, and which rule owns a service.
//!
//! GitHub's rules (docs "About code owners"): the first of `.github/CODEOWNERS`,
//! `CODEOWNERS`, `docs/CODEOWNERS` is used; each line is a gitignore-style pattern followed by
//! owners (`@user`, `@org/team`, an e-mail address); `#` starts a comment; the LAST matching
//! rule wins; a rule without owners leaves what it matches unowned; paths are case-sensitive;
//! `docs/*` owns the files directly in `docs/`, not deeper ones. Not supported by GitHub, and
//! refused here with the line: `!` negation, `[ ]` character ranges, `\#` escapes.
//!
//! A service is a directory: a rule owns a service when it owns the files directly in the
//! service's directory. A pattern for file names (`*.js`, `Makefile`) names no directory and
//! owns no service.

use std::path::Path;

/// Where GitHub looks, in its order.
pub const LOCATIONS: &[&str] = &[".github/CODEOWNERS", "CODEOWNERS", "docs/CODEOWNERS"];

/// One rule: a pattern and its owners.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Rule {
    /// 1-based line.
    pub line: u32,
    /// Pattern segments (after the anchoring rules: an unanchored pattern starts with `**`).
    segments: Vec<String>,
    /// The pattern ended with `/`: it matches directories only.
    dir_only: bool,
    /// Owners as written (`@org/team`, `@user`, `a@b.c`); empty: un-owns.
    pub owners: Vec<String>,
}

/// A parsed `CODEOWNERS` file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CodeOwners {
    /// The file, as messages name it (relative to the repository root).
    pub file: String,
    /// Rules in file order.
    pub rules: Vec<Rule>,
}

/// A malformed line: the message names the file and line.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct SyntaxError {
    /// The file.
    pub file: String,
    /// 1-based line.
    pub line: u32,
    /// What is wrong.
    pub message: String,
}

impl CodeOwners {
    /// The rule owning the service at `dir` (relative to the repository root, `/`
    /// separators, `.` for the root): the last matching one.
    pub fn rule_for(&self, dir: &str) -> Option<&Rule> {
        let path: Vec<&str> = if dir == "." || dir.is_empty() {
            Vec::new()
        } else {
            dir.split('/').collect()
        };
        self.rules.iter().rev().find(|r| r.owns_dir(&path))
    }

    /// The team owning the service at `dir`: the first owner of the last matching rule, as
    /// [`team_of`] names it; `None` when no rule matches or the rule has no owners.
    pub fn team_for(&self, dir: &str) -> Option<String> {
        self.rule_for(dir)
            .and_then(|r| r.owners.first())
            .map(|o| team_of(o))
    }
}

/// `@org/team` → `team`, `@user` → `user`, an e-mail address as it is.
pub fn team_of(owner: &str) -> String {
    match owner.strip_prefix('@') {
        Some(handle) => handle
            .rsplit_once('/')
            .map_or(handle, |(_, team)| team)
            .to_owned(),
        None => owner.to_owned(),
    }
}

/// The first `CODEOWNERS` of [`LOCATIONS`] that exists under `root`, with its relative name.
pub fn find(root: &Path) -> Option<(std::path::PathBuf, &'static str)> {
    LOCATIONS
        .iter()
        .map(|rel| (root.join(rel), *rel))
        .find(|(path, _)| std::fs::symlink_metadata(path).is_ok())
}

/// Parse `text`, naming the file `file` in errors.
pub fn parse(text: &str, file: &str) -> Result<CodeOwners, SyntaxError> {
    let mut rules = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = u32::try_from(i + 1).unwrap_or(u32::MAX);
        let fail = |message: String| SyntaxError {
            file: file.to_owned(),
            line,
            message,
        };
        let trimmed = raw.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let words = split_words(trimmed).map_err(fail)?;
        let mut words = words.into_iter();
        let Some(pattern) = words.next() else {
            continue;
        };
        let owners: Vec<String> = words.collect();
        if let Some(bad) = owners.iter().find(|o| !is_owner(o)) {
            return Err(fail(format!(
                "`{bad}` is not an owner (expected @user, @org/team or an e-mail address)"
            )));
        }
        let (segments, dir_only) = compile(&pattern).map_err(fail)?;
        rules.push(Rule {
            line,
            segments,
            dir_only,
            owners,
        });
    }
    Ok(CodeOwners {
        file: file.to_owned(),
        rules,
    })
}

/// Split a rule line into words: whitespace separates, `\ ` keeps a space in the pattern, an
/// unescaped `#` starts a comment. The pattern keeps its other backslashes (for [`compile`]).
fn split_words(line: &str) -> Result<Vec<String>, String> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some(' ') => word.push(' '),
                Some('#') if words.is_empty() && word.is_empty() => {
                    return Err(
                        "escaping `#` with `\\` is not supported in CODEOWNERS (GitHub treats the line as invalid)"
                            .into(),
                    )
                }
                Some(next) => {
                    word.push('\\');
                    word.push(next);
                }
                None => return Err("a pattern cannot end with `\\`".into()),
            },
            '#' if word.is_empty() => break,
            c if c.is_whitespace() => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            c => word.push(c),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    Ok(words)
}

fn is_owner(word: &str) -> bool {
    if let Some(handle) = word.strip_prefix('@') {
        let mut parts = handle.split('/');
        let valid =
            |p: &str| !p.is_empty() && p.chars().all(|c| c.is_alphanumeric() || "-_.".contains(c));
        return match (parts.next(), parts.next(), parts.next()) {
            (Some(user), None, None) => valid(user),
            (Some(org), Some(team), None) => valid(org) && valid(team),
            _ => false,
        };
    }
    // An e-mail address: something@domain.tld.
    word.split_once('@').is_some_and(|(local, domain)| {
        !local.is_empty() && domain.contains('.') && !domain.contains('@')
    })
}

/// A pattern → its segments (unanchored patterns get a leading `**`) and whether it matches
/// directories only.
fn compile(pattern: &str) -> Result<(Vec<String>, bool), String> {
    if pattern.starts_with('!') {
        return Err(format!(
            "`{pattern}`: negation (`!`) is not supported in CODEOWNERS; a later rule without owners un-owns a path"
        ));
    }
    if pattern.contains('[') || pattern.contains(']') {
        return Err(format!(
            "`{pattern}`: character ranges (`[ ]`) are not supported in CODEOWNERS"
        ));
    }
    let dir_only = pattern.ends_with('/');
    let body = pattern.trim_end_matches('/');
    if body.is_empty() {
        // `/` alone: the root directory, everything in it.
        return Ok((vec!["**".into()], false));
    }
    let anchored = body.starts_with('/') || body.contains('/');
    let mut segments: Vec<String> = body
        .trim_start_matches('/')
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    if !anchored && segments.first().map(String::as_str) != Some("**") {
        segments.insert(0, "**".into());
    }
    Ok((segments, dir_only))
}

impl Rule {
    /// Whether this rule owns the files directly in the directory `path` (its components).
    fn owns_dir(&self, path: &[&str]) -> bool {
        // The directory's files: its components and one unknown file name.
        let last_is_star = self.segments.last().is_some_and(|s| s == "*");
        // Matched as a whole (the pattern's last segment matched the file name): only for
        // patterns that can match any name.
        if !self.dir_only && matches_file(&self.segments, path) {
            return true;
        }
        // A directory the pattern matches, containing `path` (or `path` itself). `docs/*`
        // matches `docs/a` but owns only the files directly in `docs` (GitHub).
        if last_is_star {
            return false;
        }
        (1..=path.len()).any(|n| matches_dir(&self.segments, &path[..n]))
    }
}

/// Whether `segments` match `dir + [some file]`, for any file name: the last segment must
/// match any name (`*`, `**`).
fn matches_file(segments: &[String], dir: &[&str]) -> bool {
    let Some((last, rest)) = segments.split_last() else {
        return false;
    };
    match last.as_str() {
        "**" => matches_dir(rest, dir) || (1..=dir.len()).any(|n| matches_dir(rest, &dir[..n])),
        s if s.chars().all(|c| c == '*') => matches_dir(rest, dir),
        _ => false,
    }
}

/// Whether `segments` (with `**`) match exactly the path `parts`.
fn matches_dir(segments: &[String], parts: &[&str]) -> bool {
    match segments.split_first() {
        None => parts.is_empty(),
        Some((first, rest)) if first == "**" => {
            (0..=parts.len()).any(|skip| matches_dir(rest, &parts[skip..]))
        }
        Some((first, rest)) => match parts.split_first() {
            Some((part, others)) => glob(first, part) && matches_dir(rest, others),
            None => false,
        },
    }
}

/// One segment: `*` any run of characters, `?` one character, `\x` a literal `x`.
fn glob(pattern: &str, name: &str) -> bool {
    // Most segments are plain names: compared without building anything.
    if !pattern.contains(['*', '?', '\\']) {
        return pattern == name;
    }
    if pattern == "*" {
        return true;
    }
    let p: Vec<char> = pattern.chars().collect();
    let n: Vec<char> = name.chars().collect();
    glob_at(&p, &n)
}

fn glob_at(p: &[char], n: &[char]) -> bool {
    match p.split_first() {
        None => n.is_empty(),
        Some(('*', rest)) => (0..=n.len()).any(|skip| glob_at(rest, &n[skip..])),
        Some(('?', rest)) => !n.is_empty() && glob_at(rest, &n[1..]),
        Some(('\\', rest)) if !rest.is_empty() => {
            n.first() == rest.first() && glob_at(&rest[1..], &n[1..])
        }
        Some((c, rest)) => n.first() == Some(c) && glob_at(rest, &n[1..]),
    }
}

#[cfg(test)]
#[path = "codeowners_tests.rs"]
mod tests;
