//! AC-007(b): search every string and byte of the exported span data (resource, scope, span
//! names, attribute keys and values, events, links, status messages, trace state) for the
//! run's canaries and for credential/PII [`patterns`](super::patterns).
//!
//! `tenant.id` (an opaque routing key) is not searched; trace and span IDs are bytes fields
//! of the span, not text, and are not searched either.

use std::cell::RefCell;
use std::collections::HashSet;
use std::hash::BuildHasherDefault;

use aho_corasick::AhoCorasick;
use opentelemetry_proto::tonic::common::v1::{any_value, AnyValue, KeyValue};
use opentelemetry_proto::tonic::trace::v1::ResourceSpans;

use super::patterns::{credential_key, find_patterns};
use super::select::IdHasher;
use crate::verify::model::Canaries;

/// One sensitive value found in span data.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// What was found: `"card number canary"`, `"e-mail address"`, `"credential header"`…
    pub what: String,
    /// The span's service (`service.name` of its resource), when it has one.
    pub service: Option<String>,
    /// The span (name and hex ID); `None` for resource- and scope-level data.
    pub span: Option<(String, String)>,
    /// The span's trace ID (hex).
    pub trace_id: Option<String>,
    /// Where in the span: `attribute http.url`, `span name`, `event "exception" attribute …`.
    pub location: String,
}

/// Attribute keys never searched (opaque by design).
const NOT_SEARCHED: [&str; 1] = ["tenant.id"];

/// The searcher for one run's canaries.
pub struct Scanner {
    canaries: Option<AhoCorasick>,
    labels: Vec<&'static str>,
    /// Texts already searched and found clean (span names, attribute keys and values repeat
    /// across spans): searched once. Bounded by [`CLEAN_CACHE_ENTRIES`].
    clean_texts: RefCell<CleanSet>,
    /// Attribute keys found clean and not credential-named.
    clean_keys: RefCell<CleanSet>,
}

type CleanSet = HashSet<Box<str>, BuildHasherDefault<IdHasher>>;

/// How many clean texts are remembered (each at most [`CLEAN_CACHE_LEN`] bytes).
const CLEAN_CACHE_ENTRIES: usize = 4096;
const CLEAN_CACHE_LEN: usize = 128;

fn known(set: &RefCell<CleanSet>, text: &str) -> bool {
    text.len() <= CLEAN_CACHE_LEN && set.borrow().contains(text)
}

fn remember(set: &RefCell<CleanSet>, text: &str) {
    let mut set = set.borrow_mut();
    if text.len() <= CLEAN_CACHE_LEN && set.len() < CLEAN_CACHE_ENTRIES {
        set.insert(text.into());
    }
}

