use super::classify::{classify, is_node_shebang, manifest_dir};
use super::read::text_of;
use super::*;
use crate::check::inputs::manifests::ManifestKind;

#[test]
fn directories_with_a_kustomization_entry_are_listed_once_each() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    for (rel, text) in [
        ("kustomization.yml", "resources: [base]\n"),
        ("base/kustomization.yaml", "resources: []\n"),
        ("overlays/prod/Kustomization", "resources: [../../base]\n"),
        // both spellings in one directory: listed once
        ("overlays/dev/kustomization.yaml", "resources: []\n"),
        ("overlays/dev/kustomization.yml", "resources: []\n"),
        // not a kustomization's name
        ("deploy/kustomization.yaml.bak", "x\n"),
        ("deploy/app.yaml", "kind: ConfigMap\n"),
    ] {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    let walk = walk(root, &Interest::everything(), &ExcludeSet::default()).unwrap();
    assert_eq!(
        walk.kustomization_dirs,
        [".", "base", "overlays/dev", "overlays/prod"]
    );
}

#[test]
fn sorted_runs_merge_into_one_sorted_list() {
    let file = |rel: &str| WalkedFile {
        rel: rel.into(),
        dir: parent_dir(rel),
        parsed: Parsed::TsConfig,
    };
    let runs = |lists: &[&[&str]]| -> Vec<Vec<WalkedFile>> {
        lists
            .iter()
            .map(|l| l.iter().map(|r| file(r)).collect())
            .collect()
    };
    let rels = |files: Vec<WalkedFile>| files.into_iter().map(|f| f.rel).collect::<Vec<_>>();
    assert_eq!(
        rels(merge_runs(runs(&[
            &["a/x", "c"],
            &[],
            &["a", "b/y", "d"],
            &["a/y"]
        ]))),
        ["a", "a/x", "a/y", "b/y", "c", "d"]
    );
    assert_eq!(rels(merge_runs(runs(&[&["b"]]))), ["b"]);
    assert!(merge_runs(Vec::new()).is_empty());
}

#[test]
fn relative_paths_are_the_same_by_bytes_and_by_components() {
    let cases = [
        ("/repo", "/repo/services/a/main.go"),
        ("/repo", "/repo/main.go"),
        ("/repo", "/repo"),
        ("/repo/", "/repo/services/a"),
        (".", "./services/a/main.go"),
        ("fixtures", "fixtures/x/./y.go"),
        ("fixtures", "fixtures//x.go"),
        ("fixtures", "fixtures/x/../y.go"),
        ("/", "/etc/x.yaml"),
        ("/repo", "/elsewhere/x.go"),
        ("/repo", "/repository/x.go"),
    ];
    for (root, path) in cases {
        let (root, path) = (Path::new(root), Path::new(path));
        assert_eq!(
            rel_path(root, path),
            rel_path_by_components(root, path),
            "{path:?}"
        );
    }
}

#[test]
fn classification_by_name() {
    assert!(matches!(
        classify("main.rs"),
        Some(Class::Source(SourceKind::Rust))
    ));
    assert!(classify("handler_test.go").is_none());
    assert!(classify("test_app.py").is_none());
    assert!(classify("app.spec.ts").is_none());
    assert!(classify("logo.png").is_none());
    assert!(matches!(
        classify("requirements-prod.txt"),
        Some(Class::Manifest(ManifestKind::Requirements))
    ));
    assert!(matches!(
        classify("Api.csproj"),
        Some(Class::Manifest(ManifestKind::Csproj))
    ));
    assert!(matches!(classify("deploy.yaml"), Some(Class::Yaml)));
    assert!(classify("tracegate.yaml").is_none());
}

#[test]
fn requirements_folders_are_manifests_of_their_parent() {
    let requirements =
        |class: Option<Class>| matches!(class, Some(Class::Manifest(ManifestKind::Requirements)));
    assert!(requirements(classify_path(
        Path::new("/r/shop/requirements/production.txt"),
        "production.txt"
    )));
    assert!(requirements(classify_path(
        Path::new("requirements/base.txt"),
        "base.txt"
    )));
    assert!(requirements(classify_path(
        Path::new("/r/shop/requirements/base.in"),
        "base.in"
    )));
    assert!(requirements(classify("requirements.in")));
    // Elsewhere a .txt is nothing; a folder's other files are what their names say.
    assert!(classify_path(Path::new("/r/shop/docs/production.txt"), "production.txt").is_none());
    assert!(classify_path(Path::new("/r/requirements/README.md"), "README.md").is_none());
    let class = Class::Manifest(ManifestKind::Requirements);
    assert_eq!(manifest_dir("shop/requirements/base.txt", class), "shop");
    assert_eq!(manifest_dir("requirements/base.txt", class), ".");
    assert_eq!(manifest_dir("shop/requirements.txt", class), "shop");
    assert_eq!(
        manifest_dir("shop/requirements/x/base.txt", class),
        "shop/requirements/x"
    );
    assert_eq!(
        manifest_dir("shop/requirements/base.txt", Class::Dockerfile),
        "shop/requirements"
    );
}

