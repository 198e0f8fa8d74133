//! The source pre-filter: decide from a source file's bytes, before parsing it, whether it can
//! yield a fact some rule uses. One case-insensitive multi-pattern search finds every needle;
//! each occurrence is then checked the way the fact would have to be written, and a file is
//! parsed only if a whole combination is there:
//!
//! - **calls and symbols**: every segment of some rule pattern (`propagation`,
//!   `TraceContext`), each with its exact case and as a whole name (not inside a longer
//!   identifier: `http` in `httpClient` or `Client` in `ClientId` does not count). Facts' path
//!   segments are pieces of names and import paths as written, so a fact matching a pattern
//!   implies all of them in the text.
//! - **span data** (the security rules): something that can record an attribute in that
//!   language (`attribute`, `event`, `span`, `tag`, `baggage`; in Rust `record`, `KeyValue`,
//!   `#[instrument]`, tracing macros such as `info!`) *and* something those rules flag: every
//!   token of a listed word (`card` and `number` for `card_number`), an e-mail-shaped `@` (a
//!   `.` after it before the next space: an annotation `@Override` is not), or a
//!   `Bearer `/`Basic ` prefix. Attribute keys and values are text of the file, so a finding
//!   implies both parts.
//!
//! The search is plain bytes; a file it lets through is parsed as before, so the findings are
//! the same with and without it. The search is one DFA run over four stretches of the file
//! at once ([`Prefilter::scan`]): a DFA step waits on the one before it, so four independent
//! runs keep the processor busy where one would stall (2.4 times the bytes per second). The
//! DFA is stepped through a transition table of its own ([`table`]).

mod table;

use aho_corasick::dfa::DFA;
use aho_corasick::MatchKind;

use crate::check::inputs::lang::SourceKind;
use table::Table;

/// How an occurrence of a needle (found case-insensitively) must look to count.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Check {
    /// Exactly this text (case included), not inside a longer identifier.
    Name(String),
    /// Anywhere, any case.
    Anywhere,
    /// Followed (after optional whitespace) by `!`: a Rust macro call.
    Bang,
    /// An `@` with a `.` after it before the next space.
    Email,
    /// Exactly this text, case included (`Bearer `).
    Exact(String),
}

/// The compiled pre-filter (see the module documentation).
#[derive(Debug)]
pub struct Prefilter {
    search: Table,
    /// The needles, in pattern order (lower case), for tests.
    #[cfg(test)]
    needles: Vec<String>,
    /// Per needle: the checks an occurrence may pass, each with the bit it sets; in Rust
    /// files, and in the others (without the checks only the other language's recorders use:
    /// `error` followed by `!` is no recorder in Java).
    checks_rust: Vec<Vec<(Check, usize)>>,
    checks_other: Vec<Vec<(Check, usize)>>,
    bits: usize,
    /// Call/symbol patterns: all bits needed.
    patterns: Vec<Vec<usize>>,
    /// Per bit: the patterns it is part of (to stop at the first complete one).
    in_patterns: Vec<Vec<usize>>,
    /// Words the security rules flag: all bits needed (one per token).
    sensitive: Vec<Vec<usize>>,
    /// Literal values flagged by their shape (e-mail, `Bearer `, `Basic `).
    literal: Vec<usize>,
    /// What can record an attribute: Rust, other languages.
    record_rust: Vec<usize>,
    record_other: Vec<usize>,
}

#[derive(Default)]
struct Builder {
    needles: Vec<String>,
    checks: Vec<Vec<(Check, usize)>>,
    bits: Vec<(String, Check)>,
}

impl Builder {
    /// The bit set by `needle` passing `check` (shared by equal requests).
    fn bit(&mut self, needle: &str, check: Check) -> usize {
        let lower = needle.to_ascii_lowercase();
        if let Some(b) = self
            .bits
            .iter()
            .position(|(n, c)| *n == lower && *c == check)
        {
            return b;
        }
        let b = self.bits.len();
        self.bits.push((lower.clone(), check.clone()));
        match self.needles.iter().position(|n| *n == lower) {
            Some(i) => self.checks[i].push((check, b)),
            None => {
                self.needles.push(lower);
                self.checks.push(vec![(check, b)]);
            }
        }
        b
    }
}

/// Rust attribute recorders: calls and attributes (any case, anywhere), and tracing macros.
const RECORD_RUST: &[&str] = &["attribute", "record", "keyvalue", "instrument"];
const RECORD_RUST_MACROS: &[&str] = &["span", "event", "trace", "debug", "info", "warn", "error"];
/// Other languages: a call whose name contains one of these records attributes.
const RECORD_OTHER: &[&str] = &["attribute", "event", "span", "tag", "baggage"];

