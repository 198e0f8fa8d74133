//! A strict reader of the OpenMetrics 1.0 text format subset the coverage report writes
//! (gauges, TYPE/UNIT/HELP, labels, no timestamps or exemplars), following the ABNF: every
//! line ends with LF, `# EOF` ends the exposition, only the three escapes `\\`, `\"`, `\n`,
//! metadata before a family's samples and at most once each, a unit is the name's suffix,
//! families not interleaved, label sets unique within a family.

use std::collections::BTreeMap;

/// One sample: labels (sorted by name) and value.
#[derive(Debug)]
pub struct Sample {
    pub labels: Vec<(String, String)>,
    pub value: f64,
}

/// One metric family.
#[derive(Debug, Default)]
pub struct Family {
    pub kind: Option<String>,
    pub unit: Option<String>,
    pub help: Option<String>,
    pub samples: Vec<Sample>,
}

impl Family {
    /// The value of the sample with exactly these labels.
    pub fn value(&self, labels: &[(&str, &str)]) -> Option<f64> {
        let mut want: Vec<(String, String)> = labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        want.sort();
        self.samples
            .iter()
            .find(|s| s.labels == want)
            .map(|s| s.value)
    }
}

fn is_name(text: &str, colon: bool) -> bool {
    let mut chars = text.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_' || (colon && c == ':'))
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || (colon && c == ':'))
}

/// Reads an escaped string up to (not including) an unescaped `"` or the end; returns the
/// text and the rest (starting at the `"`).
fn unescape(text: &str, until_quote: bool) -> Result<(String, &str), String> {
    let mut out = String::new();
    let mut chars = text.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' if until_quote => return Ok((out, &text[i..])),
            '"' => return Err(format!("raw quote in {text:?}")),
            '\\' => match chars.next() {
                Some((_, '\\')) => out.push('\\'),
                Some((_, '"')) => out.push('"'),
                Some((_, 'n')) => out.push('\n'),
                other => return Err(format!("bad escape {other:?} in {text:?}")),
            },
            c => out.push(c),
        }
    }
    if until_quote {
        Err(format!("unterminated label value {text:?}"))
    } else {
        Ok((out, ""))
    }
}

fn number(text: &str) -> Result<f64, String> {
    let lower = text.to_ascii_lowercase();
    let unsigned = lower.trim_start_matches(['+', '-']);
    let special = ["inf", "infinity", "nan"].contains(&unsigned);
    let digits = unsigned.split(['e']).collect::<Vec<_>>();
    let real = !unsigned.is_empty()
        && digits.len() <= 2
        && {
            let mantissa = digits[0];
            let (int, frac) = mantissa.split_once('.').unwrap_or((mantissa, ""));
            (!int.is_empty() || !frac.is_empty())
                && int.bytes().all(|b| b.is_ascii_digit())
                && frac.bytes().all(|b| b.is_ascii_digit())
                && mantissa.matches('.').count() <= 1
        }
        && digits.get(1).is_none_or(|e| {
            let e = e.trim_start_matches(['+', '-']);
            !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
        });
    if !(special || real) || (special && unsigned == "nan" && lower != unsigned) {
        return Err(format!("not a number: {text:?}"));
    }
    match unsigned {
        "inf" | "infinity" if lower.starts_with('-') => Ok(f64::NEG_INFINITY),
        "inf" | "infinity" => Ok(f64::INFINITY),
        "nan" => Ok(f64::NAN),
        _ => text.parse().map_err(|_| format!("not a number: {text:?}")),
    }
}

/// Label name → value pairs, sorted by name.
type Labels = Vec<(String, String)>;

fn labels(mut text: &str) -> Result<(Labels, &str), String> {
    let mut out = Vec::new();
    text = &text[1..];
    if let Some(rest) = text.strip_prefix('}') {
        return Ok((out, rest));
    }
    loop {
        let eq = text.find('=').ok_or("label without =")?;
        let name = &text[..eq];
        if !is_name(name, false) {
            return Err(format!("bad label name {name:?}"));
        }
        let rest = text[eq + 1..]
            .strip_prefix('"')
            .ok_or("label value not quoted")?;
        let (value, rest) = unescape(rest, true)?;
        if out.iter().any(|(n, _)| n == name) {
            return Err(format!("label {name} twice"));
        }
        out.push((name.to_owned(), value));
        let rest = &rest[1..];
        if let Some(rest) = rest.strip_prefix(',') {
            text = rest;
        } else if let Some(rest) = rest.strip_prefix('}') {
            out.sort();
            return Ok((out, rest));
        } else {
            return Err(format!("expected , or }} at {rest:?}"));
        }
    }
}

