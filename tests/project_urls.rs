//! Every address of this project points at one place: `Cargo.toml`'s `repository`. Checked
//! offline in the sources (README, docs/, src/ with its snapshots, .github/, deploy/, examples/,
//! rules/, the Dockerfile)
//! and in what the binary prints (rule documentation links, `--help`): no placeholder owner,
//! no second spelling of the repository, `blob/main/…` naming a file that exists (and its
//! `#anchor` a heading of it), `tree/main/…` a directory, pinned release tags and raw files at
//! the package's version. A link GitHub would answer with 404 fails here first.
#![allow(clippy::unwrap_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn manifest() -> toml::Table {
    std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap()
}

/// `owner/name` of `Cargo.toml`'s `repository`.
fn slug() -> String {
    let manifest = manifest();
    let repository = manifest["package"]["repository"].as_str().unwrap();
    let slug = repository
        .strip_prefix("https://github.com/")
        .unwrap_or_else(|| panic!("repository {repository} is not a GitHub address"));
    let parts: Vec<&str> = slug.split('/').collect();
    assert!(
        parts.len() == 2 && parts.iter().all(|p| !p.is_empty()),
        "repository {repository}: expected https://github.com/OWNER/NAME"
    );
    slug.to_owned()
}

fn version() -> String {
    format!("v{}", env!("CARGO_PKG_VERSION"))
}

/// The files whose addresses users follow (fixtures are other people's repositories).
fn sources() -> Vec<PathBuf> {
    let mut files = vec![root().join("README.md"), root().join("Dockerfile")];
    let mut dirs: Vec<PathBuf> = ["docs", "src", ".github", "deploy", "examples", "rules"]
        .iter()
        .map(|d| root().join(d))
        .collect();
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| {
                ["rs", "md", "yml", "yaml", "html", "sh", "toml", "snap"]
                    .contains(&e.to_str().unwrap_or_default())
            }) {
                files.push(path);
            }
        }
    }
    files
}

/// The address starting at `text`, up to the first character no URL of ours holds.
fn address(text: &str) -> &str {
    let end = text
        .find(|c: char| c.is_whitespace() || "\"'`<>()[]{},;\\|".contains(c))
        .unwrap_or(text.len());
    text[..end].trim_end_matches(['.', ':'])
}

/// GitHub's anchor of a Markdown heading: lowercase, spaces to `-`, punctuation dropped.
fn github_anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter_map(|c| match c {
            ' ' => Some('-'),
            c if c.is_alphanumeric() || c == '-' || c == '_' => Some(c),
            _ => None,
        })
        .collect()
}

fn anchors(markdown: &Path) -> Vec<String> {
    std::fs::read_to_string(markdown)
        .unwrap()
        .lines()
        .filter_map(|l| {
            l.trim_start_matches('#')
                .strip_prefix(' ')
                .filter(|_| l.starts_with('#'))
        })
        .map(github_anchor)
        .collect()
}

/// Why `rest` (what follows `https://github.com/OWNER/NAME`) would not resolve, if it would not.
fn problem_after_repository(rest: &str) -> Option<String> {
    let version = version();
    let (path, anchor) = match rest.split_once('#') {
        Some((path, anchor)) => (path, Some(anchor)),
        None => (rest, None),
    };
    if path.is_empty() || path == "/" || path == "/releases" || path == "/issues" {
        return None;
    }
    if let Some(tag) = path.strip_prefix("/releases/download/") {
        let tag = tag.split('/').next().unwrap_or_default();
        return (!(tag == version || tag.starts_with('$')))
            .then(|| format!("release tag {tag} is not {version} (nor a variable)"));
    }
    if let Some(file) = path.strip_prefix("/blob/main/") {
        let on_disk = root().join(file);
        if !on_disk.is_file() {
            return Some(format!("blob/main/{file}: no such file"));
        }
        if let Some(anchor) = anchor.filter(|_| file.ends_with(".md")) {
            if !anchors(&on_disk).iter().any(|a| a == anchor) {
                return Some(format!("{file} has no heading #{anchor}"));
            }
        }
        return None;
    }
    if let Some(dir) = path.strip_prefix("/tree/main/") {
        return (!root().join(dir).is_dir()).then(|| format!("tree/main/{dir}: no such directory"));
    }
    if let Some(dir) = path.strip_prefix("/tree/") {
        return Some(format!("tree/{dir}: a branch other than main"));
    }
    if let Some(file) = path.strip_prefix("/blob/") {
        return Some(format!("blob/{file}: a branch other than main"));
    }
    Some(format!("{path}: not an address this test knows resolves"))
}

