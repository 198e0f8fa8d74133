//! Source files the pre-filter lets through wait here, grouped by language, and are parsed a
//! group at a time. A grammar's parse tables and code stay in the CPU caches while a run of its
//! files is parsed back to back; parsing each file as it is read, between the reads of others,
//! costs about a quarter more CPU time (BENCHMARKS.md). Each reading thread has its own groups.

use super::visit::parse_source;
use super::WalkedFile;
use crate::check::inputs::interest::Interest;
use crate::check::inputs::lang::SourceKind;

/// A group is parsed when it holds this many files… (on the benchmark monorepo, groups of 32
/// files gave two thirds of the gain, 128 all of it)
const GROUP_FILES: usize = 128;
/// …or this many bytes of text (a thread holds at most a few of these, plus one file).
const GROUP_BYTES: usize = 1 << 20;

/// A source file read and decoded, waiting to be parsed.
pub(super) struct ToParse {
    pub(super) kind: SourceKind,
    pub(super) rel: String,
    pub(super) dir: String,
    pub(super) text: String,
}

struct Group {
    kind: SourceKind,
    files: Vec<ToParse>,
    bytes: usize,
}

/// One reading thread's files waiting to be parsed, a group per language.
#[derive(Default)]
pub(super) struct ParseGroups {
    groups: Vec<Group>,
}

impl ParseGroups {
    /// Queue `file`; when its group is full, parse the group into `out`.
    pub(super) fn push(&mut self, file: ToParse, interest: &Interest, out: &mut Vec<WalkedFile>) {
        let at = match self.groups.iter().position(|g| g.kind == file.kind) {
            Some(at) => at,
            None => {
                self.groups.push(Group {
                    kind: file.kind,
                    files: Vec::with_capacity(GROUP_FILES),
                    bytes: 0,
                });
                self.groups.len() - 1
            }
        };
        let group = &mut self.groups[at];
        group.bytes += file.text.len();
        group.files.push(file);
        if group.files.len() >= GROUP_FILES || group.bytes >= GROUP_BYTES {
            group.parse_into(interest, out);
        }
    }

    /// Parse every file still waiting into `out`.
    pub(super) fn finish(mut self, interest: &Interest, out: &mut Vec<WalkedFile>) {
        for group in &mut self.groups {
            group.parse_into(interest, out);
        }
    }
}

impl Group {
    fn parse_into(&mut self, interest: &Interest, out: &mut Vec<WalkedFile>) {
        for file in self.files.drain(..) {
            let parsed = parse_source(file.kind, &file.rel, &file.text, interest);
            out.push(WalkedFile {
                rel: file.rel,
                dir: file.dir,
                parsed,
            });
        }
        self.bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::inputs::discover::Parsed;

    fn file(kind: SourceKind, rel: &str, text: &str) -> ToParse {
        ToParse {
            kind,
            rel: rel.into(),
            dir: ".".into(),
            text: text.into(),
        }
    }

    #[test]
    fn a_group_is_parsed_when_full_and_the_rest_at_finish() {
        let interest = Interest::everything();
        let mut groups = ParseGroups::default();
        let mut out = Vec::new();
        for i in 0..GROUP_FILES - 1 {
            groups.push(
                file(SourceKind::Go, &format!("g{i}.go"), "package main\n"),
                &interest,
                &mut out,
            );
        }
        groups.push(
            file(SourceKind::Python, "a.py", "import os\n"),
            &interest,
            &mut out,
        );
        assert!(out.is_empty(), "no group is full yet");
        groups.push(
            file(SourceKind::Go, "last.go", "package main\n"),
            &interest,
            &mut out,
        );
        assert_eq!(out.len(), GROUP_FILES, "the full Go group was parsed");
        assert!(out.iter().all(|f| f.rel.ends_with(".go")));
        groups.finish(&interest, &mut out);
        assert_eq!(out.len(), GROUP_FILES + 1);
        let python = out.iter().find(|f| f.rel == "a.py").map(|f| &f.parsed);
        assert!(
            matches!(python, Some(Parsed::Source { kind: SourceKind::Python, facts }) if !facts.unparsed),
            "{python:?}"
        );
    }

    #[test]
    fn a_group_is_parsed_when_its_bytes_reach_the_limit() {
        let interest = Interest::everything();
        let mut groups = ParseGroups::default();
        let mut out = Vec::new();
        let big = format!("package main\n// {}\n", "x".repeat(GROUP_BYTES));
        groups.push(file(SourceKind::Go, "big.go", &big), &interest, &mut out);
        assert_eq!(out.len(), 1);
    }
}
