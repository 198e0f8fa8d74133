//! The critical path of a trace, as Jaeger's trace view draws it: the chain of work that
//! decided when the trace ended. From the top-level span that ends last, walking back in time:
//! a span is on the path from the end of its last-finishing child to its own end; the path
//! goes down into that child, and when a span has no child left that finishes before the point
//! reached, the span is on the path back to its start, and the path returns to its parent at
//! that start. Children are clipped to their parent first (a child that outlives its parent
//! does not make the parent wait).
//!
//! Time spent on the path is where shortening work shortens the trace; time off it (a call
//! running beside a slower one) is not.

use serde::Serialize;

use super::model::Trace;

/// Part of a span that lies on the critical path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct PathSection {
    /// Index into [`Trace::spans`].
    pub index: usize,
    pub start_unix_nano: u64,
    pub end_unix_nano: u64,
}

impl PathSection {
    pub fn duration_ns(&self) -> u64 {
        self.end_unix_nano.saturating_sub(self.start_unix_nano)
    }
}

impl Trace {
    /// The critical path, latest section first; empty for a trace without spans. Each section
    /// is non-empty; sections do not overlap and together span the path's top-level span.
    pub fn critical_path(&self) -> Vec<PathSection> {
        // every span's interval clipped to its parent's (already clipped) interval, in tree
        // order so that a parent is clipped before its children
        let mut clipped: Vec<Option<(u64, u64)>> = vec![None; self.spans.len()];
        for (i, _) in self.walk() {
            let s = &self.spans[i];
            let (mut start, mut end) = (s.start_unix_nano, s.end_unix_nano.max(s.start_unix_nano));
            if let Some((ps, pe)) = self.parent[i].and_then(|p| clipped[p]) {
                start = start.clamp(ps, pe);
                end = end.clamp(start, pe);
            }
            clipped[i] = Some((start, end));
        }
        let interval = |i: usize| clipped[i].unwrap_or((0, 0));
        let Some(top) = self
            .top_level()
            .into_iter()
            .max_by(|&a, &b| interval(a).1.cmp(&interval(b).1).then(b.cmp(&a)))
        else {
            return Vec::new();
        };

        let mut path: Vec<PathSection> = Vec::new();
        let mut push = |index: usize, start: u64, end: u64| {
            if end <= start {
                return;
            }
            // back in a span right where its previous section began: one section
            match path.last_mut() {
                Some(last) if last.index == index && last.start_unix_nano == end => {
                    last.start_unix_nano = start;
                }
                _ => path.push(PathSection {
                    index,
                    start_unix_nano: start,
                    end_unix_nano: end,
                }),
            }
        };
        let (mut current, mut until) = (top, interval(top).1);
        // Entering a span, a child ending at its end counts; returning to it at a child's
        // start, only children ending strictly before (a zero-length child would be found
        // again and again otherwise).
        let mut returning = false;
        // Each span's children by end, latest first, and how far each list has been looked
        // through: `until` only goes down for a span, so a child passed over once never comes
        // back (linear in the children, however many there are).
        let mut by_end: Vec<Vec<usize>> = self
            .children
            .iter()
            .map(|c| {
                c.iter()
                    .copied()
                    .filter(|&c| clipped[c].is_some())
                    .collect()
            })
            .collect();
        for children in &mut by_end {
            children.sort_by(|&a, &b| interval(b).1.cmp(&interval(a).1).then(a.cmp(&b)));
        }
        let mut cursor = vec![0usize; self.spans.len()];
        // Each step enters a child or returns to a parent with `until` lower than before: the
        // walk ends; the bound is a guard against a malformed tree.
        for _ in 0..=4 * self.spans.len() {
            let (start, _) = interval(current);
            let children = &by_end[current];
            let fits = |c: usize| {
                let end = interval(c).1;
                if returning {
                    end < until
                } else {
                    end <= until
                }
            };
            while cursor[current] < children.len() && !fits(children[cursor[current]]) {
                cursor[current] += 1;
            }
            let next = children.get(cursor[current]).copied();
            match next {
                Some(child) => {
                    let child_end = interval(child).1;
                    push(current, child_end, until);
                    current = child;
                    until = child_end;
                    returning = false;
                }
                None => {
                    push(current, start, until);
                    match self.parent[current] {
                        Some(parent) if current != top => {
                            current = parent;
                            until = start;
                            returning = true;
                        }
                        _ => break,
                    }
                }
            }
        }
        path
    }
}
