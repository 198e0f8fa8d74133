//! TG3xx: span data must not carry credentials, PII or whole payloads (AC-007), and exporter
//! credentials belong in Secrets. Key lists come from the rules' `params`.

use crate::check::evaluation::rules::Rule;
use crate::check::evaluation::span_data;
use crate::check::facts::{tokens, AttrContext, Fact, FactKind};
use crate::check::model::Finding;

/// Whether a key or expression names one of `words` (single tokens, or multi-word entries
/// such as `card_number` matched on adjacent tokens).
pub fn names_any(text: &str, words: &[String]) -> Option<String> {
    Words::new(words).named_in(text).map(str::to_string)
}

/// Words to look for in keys and expressions, each split into tokens once (a rule checks
/// every attribute of a service against the same list).
struct Words<'w> {
    /// (the word as listed, its single token, or its tokens joined with `_`).
    list: Vec<(&'w str, Needle)>,
}

enum Needle {
    Token(String),
    Joined(String),
}

impl<'w> Words<'w> {
    fn new(words: &'w [String]) -> Words<'w> {
        let list = words
            .iter()
            .map(|w| {
                let mut t = tokens(w);
                let needle = if t.len() == 1 {
                    Needle::Token(t.remove(0))
                } else {
                    Needle::Joined(t.join("_"))
                };
                (w.as_str(), needle)
            })
            .collect();
        Words { list }
    }

    /// The first listed word `text` names.
    fn named_in(&self, text: &str) -> Option<&'w str> {
        let toks = tokens(text);
        let joined = toks.join("_");
        // Where each token starts in `joined` (found once, not per listed word).
        let starts: Vec<usize> = std::iter::once(0)
            .chain(joined.match_indices('_').map(|(at, _)| at + 1))
            .collect();
        self.list
            .iter()
            .find(|(_, needle)| match needle {
                Needle::Token(t) => toks.contains(t),
                // Whole tokens: at the start or after a `_`, up to the end or a `_`.
                Needle::Joined(n) => starts.iter().any(|&at| {
                    joined[at..]
                        .strip_prefix(n.as_str())
                        .is_some_and(|rest| rest.is_empty() || rest.starts_with('_'))
                }),
            })
            .map(|(w, _)| *w)
    }
}

fn looks_like_secret_value(value: &str) -> bool {
    let v = value.trim_matches(['"', '\'']);
    let email = v.contains('@')
        && v.rsplit('@').next().is_some_and(|d| d.contains('.'))
        && !v.contains(' ');
    email || v.starts_with("Bearer ") || v.starts_with("Basic ")
}

/// Span attributes: (fact, key, value, context).
fn attributes<'a>(
    facts: &'a [&'a Fact],
) -> impl Iterator<Item = (&'a Fact, &'a str, &'a str, Option<&'a AttrContext>)> {
    facts.iter().filter_map(|f| match &f.kind {
        FactKind::Attribute {
            key,
            value,
            context,
        } => Some((*f, key.as_str(), value.as_str(), context.as_deref())),
        _ => None,
    })
}

fn push(rule: &Rule, f: &Fact, message: String, out: &mut Vec<Finding>) {
    out.push(Finding {
        rule: rule.meta.id.clone(),
        severity: rule.meta.severity,
        message,
        file: Some(f.file.to_string()),
        line: Some(f.line).filter(|l| *l > 0),
        help: format!("{} (see {})", rule.meta.help, rule.meta.docs),
    });
}

/// TG301: attribute keys or values naming credentials or PII.
pub fn sensitive(rule: &Rule, facts: &[&Fact], out: &mut Vec<Finding>) {
    let keys = Words::new(rule.param("keys"));
    for (f, key, value, context) in attributes(facts) {
        let origin = context.and_then(|c| c.origin.as_deref());
        let hit = keys
            .named_in(key)
            .map(|w| format!("key `{key}` names {w}"))
            .or_else(|| {
                // A literal value is judged by its content, an expression (a template literal
                // that interpolates included) by its names, a bare local name also by what it
                // was assigned or declared as.
                let literal = value.starts_with(['"', '\''])
                    || (value.starts_with('`') && !value.contains("${"));
                (!literal)
                    .then(|| keys.named_in(value))
                    .flatten()
                    .map(|w| format!("`{key}` records `{value}`, which names {w}"))
                    .or_else(|| {
                        let o = origin?;
                        keys.named_in(o)
                            .map(|w| format!("`{key}` records `{value}` (`{o}`), which names {w}"))
                    })
            })
            .or_else(|| {
                looks_like_secret_value(value)
                    .then(|| format!("`{key}` records a credential or e-mail literal"))
            });
        if let Some(why) = hit {
            push(rule, f, format!("{}: {why}", rule.message), out);
        }
    }
}

