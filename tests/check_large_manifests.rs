//! Large manifests are located in one pass (issue #15: a Cargo.toml with 100,000 dependencies
//! took 27 s, a 1.4 MB package.json over a minute): every dependency is reported at the line of
//! its key. Timings are in BENCHMARKS.md (`bench/manifest-lines.sh`), not asserted here.
#![allow(clippy::unwrap_used)]

use tracegate::check::facts::FactKind;
use tracegate::check::inputs::manifests::{parse, ManifestKind};

/// `(name, line)` of every dependency fact, in order.
fn dependencies(kind: ManifestKind, rel: &str, text: &str) -> Vec<(String, u32)> {
    parse(kind, rel, text)
        .unwrap()
        .facts
        .into_iter()
        .filter_map(|f| match f.kind {
            FactKind::Dependency { name } => Some((name, f.line)),
            _ => None,
        })
        .collect()
}

#[test]
fn a_cargo_toml_with_100000_dependencies_reports_each_at_its_line() {
    let header = "[package]\nname = \"big\"\nversion = \"0.1.0\"\n\n[dependencies]\n";
    let mut text = header.to_string();
    for i in 0..100_000 {
        text.push_str(&format!("dep-{i} = \"1\"\n"));
    }
    let found = dependencies(ManifestKind::Cargo, "big/Cargo.toml", &text);
    assert_eq!(found.len(), 100_000);
    let first_line = header.lines().count() as u32 + 1;
    let mut expected: Vec<(String, u32)> = (0..100_000u32)
        .map(|i| (format!("dep-{i}"), first_line + i))
        .collect();
    let mut found_sorted = found;
    found_sorted.sort();
    expected.sort();
    assert_eq!(found_sorted, expected);
}

#[test]
fn a_1_4_mb_package_json_reports_each_dependency_at_its_line() {
    let count = 40_000u32;
    let mut text = String::from(
        "{\n  \"name\": \"big\",\n  \"scripts\": { \"start\": \"node index.js\" },\n  \"dependencies\": {\n",
    );
    for i in 0..count {
        let comma = if i + 1 < count { "," } else { "" };
        text.push_str(&format!("    \"package-number-{i}\": \"^1.0.0\"{comma}\n"));
    }
    text.push_str("  }\n}\n");
    assert!(text.len() > 1_400_000, "{}", text.len());
    let mut found = dependencies(ManifestKind::Npm, "web/package.json", &text);
    found.sort();
    let mut expected: Vec<(String, u32)> = (0..count)
        .map(|i| (format!("package-number-{i}"), 5 + i))
        .collect();
    expected.sort();
    assert_eq!(found, expected);
}

/// The same one-pass lookup for pyproject.toml (names found case-insensitively, `_` as `-`),
/// pom.xml and csproj.
#[test]
fn pyproject_pom_and_csproj_dependencies_keep_their_lines() {
    let count = 5_000u32;
    let mut py = String::from("[project]\nname = \"big\"\ndependencies = [\n");
    for i in 0..count {
        py.push_str(&format!("  \"Pkg_{i}x>=1\",\n"));
    }
    py.push_str("]\n");
    let found = dependencies(ManifestKind::Pyproject, "p/pyproject.toml", &py);
    let expected: Vec<(String, u32)> = (0..count).map(|i| (format!("pkg-{i}x"), 4 + i)).collect();
    assert_eq!(found, expected);

    let mut pom = String::from("<project>\n  <artifactId>big</artifactId>\n  <dependencies>\n");
    for i in 0..count {
        pom.push_str(&format!(
            "    <dependency><groupId>g</groupId><artifactId>a{i}</artifactId></dependency>\n"
        ));
    }
    pom.push_str("  </dependencies>\n</project>\n");
    let found = dependencies(ManifestKind::Maven, "j/pom.xml", &pom);
    let expected: Vec<(String, u32)> = (0..count).map(|i| (format!("g:a{i}"), 4 + i)).collect();
    assert_eq!(found, expected);

    let mut csproj = String::from("<Project Sdk=\"Microsoft.NET.Sdk.Web\">\n  <ItemGroup>\n");
    for i in 0..count {
        csproj.push_str(&format!(
            "    <PackageReference Include=\"P{i}\" Version=\"1\" />\n"
        ));
    }
    csproj.push_str("  </ItemGroup>\n</Project>\n");
    let found = dependencies(ManifestKind::Csproj, "d/D.csproj", &csproj);
    let expected: Vec<(String, u32)> = (0..count).map(|i| (format!("P{i}"), 3 + i)).collect();
    assert_eq!(found, expected);
}
