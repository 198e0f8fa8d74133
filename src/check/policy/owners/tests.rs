//! Owner precedence over a repository on disk.

use super::*;
use crate::check::policy::config;

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).expect("mkdir");
    }
    std::fs::write(path, text).expect("write");
}

fn component(name: &str, owner: &str) -> String {
    format!(
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\nspec:\n  type: service\n  owner: {owner}\n"
    )
}

fn repo() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path();
    write(
        root,
        ".github/CODEOWNERS",
        "*                @acme/platform\n/services/ledger/ @acme/payments\n/services/orphan/\n",
    );
    write(
        root,
        "catalog-info.yaml",
        &format!(
            "{}---\n{}",
            component("ledger", "group:default/finance"),
            component("search", "group:platform")
        ),
    );
    write(
        root,
        "services/web/catalog-info.yaml",
        &component("web-frontend", "web"),
    );
    dir
}

fn cfg() -> ValidConfig {
    config::parse(
        "services:\n  - name: ledger\n    path: services/ledger\n    team: ledger-core\n",
        "tracegate.yaml",
        &|_| true,
    )
    .expect("valid config")
}

fn descriptors() -> Vec<String> {
    vec![
        "services/web/catalog-info.yaml".into(),
        "catalog-info.yaml".into(),
    ]
}

#[test]
fn tracegate_yaml_then_backstage_then_codeowners() {
    let dir = repo();
    let owners = Owners::load(dir.path(), &cfg(), &descriptors()).expect("loads");
    let services = [
        ("ledger", "services/ledger"),
        ("web", "services/web"),
        ("tools", "services/tools"),
        ("orphan", "services/orphan"),
    ];
    let got = owners.assign(services);
    let teams: Vec<Option<(&str, OwnerSource)>> = got
        .owners
        .iter()
        .map(|o| o.as_ref().map(|o| (o.team.as_str(), o.source)))
        .collect();
    assert_eq!(
        teams,
        [
            // tracegate.yaml names it: beats the Backstage Component and CODEOWNERS.
            Some(("ledger-core", OwnerSource::TracegateYaml)),
            // The descriptor in its directory describes it, whatever its Component's name.
            Some(("web", OwnerSource::Backstage)),
            // Only CODEOWNERS' `*`.
            Some(("platform", OwnerSource::Codeowners)),
            // The last matching CODEOWNERS rule has no owners.
            None,
        ]
    );
    // `search` matches no service (ledger's Component matched by name).
    let unmatched: Vec<&str> = got.unmatched.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(unmatched, ["search"]);
    assert_eq!(got.unmatched[0].file, "catalog-info.yaml");
}

#[test]
fn without_tracegate_yaml_backstage_wins_over_codeowners() {
    let dir = repo();
    let owners = Owners::load(dir.path(), &ValidConfig::default(), &descriptors()).expect("loads");
    let got = owners.assign([("ledger", "services/ledger")]);
    assert_eq!(
        got.owners[0],
        Some(Owner {
            team: "finance".into(),
            source: OwnerSource::Backstage
        })
    );
}

#[test]
fn nothing_to_read_is_no_owner() {
    let dir = tempfile::tempdir().expect("tempdir");
    let owners = Owners::load(dir.path(), &ValidConfig::default(), &[]).expect("loads");
    assert!(owners.is_empty());
    assert_eq!(owners.assign([("a", ".")]).owners, [None]);
}

#[test]
fn malformed_owner_files_name_the_file_and_line() {
    let dir = repo();
    write(dir.path(), "CODEOWNERS", "* @acme/x\n");
    write(
        dir.path(),
        ".github/CODEOWNERS",
        "* @acme/x\n!/docs/ @acme/docs\n",
    );
    let err = Owners::load(dir.path(), &ValidConfig::default(), &[]).expect_err("malformed");
    let shown = err.to_string();
    let expected = format!("{}:2: ", dir.path().join(".github/CODEOWNERS").display());
    assert!(shown.starts_with(&expected), "{shown}");

    let dir = repo();
    write(
        dir.path(),
        "catalog-info.yaml",
        "apiVersion: backstage.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n",
    );
    let err =
        Owners::load(dir.path(), &ValidConfig::default(), &descriptors()).expect_err("no owner");
    let expected = format!("{}:1: ", dir.path().join("catalog-info.yaml").display());
    assert!(err.to_string().starts_with(&expected), "{err}");
    assert!(!err.to_string().contains('\n'));
}

#[test]
fn unreadable_owner_files_say_so() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::create_dir_all(dir.path().join("CODEOWNERS")).expect("a directory");
    let err = Owners::load(dir.path(), &ValidConfig::default(), &[]).expect_err("a directory");
    assert!(
        err.to_string()
            .ends_with("CODEOWNERS: cannot read: not a regular file"),
        "{err}"
    );
    write(dir.path(), "docs/x", "");
    std::fs::write(dir.path().join("catalog-info.yaml"), [0xff, 0xfe]).expect("write");
    std::fs::remove_dir(dir.path().join("CODEOWNERS")).expect("rmdir");
    let err = Owners::load(
        dir.path(),
        &ValidConfig::default(),
        &["catalog-info.yaml".into()],
    )
    .expect_err("not UTF-8");
    assert!(err.to_string().ends_with("not valid UTF-8"), "{err}");
}

#[test]
fn a_directory_inside_a_git_repository_uses_the_repository_codeowners() {
    let dir = tempfile::tempdir().expect("tempdir");
    let top = dir.path().join("monorepo");
    write(&top, ".git/HEAD", "ref: refs/heads/main\n");
    write(
        &top,
        ".github/CODEOWNERS",
        "* @acme/platform\n/services/pricing/ @acme/pricing\n",
    );
    let services = top.join("services");
    std::fs::create_dir_all(services.join("pricing")).expect("mkdir");
    let owners = Owners::load(&services, &ValidConfig::default(), &[]).expect("loads");
    let got = owners.assign([("pricing", "pricing"), ("all", ".")]);
    let teams: Vec<Option<&str>> = got
        .owners
        .iter()
        .map(|o| o.as_ref().map(|o| o.team.as_str()))
        .collect();
    // Matched as `services/pricing` and `services` from the repository root.
    assert_eq!(teams, [Some("pricing"), Some("platform")]);

    // Outside a git repository, only the checked root's own CODEOWNERS counts.
    std::fs::remove_dir_all(top.join(".git")).expect("rm .git");
    let owners = Owners::load(&services, &ValidConfig::default(), &[]).expect("loads");
    assert_eq!(owners.assign([("pricing", "pricing")]).owners, [None]);
}