/// Every problem of the project's addresses in `text` (from `origin`).
fn problems(origin: &str, text: &str) -> Vec<String> {
    let slug = slug();
    let (_, name) = slug.split_once('/').unwrap();
    let version = version();
    let mut found = Vec::new();
    let mut say = |what: String| found.push(format!("{origin}: {what}"));
    for (i, _) in text.match_indices("github.com/") {
        let url = address(&text[i + "github.com/".len()..]);
        let mut parts = url.splitn(3, '/');
        let owner = parts.next().unwrap_or_default();
        let repo = parts.next().unwrap_or_default();
        // Another project (the W3C suite, an SDK): not ours to check.
        if !(owner.eq_ignore_ascii_case(name) || repo.eq_ignore_ascii_case(name)) {
            continue;
        }
        if format!("{owner}/{repo}") != slug {
            say(format!("github.com/{owner}/{repo} is not {slug}"));
            continue;
        }
        let rest = &url[slug.len()..];
        if let Some(why) = problem_after_repository(rest) {
            say(format!("https://github.com/{url}: {why}"));
        }
    }
    // raw files at a tag: https://raw.githubusercontent.com/OWNER/NAME/vX.Y.Z/PATH
    for (i, _) in text.match_indices("raw.githubusercontent.com/") {
        let url = address(&text[i + "raw.githubusercontent.com/".len()..]);
        let Some(rest) = url.strip_prefix(&format!("{slug}/")) else {
            say(format!("raw.githubusercontent.com/{url} is not {slug}"));
            continue;
        };
        let (tag, file) = rest.split_once('/').unwrap_or((rest, ""));
        if tag != version || !root().join(file).is_file() {
            say(format!(
                "raw.githubusercontent.com/{url}: expected {version} and a file of the repository"
            ));
        }
    }
    // the Action pinned in workflows: uses: OWNER/NAME/.github/actions/tracegate@vX.Y.Z
    for (i, _) in text.match_indices("/.github/actions/") {
        let start = text[..i]
            .rfind(|c: char| c.is_whitespace() || c == '"')
            .map_or(0, |s| s + 1);
        let used = address(&text[start..]);
        let Some((action, pin)) = used.split_once('@') else {
            continue;
        };
        if action.starts_with('$') || action.starts_with('.') || action.contains("://") {
            continue;
        }
        let Some(path) = action.strip_prefix(&format!("{slug}/")) else {
            say(format!("{used}: the Action is not {slug}'s"));
            continue;
        };
        if !root().join(path).join("action.yml").is_file() {
            say(format!("{used}: no action.yml at {path}"));
        }
        // `…@{}` is a format string: the templates' output is checked through their snapshots
        if pin != version && !pin.is_empty() && !pin.starts_with('$') {
            say(format!("{used}: pinned at {pin}, not {version}"));
        }
    }
    found
}

#[test]
fn cargo_toml_names_the_repository_and_its_docs() {
    let slug = slug();
    let manifest = manifest();
    let package = &manifest["package"];
    let repository = format!("https://github.com/{slug}");
    assert_eq!(package["homepage"].as_str(), Some(repository.as_str()));
    assert_eq!(
        package["documentation"].as_str(),
        Some(format!("{repository}/tree/main/docs").as_str())
    );
    for placeholder in ["example", "your-", "owner", "todo", "xxx"] {
        assert!(
            !slug.to_lowercase().contains(placeholder),
            "repository {repository} looks like a placeholder"
        );
    }
}

