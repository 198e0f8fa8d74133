//! Call sites judged one by one (`sites:` in a pack): each fact a site signal matches is a call
//! site (an outbound HTTP client call, a server built), covered only by what instruments that
//! library (`covered_by`) or by the rule's `require` list (what covers every site: an agent, an
//! injection annotation). A `covered_by` signal with `same_function: true` counts only in the
//! function that makes the call (an explicit `propagation.inject` into that call's headers).
//! A site's `disabled_by` list names what switches its library's propagation off for the
//! whole service (.NET's `System.Net.Http.EnableActivityPropagation` switch): then every site
//! of it is a finding, whatever covers it. Its `note` is added to the finding at an uncovered
//! site (what the library still does without instrumentation).

use std::collections::BTreeMap;

use super::signal::{compile_signal, for_language, RawSignal};
use super::{Signal, LANGUAGE_KEYS};
use crate::check::model::Language;

/// What covers a site.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cover {
    /// The signal.
    pub signal: Signal,
    /// Whether it counts only in the site's own function (same file, same enclosing
    /// top-level function, or both at the top level of the file).
    pub same_function: bool,
}

/// A kind of call site and what covers it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Site {
    /// What a call site of this kind is (each fact it matches is one).
    pub signal: Signal,
    /// What instruments it; the rule's `require` list covers every site too.
    pub covered_by: Vec<Cover>,
    /// What switches the library's propagation off in the whole service: each site is then a
    /// finding, whatever covers it.
    pub disabled_by: Vec<Signal>,
    /// Added to the finding at a site nothing covers.
    pub note: Option<String>,
}

/// Sites per language (`any` applies to every language; `javascript` also to TypeScript).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct SiteSet {
    pub(super) by_language: BTreeMap<String, Vec<Site>>,
}

impl SiteSet {
    /// The sites that apply to `language`, in pack order.
    pub fn for_language(&self, language: Language) -> Vec<&Site> {
        for_language(&self.by_language, language)
    }

    /// Whether no site is defined for any language.
    pub fn is_empty(&self) -> bool {
        self.by_language.values().all(Vec::is_empty)
    }

    /// Every signal of every site (site signals and what covers them), for the interest.
    pub(super) fn signals(&self) -> impl Iterator<Item = &Signal> {
        self.by_language.values().flatten().flat_map(|site| {
            std::iter::once(&site.signal)
                .chain(site.covered_by.iter().map(|c| &c.signal))
                .chain(&site.disabled_by)
        })
    }
}

pub(super) fn compile_sites(raw: &BTreeMap<String, Vec<RawSignal>>) -> Result<SiteSet, String> {
    let mut by_language = BTreeMap::new();
    for (lang, list) in raw {
        if !LANGUAGE_KEYS.contains(&lang.as_str()) {
            return Err(format!(
                "unknown language key {lang:?} (expected one of {})",
                LANGUAGE_KEYS.join(", ")
            ));
        }
        let sites = list.iter().map(compile_site).collect::<Result<_, _>>()?;
        by_language.insert(lang.clone(), sites);
    }
    Ok(SiteSet { by_language })
}

fn compile_site(raw: &RawSignal) -> Result<Site, String> {
    let mut base = raw.clone();
    let covered_by = base.covered_by.take().unwrap_or_default();
    let disabled_by = base
        .disabled_by
        .take()
        .unwrap_or_default()
        .iter()
        .map(compile_signal)
        .collect::<Result<_, _>>()?;
    let note = base.note.take().map(|n| n.trim().to_string());
    if note.as_deref().is_some_and(str::is_empty) {
        return Err("empty `note`".into());
    }
    let covered_by = covered_by
        .iter()
        .map(|c| {
            let mut signal = c.clone();
            let same_function = signal.same_function.take().unwrap_or(false);
            if signal.covered_by.is_some() {
                return Err("`covered_by` does not nest".to_string());
            }
            if signal.disabled_by.is_some() || signal.note.is_some() {
                return Err(
                    "`disabled_by` and `note` apply to a site, not to what covers it".into(),
                );
            }
            Ok(Cover {
                signal: compile_signal(&signal)?,
                same_function,
            })
        })
        .collect::<Result<_, String>>()?;
    Ok(Site {
        signal: compile_signal(&base)?,
        covered_by,
        disabled_by,
        note,
    })
}