/// TG302: whole bodies, header maps, payloads or serialised objects recorded, or every entry of
/// a header map or body copied with a computed key. A scalar (a size, an id, a flag, a literal)
/// is none, whatever its key says ([`span_data`]).
pub fn payload(rule: &Rule, facts: &[&Fact], out: &mut Vec<Finding>) {
    let words = rule.param("keys");
    for (f, key, value, context) in attributes(facts) {
        let over = context.map_or(&[][..], |c| c.over.as_slice());
        let origin = context.and_then(|c| Some((c.origin.as_deref()?, c.typed)));
        let message = if !over.is_empty() {
            // A key computed in a loop: judged by what the loop iterates (whatever the value
            // looks like: each entry's value is one of the collection's).
            span_data::whole_collection(over).map(|why| format!("{}: `{key}` {why}", rule.message))
        } else {
            let last_key = tokens(key).last().cloned().unwrap_or_default();
            let key_hit = words.contains(&last_key)
                && !span_data::literal(value)
                && !span_data::scalar(value);
            match span_data::whole_value(value, origin, words) {
                Some(why) if why.contains(", from `") => {
                    Some(format!("{}: `{key}` = `{value}` ({why})", rule.message))
                }
                Some(_) => Some(format!("{}: `{key}` = `{value}`", rule.message)),
                None => key_hit.then(|| format!("{}: `{key}` = `{value}`", rule.message)),
            }
        };
        if let Some(message) = message {
            push(rule, f, message, out);
        }
    }
}

/// Whether an `OTEL_EXPORTER_OTLP_HEADERS` value carries a credential header in plain text. A
/// credential that is exactly Kubernetes' `$(NAME)` (after an optional `Bearer `/`Basic `), where
/// `secret(NAME)` says the variable is not defined with a plain value, is a reference.
pub fn has_credentials(rule: &Rule, value: &str, secret: &dyn Fn(&str) -> bool) -> bool {
    let words = rule.param("credential_headers");
    value.split(',').any(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        !v.trim().is_empty() && !secret_reference(v, secret) && names_any(k, words).is_some()
    })
}

/// `$(NAME)`, `Bearer $(NAME)` or `Basic $(NAME)` (any case, `%20` for the space, as the
/// OpenTelemetry header format allows) with NAME read from a Secret.
fn secret_reference(value: &str, secret: &dyn Fn(&str) -> bool) -> bool {
    let v = value.trim().replace("%20", " ");
    let lower = v.to_ascii_lowercase();
    let v = if lower.starts_with("bearer ") || lower.starts_with("basic ") {
        v.split_once(' ').map_or("", |(_, rest)| rest)
    } else {
        v.as_str()
    }
    .trim();
    v.strip_prefix("$(")
        .and_then(|r| r.strip_suffix(')'))
        .is_some_and(|name| {
            !name.is_empty()
                && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && secret(name)
        })
}