/// Parses an exposition into its families, or the first violation.
pub fn parse(text: &str) -> Result<BTreeMap<String, Family>, String> {
    let body = text
        .strip_suffix("# EOF\n")
        .or_else(|| text.strip_suffix("# EOF"))
        .ok_or("does not end with # EOF")?;
    if text.contains('\r') {
        return Err("carriage return".into());
    }
    if !body.is_empty() && !body.ends_with('\n') {
        return Err("# EOF not on its own line".into());
    }
    let mut families: BTreeMap<String, Family> = BTreeMap::new();
    let mut current: Option<String> = None;
    let mut sampled = false;
    for (n, line) in body.lines().enumerate() {
        let at = |why: String| format!("line {}: {why}: {line:?}", n + 1);
        if let Some(meta) = line.strip_prefix("# ") {
            let (keyword, rest) = meta
                .split_once(' ')
                .ok_or_else(|| at("bad metadata".into()))?;
            let (name, value) = rest.split_once(' ').unwrap_or((rest, ""));
            if !is_name(name, true) {
                return Err(at("bad metric name".into()));
            }
            if current.as_deref() != Some(name) {
                if families.contains_key(name) {
                    return Err(at("family interleaved or repeated".into()));
                }
                families.insert(name.to_owned(), Family::default());
                current = Some(name.to_owned());
                sampled = false;
            } else if sampled {
                return Err(at("metadata after samples".into()));
            }
            let family = families
                .get_mut(name)
                .ok_or_else(|| at("no family".into()))?;
            let slot = match keyword {
                "TYPE" => {
                    if ![
                        "counter",
                        "gauge",
                        "histogram",
                        "gaugehistogram",
                        "stateset",
                        "info",
                        "summary",
                        "unknown",
                    ]
                    .contains(&value)
                    {
                        return Err(at("bad type".into()));
                    }
                    &mut family.kind
                }
                "UNIT" => {
                    if !value.is_empty() && !name.ends_with(&format!("_{value}")) {
                        return Err(at("unit is not the name's suffix".into()));
                    }
                    &mut family.unit
                }
                "HELP" => &mut family.help,
                _ => return Err(at("a # line that is not TYPE, UNIT or HELP".into())),
            };
            if slot.is_some() {
                return Err(at("metadata line twice".into()));
            }
            let (value, _) = unescape(value, false).map_err(at)?;
            *slot = Some(value);
            continue;
        }
        let end = line
            .find(['{', ' '])
            .ok_or_else(|| at("sample without value".into()))?;
        let name = &line[..end];
        let family_name = current
            .as_deref()
            .ok_or_else(|| at("sample before metadata".into()))?;
        let kind = families[family_name].kind.clone().unwrap_or_default();
        if name != family_name || !(kind == "gauge" || kind == "unknown") {
            return Err(at(format!(
                "sample {name} not of the gauge family {family_name}"
            )));
        }
        let (labels, rest) = if line[end..].starts_with('{') {
            labels(&line[end..]).map_err(at)?
        } else {
            (Vec::new(), &line[end..])
        };
        let value = rest
            .strip_prefix(' ')
            .ok_or_else(|| at("no space before the value".into()))?;
        if value.contains(' ') {
            return Err(at("timestamps or exemplars are not written".into()));
        }
        let value = number(value).map_err(at)?;
        let family = families
            .get_mut(family_name)
            .ok_or_else(|| at("no family".into()))?;
        // An empty label value is an absent label.
        let labels: Vec<(String, String)> =
            labels.into_iter().filter(|(_, v)| !v.is_empty()).collect();
        if family.samples.iter().any(|s| s.labels == labels) {
            return Err(at("label set twice in the family".into()));
        }
        family.samples.push(Sample { labels, value });
        sampled = true;
    }
    Ok(families)
}
