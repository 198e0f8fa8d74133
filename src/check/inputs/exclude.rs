//! `tracegate.yaml`'s `exclude:`: paths and globs under which nothing is read.
//!
//! A plain path (`load-tests`, `tools/k6`) excludes itself and everything under it, by whole
//! path components (`load` does not exclude `load-tests`). A pattern with `*`, `?`, `[` or `{`
//! is a glob in the gitignore dialect, matched against paths relative to the root: `*` stays
//! within one component, `**` crosses them (`examples/**`, `**/testdata`). A directory that is
//! excluded is not entered.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// Whether an `exclude:` entry is a glob rather than a path.
pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '[', '{'])
}

/// Compiled `exclude:` entries.
#[derive(Clone, Debug, Default)]
pub struct ExcludeSet {
    /// Plain paths, normalised (`/` separators, no `./`, no trailing `/`).
    paths: Vec<String>,
    /// The globs, in the order given.
    globs: Vec<String>,
    set: Option<GlobSet>,
}

impl ExcludeSet {
    /// Compile `patterns` (paths already normalised by the configuration); a glob that does
    /// not compile is an error saying why.
    pub fn new(patterns: &[String]) -> Result<ExcludeSet, String> {
        let mut out = ExcludeSet::default();
        let mut builder = GlobSetBuilder::new();
        for p in patterns {
            let p = p.trim();
            if is_glob(p) {
                let glob = GlobBuilder::new(p.trim_start_matches("./").trim_end_matches('/'))
                    .literal_separator(true)
                    .backslash_escape(true)
                    .build()
                    .map_err(|e| format!("`{p}` is not a valid glob: {}", e.kind()))?;
                builder.add(glob);
                out.globs.push(p.to_owned());
            } else {
                out.paths
                    .push(p.trim_start_matches("./").trim_end_matches('/').to_owned());
            }
        }
        if !out.globs.is_empty() {
            out.set = Some(builder.build().map_err(|e| e.to_string())?);
        }
        Ok(out)
    }

    /// Whether nothing is excluded.
    pub fn is_empty(&self) -> bool {
        self.paths.is_empty() && self.globs.is_empty()
    }

    /// The entry that excludes `rel` (a path relative to the root, `/` separators), if any:
    /// `rel` is an excluded path or under one, or it or one of its parent directories matches
    /// a glob.
    pub fn excluding(&self, rel: &str) -> Option<&str> {
        if rel == "." || rel.is_empty() {
            return None;
        }
        if let Some(p) = self.paths.iter().find(|p| {
            rel == p.as_str()
                || rel
                    .strip_prefix(p.as_str())
                    .is_some_and(|r| r.starts_with('/'))
        }) {
            return Some(p);
        }
        let set = self.set.as_ref()?;
        let mut prefix = rel;
        loop {
            if let Some(i) = set.matches(prefix).first() {
                return self.globs.get(*i).map(String::as_str);
            }
            prefix = prefix.rsplit_once('/')?.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set(patterns: &[&str]) -> ExcludeSet {
        ExcludeSet::new(&patterns.iter().map(|p| p.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn what_is_excluded_and_why() {
        let s = set(&[
            "load-tests",
            "tools/k6",
            "examples/**",
            "**/testdata",
            "docs/*.md",
        ]);
        // (path, excluded by, reason)
        let cases: &[(&str, Option<&str>, &str)] = &[
            ("load-tests", Some("load-tests"), "the path itself"),
            (
                "load-tests/locustfile.py",
                Some("load-tests"),
                "under the path",
            ),
            ("load-tests-2/main.py", None, "whole components only"),
            ("tools/k6/script.js", Some("tools/k6"), "a nested path"),
            ("tools/other/main.go", None, "a sibling of the nested path"),
            (
                "examples/a/b/main.go",
                Some("examples/**"),
                "`**` crosses components",
            ),
            (
                "examples",
                None,
                "`examples/**` matches what is under it, not the directory",
            ),
            (
                "svc/testdata/x.json",
                Some("**/testdata"),
                "a parent matches",
            ),
            (
                "testdata/x.json",
                Some("**/testdata"),
                "`**/` also matches at the root",
            ),
            (
                "docs/index.md",
                Some("docs/*.md"),
                "`*` within one component",
            ),
            ("docs/api/index.md", None, "`*` does not cross `/`"),
            (".", None, "the root is never excluded"),
        ];
        for (rel, by, why) in cases {
            assert_eq!(s.excluding(rel), *by, "{rel}: {why}");
        }
    }

    #[test]
    fn a_bad_glob_says_why() {
        let err = ExcludeSet::new(&["src/[a".to_string()]).unwrap_err();
        assert!(err.contains("`src/[a` is not a valid glob"), "{err}");
    }
}