impl Prefilter {
    /// From the call/symbol patterns (segments) and the words the span-data rules flag.
    /// `None` when the search cannot be built (then every file is parsed).
    pub fn new<'p, 'w>(
        patterns: impl IntoIterator<Item = &'p [String]>,
        attribute_words: impl IntoIterator<Item = &'w str>,
    ) -> Option<Prefilter> {
        let mut b = Builder::default();
        let mut compiled: Vec<Vec<usize>> = Vec::new();
        for p in patterns {
            let mut bits: Vec<usize> = p
                .iter()
                .filter(|s| !s.is_empty())
                .map(|s| b.bit(s, Check::Name(s.clone())))
                .collect();
            bits.sort_unstable();
            bits.dedup();
            if !bits.is_empty() && !compiled.contains(&bits) {
                compiled.push(bits);
            }
        }
        let mut sensitive: Vec<Vec<usize>> = Vec::new();
        for w in attribute_words {
            let mut bits: Vec<usize> = crate::check::facts::tokens(w)
                .iter()
                .map(|t| b.bit(t, Check::Anywhere))
                .collect();
            bits.sort_unstable();
            bits.dedup();
            if !bits.is_empty() && !sensitive.contains(&bits) {
                sensitive.push(bits);
            }
        }
        let literal = vec![
            b.bit("@", Check::Email),
            b.bit("bearer ", Check::Exact("Bearer ".into())),
            b.bit("basic ", Check::Exact("Basic ".into())),
        ];
        let mut record_rust: Vec<usize> = RECORD_RUST
            .iter()
            .map(|w| b.bit(w, Check::Anywhere))
            .collect();
        record_rust.extend(RECORD_RUST_MACROS.iter().map(|w| b.bit(w, Check::Bang)));
        let record_other: Vec<usize> = RECORD_OTHER
            .iter()
            .map(|w| b.bit(w, Check::Anywhere))
            .collect();
        // A few hundred needles: a full DFA is small and the fastest to run. Copied into a
        // table stepped by hand (`scan`), so no prefilter of its own.
        let search = DFA::builder()
            .ascii_case_insensitive(true)
            .match_kind(MatchKind::Standard)
            .prefilter(false)
            .build(&b.needles)
            .ok()?;
        let search = Table::new(&search, &b.needles)?;
        let mut in_patterns = vec![Vec::new(); b.bits.len()];
        for (i, p) in compiled.iter().enumerate() {
            for bit in p {
                in_patterns[*bit].push(i);
            }
        }
        // The bits each kind of file uses: the call/symbol patterns', the flagged words' and
        // literals', and its own recorders'.
        let checks_for = |recorders: &[usize]| {
            let mut used = vec![false; b.bits.len()];
            let common = compiled.iter().chain(&sensitive).flatten().chain(&literal);
            for bit in common.chain(recorders) {
                used[*bit] = true;
            }
            b.checks
                .iter()
                .map(|c| c.iter().filter(|(_, bit)| used[*bit]).cloned().collect())
                .collect::<Vec<Vec<(Check, usize)>>>()
        };
        let checks_rust = checks_for(&record_rust);
        let checks_other = checks_for(&record_other);
        Some(Prefilter {
            search,
            checks_rust,
            checks_other,
            #[cfg(test)]
            needles: b.needles.clone(),
            in_patterns,
            bits: b.bits.len(),
            patterns: compiled,
            sensitive,
            literal,
            record_rust,
            record_other,
        })
    }

    /// Whether a source file of this kind may yield a fact some rule uses.
    pub fn may_matter(&self, kind: SourceKind, bytes: &[u8]) -> bool {
        let mut seen = vec![false; self.bits];
        // Per stretch: no `.` between here and the next space (keeps the e-mail test linear).
        let mut no_dot_until = [0; STRETCHES];
        let checks = match kind {
            SourceKind::Rust => &self.checks_rust,
            _ => &self.checks_other,
        };
        let complete = self.scan(bytes, |pattern, start, end, stretch| {
            for (check, bit) in &checks[pattern] {
                if !seen[*bit] && passes(check, bytes, start, end, &mut no_dot_until[stretch]) {
                    seen[*bit] = true;
                    let complete = |p: &usize| self.patterns[*p].iter().all(|b| seen[*b]);
                    if self.in_patterns[*bit].iter().any(complete) {
                        return true;
                    }
                }
            }
            false
        });
        if complete {
            return true;
        }
        let all = |bits: &Vec<usize>| bits.iter().all(|b| seen[*b]);
        let any = |bits: &[usize]| bits.iter().any(|b| seen[*b]);
        let records = match kind {
            SourceKind::Rust => any(&self.record_rust),
            _ => any(&self.record_other),
        };
        records && (any(&self.literal) || self.sensitive.iter().any(all))
    }
}