#[test]
fn every_address_of_the_project_in_the_sources_resolves_to_the_repository() {
    let mut all = Vec::new();
    let mut seen = 0;
    for file in sources() {
        let text = std::fs::read_to_string(&file).unwrap();
        seen += text.matches(&slug()).count();
        let origin = file.strip_prefix(root()).unwrap().display().to_string();
        all.extend(problems(&origin, &text));
    }
    assert!(
        seen >= 5,
        "the repository is named {seen} times: the scan found nothing"
    );
    assert!(all.is_empty(), "{}", all.join("\n"));
}

/// What the binary prints: each rule's documentation link (`rules explain`, SARIF, `check
/// -v`) and the help of every command.
#[test]
fn every_address_the_binary_prints_resolves_to_the_repository() {
    let run = |args: &[&str]| {
        let out = Command::cargo_bin("tracegate")
            .unwrap()
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "{args:?}");
        String::from_utf8(out.stdout).unwrap()
    };
    let rules: Value = serde_json::from_str(&run(&["rules", "list", "--json"])).unwrap();
    let rules = rules.as_array().unwrap();
    assert!(rules.len() > 10);
    let docs = format!("https://github.com/{}/blob/main/docs/", slug());
    let mut all = Vec::new();
    for rule in rules {
        let id = rule["id"].as_str().unwrap();
        let text = run(&["rules", "explain", id]);
        assert!(text.contains(&docs), "{id}: no link into {docs}:\n{text}");
        all.extend(problems(&format!("rules explain {id}"), &text));
    }
    let help = run(&["--help"]);
    let commands: Vec<&str> = help
        .lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.strip_prefix("  ").filter(|r| !r.starts_with(' ')))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .collect();
    assert!(commands.contains(&"check") && commands.contains(&"coverage"));
    all.extend(problems("--help", &help));
    for command in commands {
        all.extend(problems(
            &format!("{command} --help"),
            &run(&[command, "--help"]),
        ));
    }
    assert!(all.is_empty(), "{}", all.join("\n"));
}

/// The checks above find what they are for.
#[test]
fn a_wrong_address_is_found() {
    let slug = slug();
    let v = version();
    for bad in [
        format!("https://github.com/{slug}/blob/main/docs/no-such-file.md"),
        format!("https://github.com/{slug}/blob/main/docs/onboarding.md#no-such-heading"),
        format!("https://github.com/{slug}/tree/main/README.md"),
        format!("https://github.com/{slug}/blob/master/README.md"),
        format!("https://github.com/{slug}/releases/download/v0.0.0-old/x.tar.gz"),
        "https://github.com/your-org/tracegate".to_owned(),
        format!("https://raw.githubusercontent.com/{slug}/main/README.md"),
        format!("uses: {slug}/.github/actions/tracegate@v0.0.1"),
        "uses: acme/tracegate/.github/actions/tracegate@v1".to_owned(),
    ] {
        assert_eq!(problems("test", &bad).len(), 1, "{bad}");
    }
    for good in [
        format!("see https://github.com/{slug}/blob/main/docs/onboarding.md#tg102."),
        format!("https://github.com/{slug}/tree/main/docs"),
        format!("https://github.com/{slug}/releases/download/{v}/tracegate.tar.gz"),
        format!("curl https://raw.githubusercontent.com/{slug}/{v}/README.md"),
        format!("uses: {slug}/.github/actions/tracegate@{v}"),
        "https://github.com/w3c/trace-context/tree/main/test".to_owned(),
    ] {
        assert_eq!(problems("test", &good), Vec::<String>::new(), "{good}");
    }
}
