//! `tracegate check` on a terminal: colour (`--color`, `NO_COLOR`, `CLICOLOR_FORCE`, a real
//! pseudo-terminal), width (`COLUMNS`), `--quiet`, and the format `--output FILE` implies; and
//! `rules list`/`rules explain`, which follow the same conventions.
#![allow(clippy::unwrap_used)]

use std::path::PathBuf;
use std::process::Output;

use assert_cmd::Command;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `tracegate check fixtures/monorepo ARGS` from the repository root, with no colour or width
/// settings inherited from the terminal running the tests.
fn check(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::cargo_bin("tracegate").unwrap();
    cmd.arg("check")
        .arg("fixtures/monorepo")
        .args(args)
        .current_dir(repo());
    for var in ["COLUMNS", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.output().unwrap()
}

fn stdout(out: &Output) -> String {
    String::from_utf8(out.stdout.clone()).unwrap()
}

fn width(line: &str) -> usize {
    line.chars().count()
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters final-byte
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[test]
fn at_80_columns_nothing_is_wider_and_the_layout_is_the_snapshot() {
    let out = check(&["--format", "table"], &[("COLUMNS", "80")]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(!text.contains('\u{1b}'), "colour into a pipe: {text}");
    for line in text.lines() {
        assert!(width(line) <= 80, "{} wide: {line:?}", width(line));
    }
    insta::assert_snapshot!("monorepo_table_80", text);
}

#[test]
fn at_160_columns_with_colour_the_layout_is_the_snapshot() {
    let out = check(
        &["--format", "table", "--color", "always"],
        &[("COLUMNS", "160"), ("NO_COLOR", "1")],
    );
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    // --color always wins over NO_COLOR (no-color.org: a flag overrides the variable).
    assert!(text.contains("\u{1b}[1m\u{1b}[31merror\u{1b}[0m"), "{text}");
    for line in text.lines() {
        let plain = strip_ansi(line);
        assert!(width(&plain) <= 160, "{} wide: {plain:?}", width(&plain));
    }
    insta::assert_snapshot!("monorepo_table_160_colour", text.replace('\u{1b}', "␛"));
}

#[test]
fn colour_auto_follows_no_color_and_clicolor_force() {
    // Not a terminal: no colour.
    let plain = stdout(&check(&["--format", "table"], &[]));
    assert!(!plain.contains('\u{1b}'), "{plain}");
    // CLICOLOR_FORCE forces it even into a pipe...
    let forced = stdout(&check(&["--format", "table"], &[("CLICOLOR_FORCE", "1")]));
    assert!(forced.contains('\u{1b}'), "{forced}");
    // ...unless NO_COLOR is set (non-empty).
    let no_color = stdout(&check(
        &["--format", "table", "--color", "auto"],
        &[("CLICOLOR_FORCE", "1"), ("NO_COLOR", "1")],
    ));
    assert!(!no_color.contains('\u{1b}'), "{no_color}");
    // --color never wins over everything.
    let never = stdout(&check(
        &["--format", "table", "--color", "never"],
        &[("CLICOLOR_FORCE", "1")],
    ));
    assert!(!never.contains('\u{1b}'), "{never}");
    // Colour changes nothing but the escapes.
    assert_eq!(strip_ansi(&forced), plain);
}

/// On a real pseudo-terminal (`script` from util-linux): the table is the default, coloured,
/// and sized to the terminal; `NO_COLOR=1` turns the colour off.
#[test]
fn on_a_terminal_the_table_is_coloured_unless_no_color() {
    let bin = assert_cmd::cargo::cargo_bin("tracegate");
    let run = |no_color: bool| {
        let command = format!(
            "stty rows 50 cols 100; {} check fixtures/monorepo",
            bin.display()
        );
        let mut cmd = std::process::Command::new("script");
        cmd.args(["-qec", &command, "/dev/null"])
            .current_dir(repo())
            .env("TERM", "xterm-256color");
        for var in ["COLUMNS", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "CI"] {
            cmd.env_remove(var);
        }
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().expect("`script` (util-linux) runs");
        assert_eq!(out.status.code(), Some(1), "{out:?}");
        String::from_utf8(out.stdout).unwrap().replace("\r\n", "\n")
    };
    let coloured = run(false);
    assert!(coloured.contains("\u{1b}[1m\u{1b}[31merror"), "{coloured}");
    assert!(
        coloured.contains("┌"),
        "not the table on a terminal: {coloured}"
    );
    for line in strip_ansi(&coloured).lines() {
        assert!(width(line) <= 100, "{} wide: {line:?}", width(line));
    }
    let plain = run(true);
    assert!(!plain.contains('\u{1b}'), "{plain}");
    assert_eq!(plain, strip_ansi(&coloured));
}

#[test]
fn quiet_shows_the_failures_and_the_summary_only() {
    let out = check(&["--format", "table", "--quiet"], &[]);
    assert_eq!(out.status.code(), Some(1));
    let text = stdout(&out);
    assert!(text.contains("cart/main.go:15  error TG102"), "{text}");
    for hidden in ["pricing", "legacy-billing", "TG100", "┌", "infrastructure"] {
        assert!(!text.contains(hidden), "{hidden} in {text}");
    }
    assert!(
        text.ends_with("failing: accounts, cart, shipping, checkout-web, the repository\n"),
        "{text}"
    );
    // --verbose shows the note of the service not analysed.
    let verbose = stdout(&check(&["--format", "table", "--verbose"], &[]));
    assert!(
        verbose.contains("legacy-billing/CMakeLists.txt  note TG100"),
        "{verbose}"
    );
    check_fails_with_2(&["--quiet", "--verbose"], "cannot be used with");
}

fn check_fails_with_2(args: &[&str], message: &str) {
    let out = check(args, &[]);
    assert_eq!(out.status.code(), Some(2), "{out:?}");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains(message), "{stderr}");
    assert!(out.stdout.is_empty());
}

#[test]
fn output_infers_the_format_from_the_extension() {
    let dir = tempfile::tempdir().unwrap();
    let path = |name: &str| dir.path().join(name).to_string_lossy().into_owned();
    for (name, expect) in [
        ("r.sarif", "\"version\": \"2.1.0\""),
        ("r.sarif.json", "\"version\": \"2.1.0\""),
        ("r.json", "\"summary\""),
        ("r.xml", "<testsuites"),
        ("r.md", "## tracegate check"),
        ("r.txt", "failing: accounts"),
    ] {
        let out = check(&["--output", &path(name)], &[("CLICOLOR_FORCE", "1")]);
        assert_eq!(out.status.code(), Some(1), "{name}: {out:?}");
        let written = std::fs::read_to_string(path(name)).unwrap();
        assert!(written.contains(expect), "{name}: {written}");
        if name == "r.sarif.json" || name == "r.sarif" {
            assert!(!written.contains("\"summary\""), "{name}: JSON, not SARIF");
        }
        // A file gets no colour unless --color always asks for it.
        assert!(!written.contains('\u{1b}'), "{name}: colour in a file");
    }
    // An explicit --format wins over the extension.
    let out = check(
        &["--format", "json", "--output", &path("forced.sarif")],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    let written = std::fs::read_to_string(path("forced.sarif")).unwrap();
    assert!(written.contains("\"summary\""), "{written}");
    // An unknown extension is refused before any work, naming it and --format.
    let weird = path("r.weird");
    check_fails_with_2(&["-o", &weird], "extension .weird names no format");
    check_fails_with_2(&["-o", &weird], "--format");
    assert!(!std::path::Path::new(&weird).exists());
    check_fails_with_2(&["-o", &path("report")], "no extension");
}

/// `verify`/`demo` share `--color` and the width: the verdict table at COLUMNS, coloured on
/// demand (and the summary's PASSED/FAILED).
#[test]
fn demo_table_takes_color_and_columns() {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["demo", "--color", "always"])
        .env("COLUMNS", "80")
        .env("NO_COLOR", "1")
        .timeout(std::time::Duration::from_secs(60))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{out:?}");
    let text = stdout(&out);
    assert!(text.contains("\u{1b}[1m\u{1b}[32mPASS\u{1b}[0m"), "{text}");
    assert!(
        text.contains("\u{1b}[1m\u{1b}[32mPASSED\u{1b}[0m:"),
        "{text}"
    );
    let plain = strip_ansi(&text);
    let table: Vec<&str> = plain.lines().filter(|l| l.starts_with('│')).collect();
    assert!(!table.is_empty(), "{plain}");
    for line in table {
        assert!(width(line) <= 80, "{} wide: {line}", width(line));
    }
}

/// `tracegate ARGS` with only the given colour and width settings.
fn tracegate(args: &[&str], env: &[(&str, &str)]) -> String {
    let mut cmd = Command::cargo_bin("tracegate").unwrap();
    cmd.args(args).current_dir(repo());
    for var in ["COLUMNS", "NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE"] {
        cmd.env_remove(var);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{args:?}");
    stdout(&out)
}

/// `rules list` and `rules explain` follow the same conventions: the table and the prose fit
/// COLUMNS (prose reflowed, the example kept as written), severities coloured with `--color
/// always`; into a pipe without COLUMNS, as wide as they are and plain.
#[test]
fn rules_list_and_explain_fit_the_width_and_colour_severities() {
    for args in [&["rules", "list"][..], &["rules", "explain", "TG102"]] {
        let narrow = tracegate(args, &[("COLUMNS", "80")]);
        for line in narrow.lines() {
            assert!(
                width(line) <= 80,
                "{args:?}: {} wide: {line:?}",
                width(line)
            );
        }
        let wide = tracegate(args, &[]);
        assert!(wide.lines().any(|l| width(l) > 80), "{args:?} unwrapped");
        assert!(!wide.contains('\u{1b}') && !narrow.contains('\u{1b}'));
        // the same text either way (a word wider than a line is cut at its punctuation)
        if args[1] == "explain" {
            let letters = |s: &str| s.split_whitespace().collect::<String>();
            assert_eq!(letters(&narrow), letters(&wide), "{args:?}");
        }
    }
    let coloured = tracegate(
        &["rules", "list", "--color", "always"],
        &[("COLUMNS", "80")],
    );
    assert!(
        coloured.contains("\u{1b}[1m\u{1b}[31merror\u{1b}[0m"),
        "{coloured}"
    );
    assert!(coloured.contains("\u{1b}[36mnote\u{1b}[0m"), "{coloured}");
    let auto = tracegate(&["rules", "list", "--color", "auto"], &[("NO_COLOR", "1")]);
    assert!(!auto.contains('\u{1b}'));
}