/// Stretches of a file searched at once (see the module documentation).
const STRETCHES: usize = 4;

impl Prefilter {
    /// Report every occurrence of every needle in `bytes` (overlapping ones included) to
    /// `found(needle, start, end, stretch)` until it returns true; returns whether it did.
    ///
    /// A file of some size is cut into [`STRETCHES`] stretches searched side by side; each
    /// runs on past its end by the longest needle less a byte, so an occurrence starting in it
    /// is reported by it (one starting in the next may be reported twice: `found` must not
    /// mind). Occurrences are not reported in file order.
    fn scan(
        &self,
        bytes: &[u8],
        mut found: impl FnMut(usize, usize, usize, usize) -> bool,
    ) -> bool {
        let t = &self.search;
        let overlap = t.max_len.saturating_sub(1);
        let first_match = t.first_match;
        // `state` was reached on the byte before `end`: report its matches.
        let mut report = |state: u32, end: usize, stretch: usize| {
            t.matches(state)
                .iter()
                .any(|&(needle, len)| found(needle as usize, end - len as usize, end, stretch))
        };
        let len = bytes.len();
        let part = len / STRETCHES;
        if part <= overlap * 2 {
            let mut state = t.start;
            for (i, &byte) in bytes.iter().enumerate() {
                state = t.step(state, byte);
                if state >= first_match && report(state, i + 1, 0) {
                    return true;
                }
            }
            return false;
        }
        let begin: [usize; STRETCHES] = std::array::from_fn(|k| k * part);
        let stretch: [&[u8]; STRETCHES] = std::array::from_fn(|k| {
            let end = if k + 1 == STRETCHES {
                len
            } else {
                ((k + 1) * part + overlap).min(len)
            };
            &bytes[begin[k]..end]
        });
        let common = stretch.iter().map(|s| s.len()).min().unwrap_or(0);
        // The four stretches cut to a common length, zipped: no index to check per byte.
        let [a, b, c, d] = stretch.map(|s| &s[..common]);
        let mut state = [t.start; STRETCHES];
        let quads = a.iter().zip(b).zip(c).zip(d).enumerate();
        for (i, (((&x, &y), &z), &w)) in quads {
            state = [
                t.step(state[0], x),
                t.step(state[1], y),
                t.step(state[2], z),
                t.step(state[3], w),
            ];
            if state.iter().any(|s| *s >= first_match) {
                for (k, s) in state.iter().enumerate() {
                    if *s >= first_match && report(*s, begin[k] + i + 1, k) {
                        return true;
                    }
                }
            }
        }
        for (k, part) in stretch.iter().enumerate() {
            let mut s = state[k];
            for (i, &byte) in part.iter().enumerate().skip(common) {
                s = t.step(s, byte);
                if s >= first_match && report(s, begin[k] + i + 1, k) {
                    return true;
                }
            }
        }
        false
    }
}