impl Scanner {
    /// A scanner for `canaries` (empty values are ignored).
    pub fn new(canaries: &Canaries) -> Self {
        let (labels, values): (Vec<&'static str>, Vec<&str>) = canaries
            .values()
            .into_iter()
            .filter(|(_, v)| v.len() >= 4)
            .unzip();
        let canaries = if values.is_empty() {
            None
        } else {
            AhoCorasick::new(&values).ok()
        };
        Scanner {
            canaries,
            labels,
            clean_texts: RefCell::default(),
            clean_keys: RefCell::default(),
        }
    }

    /// Search every `ResourceSpans`; `found` is called once per (value, kind of finding).
    pub fn scan(&self, otlp: &[ResourceSpans], found: &mut impl FnMut(Finding)) {
        for rs in otlp {
            let service = rs.resource.as_ref().and_then(|r| {
                r.attributes
                    .iter()
                    .find(|kv| kv.key == "service.name")
                    .and_then(|kv| match kv.value.as_ref()?.value.as_ref()? {
                        any_value::Value::StringValue(s) => Some(s.clone()),
                        _ => None,
                    })
            });
            let place = Place {
                service: &service,
                span: None,
                trace_id: None,
            };
            if let Some(resource) = &rs.resource {
                self.attributes(&resource.attributes, "resource attribute", &place, found);
            }
            for ss in &rs.scope_spans {
                if let Some(scope) = &ss.scope {
                    self.text(&scope.name, || "scope name".to_owned(), &place, found);
                    self.text(&scope.version, || "scope version".to_owned(), &place, found);
                    self.attributes(&scope.attributes, "scope attribute", &place, found);
                }
                for span in &ss.spans {
                    let span_ref = (span.name.as_str(), span.span_id.as_slice());
                    let trace_id = span.trace_id.as_slice();
                    let place = Place {
                        service: &service,
                        span: Some(span_ref),
                        trace_id: Some(trace_id),
                    };
                    self.text(&span.name, || "span name".to_owned(), &place, found);
                    self.text(
                        &span.trace_state,
                        || "trace state".to_owned(),
                        &place,
                        found,
                    );
                    self.attributes(&span.attributes, "attribute", &place, found);
                    for event in &span.events {
                        self.text(
                            &event.name,
                            || format!("event {:?}", event.name),
                            &place,
                            found,
                        );
                        let label = format!("event {:?} attribute", event.name);
                        self.attributes(&event.attributes, &label, &place, found);
                    }
                    for link in &span.links {
                        self.text(
                            &link.trace_state,
                            || "link trace state".to_owned(),
                            &place,
                            found,
                        );
                        self.attributes(&link.attributes, "link attribute", &place, found);
                    }
                    if let Some(status) = &span.status {
                        self.text(
                            &status.message,
                            || "status message".to_owned(),
                            &place,
                            found,
                        );
                    }
                }
            }
        }
    }

    fn attributes(
        &self,
        attributes: &[KeyValue],
        label: &str,
        place: &Place<'_>,
        found: &mut impl FnMut(Finding),
    ) {
        for kv in attributes {
            if NOT_SEARCHED.contains(&kv.key.as_str()) {
                continue;
            }
            let where_ = || format!("{label} {}", kv.key);
            let value = kv.value.as_ref();
            if !known(&self.clean_keys, &kv.key) {
                let mut any = false;
                self.text(
                    &kv.key,
                    || format!("{label} key {:?}", kv.key),
                    place,
                    &mut |finding| {
                        any = true;
                        found(finding);
                    },
                );
                if credential_key(&kv.key) {
                    any = true;
                    if !is_empty(value) {
                        found(place.finding("credential-named attribute", where_()));
                    }
                }
                if !any {
                    remember(&self.clean_keys, &kv.key);
                }
            }
            self.value(value, &where_, place, found);
        }
    }

    fn value(
        &self,
        value: Option<&AnyValue>,
        where_: &dyn Fn() -> String,
        place: &Place<'_>,
        found: &mut impl FnMut(Finding),
    ) {
        match value.and_then(|v| v.value.as_ref()) {
            Some(any_value::Value::StringValue(s)) => self.text(s, where_, place, found),
            Some(any_value::Value::BytesValue(b)) => self.bytes(b, where_, place, found),
            Some(any_value::Value::IntValue(i)) if i.unsigned_abs() >= 1_000_000_000_000 => {
                self.text(&i.to_string(), where_, place, found);
            }
            Some(any_value::Value::ArrayValue(a)) => {
                for v in &a.values {
                    self.value(Some(v), where_, place, found);
                }
            }
            Some(any_value::Value::KvlistValue(kv)) => {
                for inner in &kv.values {
                    let nested = || format!("{} → {}", where_(), inner.key);
                    self.text(&inner.key, nested, place, found);
                    if credential_key(&inner.key) && !is_empty(inner.value.as_ref()) {
                        found(place.finding("credential-named attribute", nested()));
                    }
                    self.value(inner.value.as_ref(), &nested, place, found);
                }
            }
            _ => {}
        }
    }

    /// Canaries in raw bytes; patterns in their UTF-8 reading.
    fn bytes(
        &self,
        bytes: &[u8],
        where_: &dyn Fn() -> String,
        place: &Place<'_>,
        found: &mut impl FnMut(Finding),
    ) {
        self.canaries_in(bytes, where_, place, found);
        let text = String::from_utf8_lossy(bytes);
        find_patterns(&text, &mut |p| found(place.finding(p.as_str(), where_())));
    }

    fn text(
        &self,
        text: &str,
        where_: impl Fn() -> String,
        place: &Place<'_>,
        found: &mut impl FnMut(Finding),
    ) {
        if text.is_empty() || known(&self.clean_texts, text) {
            return;
        }
        let mut any = false;
        let mut report = |finding: Finding| {
            any = true;
            found(finding);
        };
        self.canaries_in(text.as_bytes(), &where_, place, &mut report);
        find_patterns(text, &mut |p| report(place.finding(p.as_str(), where_())));
        if !any {
            remember(&self.clean_texts, text);
        }
    }

    fn canaries_in(
        &self,
        haystack: &[u8],
        where_: &dyn Fn() -> String,
        place: &Place<'_>,
        found: &mut impl FnMut(Finding),
    ) {
        let Some(automaton) = &self.canaries else {
            return;
        };
        if !automaton.is_match(haystack) {
            return;
        }
        let mut reported: HashSet<usize> = HashSet::new();
        for m in automaton.find_overlapping_iter(haystack) {
            let index = m.pattern().as_usize();
            if reported.insert(index) {
                let label = self.labels.get(index).copied().unwrap_or("canary");
                found(place.finding(&format!("{label} canary"), where_()));
            }
        }
    }
}

fn is_empty(value: Option<&AnyValue>) -> bool {
    match value.and_then(|v| v.value.as_ref()) {
        None => true,
        Some(any_value::Value::StringValue(s)) => s.is_empty(),
        Some(any_value::Value::BytesValue(b)) => b.is_empty(),
        _ => false,
    }
}

/// Where the text being searched sits.
struct Place<'a> {
    service: &'a Option<String>,
    span: Option<(&'a str, &'a [u8])>,
    trace_id: Option<&'a [u8]>,
}

impl Place<'_> {
    fn finding(&self, what: &str, location: String) -> Finding {
        Finding {
            what: what.to_owned(),
            service: self.service.clone(),
            span: self.span.map(|(name, id)| (name.to_owned(), hex(id))),
            trace_id: self.trace_id.map(hex),
            location,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