#[test]
fn node_shebangs() {
    for yes in [
        "#!/usr/bin/env node\n",
        "#!/usr/local/bin/node --max-old-space-size=4096\nx",
        "#!/usr/bin/env -S node --experimental-vm-modules\n",
        "#!/usr/bin/env -u DEBUG node\n",
        "#!/usr/bin/env -i PATH=/usr/bin --chdir /srv node app.js\n",
        "#!/usr/bin/env --unset=DEBUG -uNODE_ENV node\n",
        "#! /usr/bin/nodejs",
    ] {
        assert!(is_node_shebang(yes.as_bytes()), "{yes}");
    }
    for no in [
        "#!/bin/sh\nnode server.js\n",
        "#!/usr/bin/env nodemon\n",
        "#!/usr/bin/env python3\n",
        "#!/home/node/venv/bin/python3\n",
        "#!/usr/bin/env NODE_ENV=production python3\n",
        "#!/usr/bin/env -u node python3\n",
        "// #!/usr/bin/env node\n",
        "\u{7f}ELF",
        "",
    ] {
        assert!(!is_node_shebang(no.as_bytes()), "{no}");
    }
}

#[test]
fn utf16_with_a_byte_order_mark_is_text() {
    let mut le = vec![0xFF, 0xFE];
    le.extend("pytest==8.0\r\n".encode_utf16().flat_map(u16::to_le_bytes));
    assert_eq!(text_of(le).unwrap(), "pytest==8.0\r\n");
    let mut be = vec![0xFE, 0xFF];
    be.extend("flask".encode_utf16().flat_map(u16::to_be_bytes));
    assert_eq!(text_of(be).unwrap(), "flask");
    assert_eq!(text_of(b"ab\0c".to_vec()), Err("binary content"));
    assert_eq!(text_of(b"caf\xe9".to_vec()).unwrap(), "caf\u{fffd}");
}

#[test]
fn skip_dirs_keep_rust_bin() {
    assert!(skip_dir(Path::new("svc/node_modules")));
    assert!(!skip_dir(Path::new("svc/src/bin")));
    assert!(!skip_dir(Path::new("svc/src")));
}

#[test]
fn bin_and_obj_are_skipped_only_beside_a_dotnet_project() {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    for d in ["Api/bin", "Api/obj", "web/bin", "tool/obj"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
    }
    std::fs::write(root.join("Api/Api.csproj"), "<Project/>").unwrap();
    std::fs::write(root.join("web/package.json"), "{}").unwrap();
    assert!(skip_dir(&root.join("Api/bin")));
    assert!(skip_dir(&root.join("Api/obj")));
    assert!(!skip_dir(&root.join("web/bin")));
    assert!(!skip_dir(&root.join("tool/obj")));
}

#[test]
fn test_files_by_name_in_each_ecosystem() {
    use super::classify::is_test_file;
    for name in [
        "handler_test.go",
        "test_orders.py",
        "orders_test.py",
        "conftest.py",
        "cart.test.ts",
        "cart.spec.js",
        "checkout.e2e.ts",
        "a.test.",
        "OrderServiceTest.java",
        "OrderServiceTests.kt",
        "OrderIT.java",
        "CartTests.cs",
    ] {
        assert!(is_test_file(name), "{name}");
    }
    for name in [
        "main.go",
        "testing.py",
        "test_helpers.go",
        "contest.py",
        "cart.testing.ts",
        "latest.ts",
        ".test",
        "spec.ts",
        "e2e.js",
        "Testimonial.java",
        "",
    ] {
        assert!(!is_test_file(name), "{name}");
    }
}

#[test]
fn relative_paths_are_cut_from_the_root_or_rebuilt_by_components() {
    let root = Path::new("/repo");
    for (path, want) in [
        ("/repo/services/cart/main.go", "services/cart/main.go"),
        ("/repo/a", "a"),
        ("/repo/./a/../b", "a/../b"),
        ("/repo/a//b", "a/b"),
        ("/repo/a/./b", "a/b"),
        ("/repo/.hidden/x", ".hidden/x"),
        ("/repo/..x/y", "..x/y"),
        ("/repo", "."),
    ] {
        assert_eq!(rel_path(root, Path::new(path)), want, "{path}");
    }
}