fn is_name_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn passes(check: &Check, bytes: &[u8], start: usize, end: usize, no_dot_until: &mut usize) -> bool {
    let found = &bytes[start..end];
    match check {
        Check::Anywhere => true,
        Check::Exact(text) => found == text.as_bytes(),
        Check::Name(text) => {
            found == text.as_bytes()
                && !(start > 0 && is_name_byte(bytes[start - 1]) && is_name_byte(found[0]))
                && !(end < bytes.len()
                    && is_name_byte(bytes[end])
                    && found.last().copied().is_some_and(is_name_byte))
        }
        Check::Bang => bytes[end..]
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'!'),
        Check::Email => {
            if end < *no_dot_until {
                return false;
            }
            let rest = &bytes[end..];
            let stop = rest.iter().position(|b| *b == b' ').unwrap_or(rest.len());
            let dot = rest[..stop].contains(&b'.');
            if !dot {
                *no_dot_until = end + stop;
            }
            dot
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filter() -> Prefilter {
        let patterns: Vec<Vec<String>> = vec![
            vec!["propagation".into(), "TraceContext".into()],
            vec!["http".into(), "Get".into()],
        ];
        Prefilter::new(
            patterns.iter().map(Vec::as_slice),
            ["password", "card_number", "request"],
        )
        .unwrap()
    }

    /// Every occurrence `scan` reports, deduplicated, as (needle, start, end).
    fn scanned(f: &Prefilter, text: &[u8]) -> Vec<(usize, usize, usize)> {
        let mut out = Vec::new();
        f.scan(text, |p, start, end, _| {
            out.push((p, start, end));
            false
        });
        out.sort_unstable();
        out.dedup();
        out
    }

    #[test]
    fn the_stretched_scan_finds_what_one_overlapping_search_finds() {
        let f = filter();
        let reference = aho_corasick::AhoCorasick::builder()
            .ascii_case_insensitive(true)
            .build(&f.needles)
            .unwrap();
        // Short files (one stretch), and long ones whose needles straddle every seam: the
        // text is shifted one byte at a time so each needle crosses each seam somewhere.
        // Needles of every kind of byte: letters in both cases, `@`, a space (`Bearer `), and
        // bytes no needle has (punctuation, UTF-8).
        let unit = "span.SetAttribute(\"user.password\", http.Get(propagation.TraceContext)) \
                    jane@example.org BEARER tok, Basic grüße\t";
        let mut texts: Vec<String> = vec![String::new(), "http".into(), unit.into()];
        for shift in 0..unit.len() {
            texts.push(format!("{}{}", "x".repeat(shift), unit.repeat(9)));
        }
        for text in &texts {
            let mut want: Vec<(usize, usize, usize)> = reference
                .find_overlapping_iter(text.as_bytes())
                .map(|m| (m.pattern().as_usize(), m.start(), m.end()))
                .collect();
            want.sort_unstable();
            assert_eq!(scanned(&f, text.as_bytes()), want, "{text:?}");
        }
        // Stopping early: the first report that asks to stop ends the scan.
        let mut calls = 0;
        assert!(f.scan(texts[5].as_bytes(), |_, _, _, _| {
            calls += 1;
            true
        }));
        assert_eq!(calls, 1);
    }

    #[test]
    fn a_pattern_needs_all_its_segments_as_whole_names() {
        let f = filter();
        let go = SourceKind::Go;
        assert!(f.may_matter(go, b"resp, _ := http.Get(url)"));
        assert!(f.may_matter(go, b"otel.SetTextMapPropagator(propagation.TraceContext{})"));
        // One segment only, or inside longer names, or another case.
        assert!(!f.may_matter(go, b"// see https://example.com/propagation"));
        assert!(!f.may_matter(go, b"httpClient.GetOrder(id)"));
        assert!(!f.may_matter(go, b"x := HTTP.get(url)"));
    }

    #[test]
    fn span_data_needs_a_recorder_and_a_flagged_word() {
        let f = filter();
        let py = SourceKind::Python;
        assert!(f.may_matter(py, b"span.set_attribute('user.password', p)"));
        assert!(f.may_matter(py, b"span.set_attribute('card.number', n)"));
        assert!(f.may_matter(py, b"span.set_attribute('contact', 'jane@example.com')"));
        assert!(f.may_matter(py, b"span.set_attribute('auth', 'Bearer abc')"));
        // A flagged word without a recorder, a recorder without one, half a word.
        assert!(!f.may_matter(py, b"def check(password):\n    return len(password) > 8\n"));
        assert!(!f.may_matter(py, b"span.set_attribute('item.index', 3)"));
        assert!(!f.may_matter(py, b"span.set_attribute('card.kind', k)"));
        // Annotations and decorators are not e-mail addresses.
        let java = SourceKind::Java;
        assert!(!f.may_matter(java, b"@Override\n    public String tag() { return t; }\n"));
    }

    #[test]
    fn rust_records_through_macros_and_instrument() {
        let f = filter();
        let rs = SourceKind::Rust;
        assert!(f.may_matter(rs, b"tracing::info!(password = %p);"));
        assert!(f.may_matter(rs, b"info !(password = %p);"));
        assert!(f.may_matter(rs, b"#[instrument]\nfn login(password: &str) {}"));
        // `Error` types and a `password` field are not a tracing macro.
        assert!(!f.may_matter(
            rs,
            b"pub struct Login { password: String }\nfn f() -> Result<(), Error> { Ok(()) }"
        ));
        // A span tag is not Rust.
        assert!(!f.may_matter(rs, b"fn tag(password: &str) {}"));
    }
}