/// TG303: plain credential values in exporter header variables (workload env, Dockerfile).
pub fn plain_headers(rule: &Rule, facts: &[&Fact], out: &mut Vec<Finding>) {
    let vars = rule.param("variables");
    // A variable the service defines with a plain value is plain; one read from a Secret, or
    // not defined here (an `envFrom` Secret supplies it), is not.
    let from_secret = |name: &str| {
        !facts.iter().any(|f| {
            matches!(&f.kind, FactKind::Env { name: n, from_secret: false, value: Some(_), .. } if n == name)
        })
    };
    for f in facts {
        if let FactKind::Env {
            name,
            value: Some(v),
            from_ref: false,
            ..
        } = &f.kind
        {
            if vars.contains(name) && has_credentials(rule, v, &from_secret) {
                push(
                    rule,
                    f,
                    format!(
                        "{}: `{name}` holds a credential in plain text",
                        rule.message
                    ),
                    out,
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn w(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn tokenising_keys() {
        assert_eq!(
            tokens("user.emailAddress"),
            vec!["user", "email", "address"]
        );
        assert_eq!(
            tokens("http.request.header.authorization"),
            vec!["http", "request", "header", "authorization"]
        );
    }

    #[test]
    fn literal_values_are_judged_by_content() {
        let rule = crate::check::RuleSet::builtin()
            .rule("TG301")
            .unwrap()
            .clone();
        let fact = |key: &str, value: &str| {
            Fact::new(
                FactKind::Attribute {
                    key: key.into(),
                    value: value.into(),
                    context: None,
                },
                "a.rs",
                1,
            )
        };
        let facts = [
            fact("auth.method", "\"password\""),
            fact("user", "req.user.password"),
            fact("contact", "\"jane@example.com\""),
        ];
        let refs: Vec<&Fact> = facts.iter().collect();
        let mut out = Vec::new();
        sensitive(&rule, &refs, &mut out);
        let lines: Vec<&str> = out.iter().map(|f| f.message.as_str()).collect();
        assert_eq!(out.len(), 2, "{lines:?}");
        assert!(lines[0].contains("req.user.password"));
        assert!(lines[1].contains("e-mail literal"));
    }

    fn attr(key: &str, value: &str, over: &[&str], origin: Option<&str>) -> Fact {
        let context = (!over.is_empty() || origin.is_some()).then(|| {
            Box::new(AttrContext {
                over: over.iter().map(|s| s.to_string()).collect(),
                origin: origin.map(str::to_string),
                typed: false,
            })
        });
        Fact::new(
            FactKind::Attribute {
                key: key.into(),
                value: value.into(),
                context,
            },
            "a.ts",
            1,
        )
    }

    fn run(id: &str, facts: &[Fact]) -> Vec<String> {
        let rule = crate::check::RuleSet::builtin().rule(id).unwrap().clone();
        let refs: Vec<&Fact> = facts.iter().collect();
        let mut out = Vec::new();
        match id {
            "TG301" => sensitive(&rule, &refs, &mut out),
            _ => payload(&rule, &refs, &mut out),
        }
        out.into_iter().map(|f| f.message).collect()
    }

    #[test]
    fn payloads_copied_in_loops_serialised_or_assigned_are_whole() {
        let found = run(
            "TG302",
            &[
                attr(
                    "`http.request.header.${name}`",
                    "value",
                    &["Object.entries(req.headers)"],
                    None,
                ),
                attr("app.result", "JSON.stringify(result)", &[], None),
                attr(
                    "message",
                    "message",
                    &[],
                    Some("Encoding.UTF8.GetString(eventArgs.Body.Span)"),
                ),
                attr("messaging.kafka.message.value", "record.value()", &[], None),
            ],
        );
        assert_eq!(found.len(), 4, "{found:?}");
        assert!(found[0].contains("copies each entry of `Object.entries(req.headers)`"));
        assert!(found[2].contains("from `Encoding.UTF8.GetString"));
    }

    #[test]
    fn scalars_and_allow_lists_are_no_payload() {
        let found = run(
            "TG302",
            &[
                // A size whose value names the body, a flag whose key names the request.
                attr("http.request.body.size", "len(body)", &[], None),
                attr("app.request", "request.is_retry", &[], None),
                attr("app.request", "request_type", &[], None),
                attr("app.payload", "\"v2\"", &[], None),
                attr("message", "message", &[], Some("ex.Message")),
                attr(
                    "`http.request.header.${name}`",
                    "value",
                    &["CAPTURED_HEADERS"],
                    None,
                ),
            ],
        );
        assert!(found.is_empty(), "{found:?}");
    }

    #[test]
    fn personal_data_by_the_value_named() {
        let found = run(
            "TG301",
            &[
                attr("app.order.buyer", "order.BuyerName", &[], None),
                attr(
                    "app.review.author",
                    "`${customer.firstName} ${customer.lastName}`",
                    &[],
                    None,
                ),
                attr("app.contact", "contact", &[], Some("req.GetEmail()")),
                attr("app.order.buyer", "order.BuyerId", &[], None),
                attr("app.user", "user.id", &[], None),
                attr("app.note", "`no ${count} here`", &[], None),
            ],
        );
        assert_eq!(found.len(), 3, "{found:?}");
        assert!(found[0].contains("buyer_name"));
        assert!(found[1].contains("first_name"));
        assert!(found[2].contains("(`req.GetEmail()`)"));
    }

    #[test]
    fn names_single_and_multi_word() {
        let words = w(&["password", "card_number", "email"]);
        assert_eq!(
            names_any("db.password", &words).as_deref(),
            Some("password")
        );
        assert_eq!(
            names_any("payment.cardNumber", &words).as_deref(),
            Some("card_number")
        );
        assert_eq!(names_any("user.emails_sent_total", &words), None);
        assert_eq!(names_any("tenant.id", &words), None);
        // Multi-word entries match whole tokens anywhere, also after a partial match.
        for key in [
            "card_number",
            "x.card.card_number",
            "card_number.last4",
            "a.card-number.b",
        ] {
            assert_eq!(
                names_any(key, &words).as_deref(),
                Some("card_number"),
                "{key}"
            );
        }
        for key in ["scard_number", "card_numbers", "card.x.number"] {
            assert_eq!(names_any(key, &words), None, "{key}");
        }
        assert!(looks_like_secret_value("\"jane@example.com\""));
        assert!(!looks_like_secret_value("user.id"));
    }
}

#[cfg(test)]
mod word_match_equivalence {
    use super::*;
    use proptest::prelude::*;

    /// The matcher before `Words`: tokens re-split per call, multi-word entries found by
    /// substring tests on the `_`-joined tokens.
    fn names_any_before(text: &str, words: &[String]) -> Option<String> {
        let toks = tokens(text);
        let joined = toks.join("_");
        words
            .iter()
            .find(|w| {
                let wt = tokens(w);
                if wt.len() == 1 {
                    toks.contains(&wt[0])
                } else {
                    let needle = wt.join("_");
                    joined == needle
                        || joined.starts_with(&format!("{needle}_"))
                        || joined.ends_with(&format!("_{needle}"))
                        || joined.contains(&format!("_{needle}_"))
                }
            })
            .cloned()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        /// Small alphabets so that partial and repeated token matches are frequent; words may
        /// be empty or only separators (no tokens).
        #[test]
        fn same_word_as_before(
            text in "[abAB_.-]{0,14}",
            words in proptest::collection::vec("[abAB_ .-]{0,7}", 0..5),
        ) {
            prop_assert_eq!(names_any(&text, &words), names_any_before(&text, &words));
        }
    }
}
