//! What the rules want from the sources, decided once from the rule set in effect and handed
//! to every parser: which call and symbol paths to keep, whose arguments to record, and the
//! source pre-filter that lets a file no rule can match go unparsed.

use crate::check::facts::{env_names, ArgCallees, Fact, FactKind, FastSet, SourceFacts};
use crate::check::inputs::lang::SourceKind;
use crate::check::inputs::prefilter::Prefilter;
use std::sync::Arc;

/// The path segments any rule can match: a call or symbol fact containing none of them can
/// never match, so it is dropped as soon as its file is analysed (keeps memory flat on large
/// trees). Built from the rule set in effect, user packs included.
///
/// It also holds the source pre-filter ([`prefilter`](crate::check::inputs::prefilter)): a source
/// file in which no rule pattern or flagged span data can be written cannot yield a fact that
/// matters, so it is not parsed (see [`Interest::may_matter`]).
#[derive(Clone, Debug, Default)]
pub struct Interest {
    keys: FastSet<String>,
    /// The calls some `argument` signal is about.
    arg_calls: ArgCallees,
    everything: bool,
    prefilter: Option<std::sync::Arc<Prefilter>>,
    /// The pre-filter's search, kept when parsing is not filtered
    /// ([`Interest::without_prefilter`]): it still judges whether a file that could not be
    /// analysed may have carried a signal ([`Interest::may_carry_signal`]).
    signal_search: Option<std::sync::Arc<Prefilter>>,
}

impl Interest {
    /// Keep every fact (unit tests, tools).
    pub fn everything() -> Interest {
        Interest {
            keys: FastSet::default(),
            arg_calls: ArgCallees::all(),
            everything: true,
            prefilter: None,
            signal_search: None,
        }
    }

    /// From pattern paths: each pattern contributes its longest segment (a fact can only
    /// match a pattern if it contains all of the pattern's segments).
    pub fn from_patterns<'a>(patterns: impl IntoIterator<Item = &'a [String]>) -> Interest {
        let mut keys = FastSet::default();
        for p in patterns {
            if let Some(longest) = p.iter().max_by_key(|s| s.len()) {
                keys.insert(longest.clone());
            }
        }
        // Ingress check: services using tracegate::propagation.
        keys.insert("tracegate".into());
        Interest {
            keys,
            arg_calls: ArgCallees::default(),
            everything: false,
            prefilter: None,
            signal_search: None,
        }
    }

    /// Record the arguments of the calls named `callees` (the last segment of each `argument`
    /// signal's call pattern).
    pub fn with_args_of<'a>(mut self, callees: impl IntoIterator<Item = &'a str>) -> Self {
        let mut names = (*self.arg_calls.names).clone();
        names.extend(callees.into_iter().map(str::to_string));
        self.arg_calls.names = Arc::new(names);
        self
    }

    /// Whether a call to `callee` (its last segment) needs its [`CallArgs`].
    #[inline]
    pub fn wants_args(&self, callee: &str) -> bool {
        self.arg_calls.wants(callee)
    }

    /// The calls whose arguments are recorded, for analyzers that run elsewhere.
    pub fn arg_callees(&self) -> ArgCallees {
        self.arg_calls.clone()
    }

    /// Turn on the source pre-filter ([`prefilter`](crate::check::inputs::prefilter)): `patterns`
    /// are the call/symbol patterns' segments, `attribute_words` the words span-data rules look for
    /// in attribute keys and values. Without a usable search, every file is parsed.
    pub fn with_prefilter<'a>(
        mut self,
        patterns: impl IntoIterator<Item = &'a [String]>,
        attribute_words: impl IntoIterator<Item = &'a str>,
    ) -> Self {
        if self.everything {
            return self;
        }
        let tracegate = ["tracegate".to_string(), "propagation".to_string()];
        let mut patterns: Vec<&[String]> = patterns.into_iter().collect();
        patterns.push(&tracegate);
        self.prefilter = Prefilter::new(patterns, attribute_words).map(std::sync::Arc::new);
        self.signal_search.clone_from(&self.prefilter);
        self
    }

    /// Whether a source file's bytes may yield a fact some rule can use: false only when the
    /// pre-filter is on and finds no combination a rule needs.
    #[inline]
    pub fn may_matter(&self, kind: SourceKind, bytes: &[u8]) -> bool {
        self.prefilter
            .as_ref()
            .is_none_or(|p| p.may_matter(kind, bytes))
    }

    /// Whether a source file that could not be analysed in full may have carried something a
    /// rule uses: the pre-filter's judgement on its bytes, with or without `--no-prefilter`
    /// (true when there is no search to judge by). Such a file keeps its service from passing.
    #[inline]
    pub fn may_carry_signal(&self, kind: SourceKind, bytes: &[u8]) -> bool {
        self.signal_search
            .as_ref()
            .is_none_or(|p| p.may_matter(kind, bytes))
    }

    /// The same interest without the pre-filter (every source file is parsed).
    pub fn without_prefilter(&self) -> Interest {
        Interest {
            prefilter: None,
            ..self.clone()
        }
    }

    /// Whether a fact may matter to some rule.
    #[inline]
    pub fn keeps(&self, fact: &Fact) -> bool {
        match &fact.kind {
            FactKind::Call {
                path, literal_args, ..
            } => {
                self.keeps_path(path.iter().map(String::as_str))
                    // A helper reading an export endpoint's variable of the service's own.
                    || literal_args.iter().any(|a| {
                        env_names::is_variable(a) && env_names::is_endpoint_variable(a)
                    })
            }
            FactKind::Symbol { path } => self.keeps_path(path.iter().map(String::as_str)),
            _ => true,
        }
    }

    /// Whether a call or symbol fact with these path segments may matter to some rule
    /// (analyzers ask before they build the fact).
    #[inline]
    pub fn keeps_path<'s>(&self, mut segments: impl Iterator<Item = &'s str>) -> bool {
        self.everything || segments.any(|s| self.keys.contains(s))
    }
}

impl SourceFacts {
    /// Compact what is kept until the whole tree is walked: deduplicated references, only the
    /// facts some rule can match, no spare capacity.
    pub fn finish(&mut self, interest: &Interest) {
        self.refs.sort_unstable();
        self.refs.dedup();
        self.refs.shrink_to_fit();
        self.facts.retain(|f| interest.keeps(f));
        self.facts.shrink_to_fit();
    }
}