#[cfg(test)]
mod tests {
    use super::super::RuleSet;

    const RULE: &str = "rules:\n  - id: ACME7\n    title: t\n    severity: error\n    help: h\n    what: w\n    why: y\n    fix: f\n    example: e\n    docs: docs/onboarding.md#x\n";

    #[test]
    fn sites_compile_with_what_covers_them_and_feed_the_interest() {
        let text = format!("{RULE}    sites:\n      javascript:\n        - call: node-fetch\n          covered_by:\n            - call: HttpInstrumentation\n            - call: propagation.inject\n              same_function: true\n");
        let mut set = RuleSet::default();
        set.add_pack("p.yaml", &text).unwrap();
        let rule = set.rule("ACME7").unwrap();
        let sites = rule
            .sites
            .for_language(crate::check::model::Language::Typescript);
        assert_eq!(sites.len(), 1);
        let same: Vec<bool> = sites[0]
            .covered_by
            .iter()
            .map(|c| c.same_function)
            .collect();
        assert_eq!(same, [false, true]);
        // What covers a site is a fact the analyzers must keep.
        let interest = set.interest();
        for path in [
            &[
                "@opentelemetry",
                "instrumentation-http",
                "HttpInstrumentation",
            ][..],
            &["node-fetch"][..],
        ] {
            assert!(interest.keeps_path(path.iter().copied()), "{path:?}");
        }
    }

    #[test]
    fn a_site_s_switch_and_note_compile_and_feed_the_interest() {
        let text = format!("{RULE}    sites:\n      dotnet:\n        - call: HttpClient\n          covered_by: [{{call: AddHttpClientInstrumentation}}]\n          note: \" what it still does \"\n          disabled_by:\n            - any:\n                - call: AppContext.SetSwitch\n                - env: OFF\n");
        let mut set = RuleSet::default();
        set.add_pack("p.yaml", &text).unwrap();
        let rule = set.rule("ACME7").unwrap();
        let sites = rule
            .sites
            .for_language(crate::check::model::Language::Dotnet);
        assert_eq!(sites[0].note.as_deref(), Some("what it still does"));
        assert_eq!(sites[0].disabled_by.len(), 1);
        assert!(set
            .interest()
            .keeps_path(["System", "AppContext", "SetSwitch"].iter().copied()));
    }

    #[test]
    fn covered_by_and_same_function_are_rejected_out_of_place() {
        for (signals, error) in [
            (
                "    require:\n      javascript:\n        - call: fetch\n          covered_by: [{call: X}]\n",
                "`covered_by` applies to `sites` signals only",
            ),
            (
                "    sites:\n      javascript:\n        - call: fetch\n          same_function: true\n",
                "`same_function` applies inside `covered_by` only",
            ),
            (
                "    sites:\n      javascript:\n        - call: fetch\n          covered_by: [{call: X, covered_by: [{call: Y}]}]\n",
                "`covered_by` does not nest",
            ),
            (
                "    sites:\n      cobol:\n        - call: fetch\n",
                "unknown language key",
            ),
            (
                "    require:\n      dotnet:\n        - call: HttpClient\n          note: n\n",
                "`disabled_by` and `note` apply to `sites` signals only",
            ),
            (
                "    sites:\n      dotnet:\n        - call: HttpClient\n          covered_by: [{call: X, disabled_by: [{call: Y}]}]\n",
                "`disabled_by` and `note` apply to a site, not to what covers it",
            ),
            (
                "    sites:\n      dotnet:\n        - call: HttpClient\n          disabled_by: [{any: []}]\n",
                "empty `any` signal",
            ),
        ] {
            let err = RuleSet::default()
                .add_pack("p.yaml", &format!("{RULE}{signals}"))
                .unwrap_err()
                .to_string();
            assert!(err.starts_with("p.yaml:2:") && err.contains(error), "{err}");
        }
    }
}
