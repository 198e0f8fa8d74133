use super::*;
use crate::check::inputs::manifests::gradle_lex::statements;

fn read(text: &str) -> Included {
    included(&statements(text))
}

fn dir(project: &str, dir: &str) -> Reference {
    Reference::ProjectDir {
        project: project.into(),
        dir: dir.into(),
    }
}

fn listing(d: &str, project: &str, placed: Option<&str>) -> Reference {
    Reference::ProjectDirsIn {
        dir: d.into(),
        project: project.into(),
        placed: placed.map(String::from),
    }
}

#[test]
fn literal_lists_in_loops_place_their_projects() {
    let got = read(
        r#"rootProject.name = "shop"
listOf("orders", "payments").forEach { name ->
    include(name)
    project(":$name").projectDir = file("services/$name")
}
['otel-tracing'].each { include ":libs:$it" }
val tools = listOf("loadgen")
tools.forEach { include("tools:$it") }
"#,
    );
    assert_eq!(
        got.uses,
        [
            dir(":orders", "services/orders"),
            dir(":payments", "services/payments"),
            dir(":libs:otel-tracing", "libs/otel-tracing"),
            dir(":tools:loadgen", "tools/loadgen"),
        ]
    );
    assert!(got.notes.is_empty(), "{:?}", got.notes);
}

#[test]
fn directory_listings_include_their_subdirectories() {
    let cases = [
        (
            "file(\"services\").listFiles()?.filter { File(it, \"build.gradle.kts\").exists() }?.forEach {\n    include(it.name)\n    project(\":${it.name}\").projectDir = it\n}\n",
            listing("services", ":*", Some("services/*")),
        ),
        (
            "rootDir.listFiles()?.filter { File(it, \"build.gradle.kts\").exists() }?.forEach { subproject ->\n    include(subproject.name)\n}\n",
            listing("", ":*", None),
        ),
        (
            "rootDir\n    .walk()\n    .maxDepth(1)\n    .filter {\n        it.name != \"buildSrc\" && it.isDirectory\n    }\n    .forEach {\n        include(\":${it.name}\")\n    }\n",
            listing("", ":*", None),
        ),
        (
            "new File(rootDir, 'services').eachDir { dir ->\n    include \":services:${dir.name}\"\n}\n",
            listing("services", ":services:*", None),
        ),
        (
            "rootDir.resolve(\"libs\").listFiles()!!.forEach {\n    include(\"libs-${it.name}\")\n    project(\":libs-${it.name}\").projectDir = file(\"libs/${it.name}\")\n}\n",
            listing("libs", ":libs-*", Some("libs/*")),
        ),
    ];
    for (text, want) in cases {
        let got = read(text);
        assert_eq!(got.uses, [want], "{text}");
        assert!(got.notes.is_empty(), "{text}: {:?}", got.notes);
    }
}

#[test]
fn loops_that_cannot_be_followed_are_notes() {
    let got = read(
        "rootProject.name = \"parent\"\n\nfileTree(\".\") {\n    include(\"**/build.gradle.kts\")\n}.map {\n    relativePath(it.parent).replace(File.separator, \":\")\n}.forEach {\n    include(it)\n}\n",
    );
    assert!(got.uses.is_empty(), "{:?}", got.uses);
    assert_eq!(got.notes.len(), 1, "{:?}", got.notes);
    assert!(got.notes[0].0.contains("cannot follow"), "{:?}", got.notes);
    // A walk down the whole tree, a computed name.
    for text in [
        "rootDir.walk().filter { it.isDirectory }.forEach { include(it.name) }\n",
        "modules().forEach { include(it) }\n",
        "listOf(\"a\").forEach { include(prefix + it) }\n",
    ] {
        let got = read(text);
        assert!(got.uses.is_empty(), "{text}: {:?}", got.uses);
        assert_eq!(got.notes.len(), 1, "{text}: {:?}", got.notes);
    }
    // A loop that includes nothing is no note; literal includes are no note.
    for text in [
        "listOf(\"a\").forEach { println(it) }\n",
        "include(\"a\", \"b\")\ninclude(*arrayOf(\"c\", \"d\"))\ninclude 'e', 'f'\n",
    ] {
        assert_eq!(read(text), Included::default(), "{text}");
    }
    assert_eq!(read("include(*computed())\n").notes.len(), 1);
}
