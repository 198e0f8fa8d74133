//! Paths of the scanned tree as the engine writes them: relative to the root, `/` separators,
//! `.` for the root itself.

/// `rel` (a relative path, `/` separators) taken from the directory `dir` (`.` for the root),
/// with `.` and `..` resolved; `None` when it climbs above the root.
pub fn resolve(dir: &str, rel: &str) -> Option<String> {
    let mut parts: Vec<&str> = if dir == "." || dir.is_empty() {
        Vec::new()
    } else {
        dir.split('/')
            .filter(|p| !p.is_empty() && *p != ".")
            .collect()
    };
    for p in rel.split('/') {
        match p {
            "" | "." => {}
            ".." => {
                parts.pop()?;
            }
            p => parts.push(p),
        }
    }
    Some(if parts.is_empty() {
        ".".into()
    } else {
        parts.join("/")
    })
}

#[cfg(test)]
mod tests {
    use super::resolve;

    #[test]
    fn relative_paths_resolved_from_a_directory() {
        // (dir, rel, resolved, why)
        let cases: &[(&str, &str, Option<&str>, &str)] = &[
            (".", "a/b", Some("a/b"), "from the root"),
            (
                "deploy/base",
                "../overlays/prod",
                Some("deploy/overlays/prod"),
                "`..` climbs",
            ),
            (
                "a",
                "./b/./c/",
                Some("a/b/c"),
                "`.` and trailing `/` vanish",
            ),
            ("tools/y", "../..", Some("."), "back to the root"),
            ("a", "../../x", None, "above the root"),
            ("", "x", Some("x"), "an empty directory is the root"),
            ("./a", "b", Some("a/b"), "a `./` prefix on the directory"),
        ];
        for (dir, rel, resolved, why) in cases {
            assert_eq!(resolve(dir, rel).as_deref(), *resolved, "{why}");
        }
    }
}
