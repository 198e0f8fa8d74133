//! CODEOWNERS patterns, one case per line with its reason (GitHub's "About code owners"
//! examples, seen from a service's directory).

use super::*;

fn owners(text: &str) -> CodeOwners {
    parse(text, ".github/CODEOWNERS").expect("valid CODEOWNERS")
}

#[test]
fn patterns_seen_from_a_service_directory() {
    // (pattern, service directory, owned, reason): one case per line.
    #[rustfmt::skip]
    let cases: &[(&str, &str, bool, &str)] = &[
        ("*", "services/pricing", true, "`*` owns every file of the repository"),
        ("*", ".", true, "`*` owns the files at the root too"),
        ("/docs/", "docs", true, "rooted directory: its files"),
        ("/docs/", "docs/api/v1", true, "rooted directory: its subdirectories too"),
        ("/docs/", "site/docs", false, "a leading `/` anchors to the root"),
        ("docs/", "site/docs", true, "`docs/` is a directory of that name anywhere"),
        ("docs/", "site/docs/api", true, "…and everything under it"),
        ("docs/", "site/docsy", false, "whole names only"),
        ("docs/*", "docs", true, "`docs/*` owns the files directly in docs/"),
        ("docs/*", "docs/api", false, "…but not those nested deeper (GitHub)"),
        ("**/logs", "build/logs", true, "`**/logs` is a logs directory at any depth"),
        ("**/logs", "logs", true, "`**/` also matches at the root"),
        ("**/logs", "deeply/nested/logs/app", true, "and what is under it"),
        ("apps/**", "apps/web", true, "`apps/**` owns everything inside apps/"),
        ("apps/**", "apps", true, "the files directly in apps/ are inside it"),
        ("apps/**", "x/apps/web", false, "a middle `/` anchors the pattern to the root"),
        ("apps/", "x/apps/web", true, "`apps/` without a leading `/` is not anchored"),
        ("*.js", "apps/web", false, "a file-name pattern names no service directory"),
        ("*.js", ".", false, "…not even the root's"),
        ("services/pricing", "services/pricing", true, "a path without `/` at the end: the directory"),
        ("services/pricing", "services/pricing-v2", false, "whole components only"),
        ("pricing", "services/pricing", true, "a bare name matches at any depth"),
        ("Pricing", "services/pricing", false, "paths are case-sensitive"),
        ("services/*/api", "services/pricing/api", true, "`*` is one component"),
        ("services/*/api", "services/a/b/api", false, "`*` does not cross `/`"),
        ("services/pric?ng/", "services/pricing", true, "`?` is one character"),
        ("my\\ app/", "my app", true, "`\\ ` escapes a space in a path"),
        ("my\\ app/", "my", false, "…so the pattern is one word, not `my` and an owner"),
        ("/", "services/pricing", true, "`/` alone is the whole repository"),
    ];
    for (pattern, dir, owned, reason) in cases {
        let file = owners(&format!("{pattern} @acme/team\n"));
        assert_eq!(
            file.rule_for(dir).is_some(),
            *owned,
            "`{pattern}` on `{dir}`: {reason}"
        );
    }
}

#[test]
fn the_last_matching_rule_wins_and_its_first_owner_names_the_team() {
    let file = owners(
        "# Default owners\n\
         *       @acme/platform @someone\n\
         \n\
         /services/ @acme/payments   # inline comment\n\
         /services/legacy/\n\
         /services/pricing/ pricing-owners@example.com @acme/pricing\n\
         docs/ @docs-writer\n",
    );
    let cases = [
        (
            "tools",
            Some("platform"),
            "only `*` matches: its first owner",
        ),
        (
            "services/checkout",
            Some("payments"),
            "a later rule overrides `*`",
        ),
        ("services/legacy/api", None, "a rule without owners un-owns"),
        (
            "services/pricing",
            Some("pricing-owners@example.com"),
            "an e-mail owner is kept as is",
        ),
        ("services/docs", Some("docs-writer"), "`@user` → user"),
    ];
    for (dir, team, reason) in cases {
        assert_eq!(file.team_for(dir).as_deref(), team, "{dir}: {reason}");
    }
    assert_eq!(file.rule_for("services/checkout").map(|r| r.line), Some(4));
}

#[test]
fn comments_and_blank_lines_are_not_rules() {
    let file = owners("# a comment\n   # indented comment\n\n\t\n*.go @acme/go # trailing\n");
    assert_eq!(file.rules.len(), 1);
    assert_eq!(file.rules[0].owners, ["@acme/go"]);
    assert_eq!(file.rules[0].line, 5);
    // `#` inside a word is part of it.
    let file = owners("c#/ @acme/dotnet\n");
    assert!(file.rule_for("c#").is_some());
}

#[test]
fn unsupported_syntax_is_an_error_naming_file_and_line() {
    #[rustfmt::skip]
    let cases = [
        ("!docs/ @acme/docs", 2, "negation (`!`) is not supported"),
        ("docs/[ab]/ @acme/docs", 2, "character ranges (`[ ]`) are not supported"),
        ("\\#notes @acme/docs", 2, "escaping `#` with `\\` is not supported"),
        ("docs/ acme-team", 2, "`acme-team` is not an owner"),
        ("docs/ @acme/docs/extra", 2, "`@acme/docs/extra` is not an owner"),
        ("docs/ @", 2, "`@` is not an owner"),
        ("trailing\\", 2, "cannot end with `\\`"),
    ];
    for (line, at, message) in cases {
        let text = format!("* @acme/all\n{line}\n");
        let err = parse(&text, "CODEOWNERS").expect_err(line);
        assert_eq!(err.line, at, "{line}");
        let shown = err.to_string();
        assert!(shown.starts_with("CODEOWNERS:2: "), "{shown}");
        assert!(shown.contains(message), "{line}: {shown}");
    }
}

#[test]
fn owner_names() {
    assert_eq!(team_of("@acme/payments"), "payments");
    assert_eq!(team_of("@jdoe"), "jdoe");
    assert_eq!(team_of("ops@example.com"), "ops@example.com");
}

#[test]
fn github_lookup_order() {
    let dir = tempfile::tempdir().expect("tempdir");
    assert!(find(dir.path()).is_none());
    std::fs::create_dir_all(dir.path().join("docs")).expect("mkdir");
    std::fs::write(dir.path().join("docs/CODEOWNERS"), "* @a/docs\n").expect("write");
    assert_eq!(
        find(dir.path()).map(|(_, rel)| rel),
        Some("docs/CODEOWNERS")
    );
    std::fs::write(dir.path().join("CODEOWNERS"), "* @a/root\n").expect("write");
    assert_eq!(find(dir.path()).map(|(_, rel)| rel), Some("CODEOWNERS"));
    std::fs::create_dir_all(dir.path().join(".github")).expect("mkdir");
    std::fs::write(dir.path().join(".github/CODEOWNERS"), "* @a/gh\n").expect("write");
    assert_eq!(
        find(dir.path()).map(|(_, rel)| rel),
        Some(".github/CODEOWNERS")
    );
}
