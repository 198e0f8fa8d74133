//! The functions Helm charts call: Go's template builtins and the part of Sprig and Helm's own
//! (`include`, `tpl`, `toYaml`, `required`…) that decides what a manifest says. Functions
//! whose result cannot matter for a workload's shape (checksums, random strings, dates) give
//! a fixed placeholder; an unknown function stops the template (the caller notes it).

use serde_json::{Map, Value};

use super::eval::Run;
use super::values::{
    compare, equal, indent, kind_of, list, merge, num, number, printf, text, to_text, to_yaml,
    truthy,
};

/// Call function `name` with `args` (the piped value last).
pub(super) fn call(run: &mut Run<'_>, name: &str, args: Vec<Value>) -> Result<Value, String> {
    let a = |i: usize| args.get(i).cloned().unwrap_or(Value::Null);
    let last = || args.last().cloned().unwrap_or(Value::Null);
    let s = |i: usize| text(args.get(i));
    let strs = || args.iter().map(to_text).collect::<Vec<_>>();
    Ok(match name {
        // Helm
        "include" => Value::String(run.include(&s(0), a(1))?),
        "tpl" => Value::String(run.tpl(&s(0), a(1))?),
        "required" => {
            if truthy(&a(1)) || matches!(a(1), Value::Bool(_) | Value::Number(_)) {
                a(1)
            } else {
                return Err(format!("required value missing: {}", s(0)));
            }
        }
        "fail" => return Err(format!("the chart fails: {}", s(0))),
        "toYaml" | "toYamlPretty" => Value::String(to_yaml(&last())?),
        "fromYaml" => serde_yaml::from_str::<Value>(&s(0)).unwrap_or(Value::Object(Map::new())),
        "fromYamlArray" | "fromJsonArray" => {
            serde_yaml::from_str::<Value>(&s(0)).unwrap_or(Value::Array(Vec::new()))
        }
        "toJson" | "toRawJson" | "mustToJson" => Value::String(last().to_string()),
        "toPrettyJson" => Value::String(serde_json::to_string_pretty(&last()).unwrap_or_default()),
        "fromJson" => serde_json::from_str(&s(0)).unwrap_or(Value::Object(Map::new())),
        "lookup" => Value::Object(Map::new()),
        // Go builtins
        "eq" => Value::Bool(args.iter().skip(1).any(|b| equal(&a(0), b))),
        "ne" => Value::Bool(!equal(&a(0), &a(1))),
        "lt" => Value::Bool(compare(&a(0), &a(1)).is_lt()),
        "le" => Value::Bool(compare(&a(0), &a(1)).is_le()),
        "gt" => Value::Bool(compare(&a(0), &a(1)).is_gt()),
        "ge" => Value::Bool(compare(&a(0), &a(1)).is_ge()),
        "not" => Value::Bool(!truthy(&a(0))),
        "and" => args
            .iter()
            .find(|v| !truthy(v))
            .cloned()
            .unwrap_or_else(last),
        "or" => args
            .iter()
            .find(|v| truthy(v))
            .cloned()
            .unwrap_or_else(last),
        "len" => Value::from(match &a(0) {
            Value::String(t) => t.len(),
            Value::Array(x) => x.len(),
            Value::Object(m) => m.len(),
            _ => 0,
        }),
        "index" => {
            let mut cur = a(0);
            for k in &args[1.min(args.len())..] {
                cur = match (&cur, k) {
                    (Value::Array(x), k) => x.get(num(k) as usize).cloned().unwrap_or(Value::Null),
                    (Value::Object(m), k) => m.get(&to_text(k)).cloned().unwrap_or(Value::Null),
                    _ => Value::Null,
                };
            }
            cur
        }
        "print" => Value::String(strs().concat()),
        "println" => Value::String(format!("{}\n", strs().join(" "))),
        "printf" => Value::String(printf(&args)),
        "html" | "js" | "urlquery" | "b64enc" | "b64dec" | "toString" | "toStrings" => {
            if name == "toStrings" {
                Value::Array(
                    list(&last())
                        .iter()
                        .map(|v| Value::String(to_text(v)))
                        .collect(),
                )
            } else {
                Value::String(to_text(&last()))
            }
        }
        // Sprig: defaults and logic
        "default" => {
            if truthy(&a(1)) || matches!(a(1), Value::Bool(true)) {
                a(1)
            } else {
                a(0)
            }
        }
        "empty" => Value::Bool(!truthy(&a(0))),
        "coalesce" => args
            .iter()
            .find(|v| truthy(v))
            .cloned()
            .unwrap_or(Value::Null),
        "ternary" => {
            if truthy(&a(2)) {
                a(0)
            } else {
                a(1)
            }
        }
        "kindIs" => Value::Bool(s(0) == kind_of(&a(1))),
        "kindOf" | "typeOf" => Value::String(kind_of(&a(0)).into()),
        "typeIs" => Value::Bool(s(0).ends_with(kind_of(&a(1)))),
        "semverCompare" | "semver" => Value::Bool(true),
        "regexMatch" | "mustRegexMatch" => Value::Bool(false),
        "deepEqual" => Value::Bool(a(0) == a(1)),
        // strings
        "quote" => Value::String(
            strs()
                .iter()
                .map(|t| format!("{t:?}"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "squote" => Value::String(
            strs()
                .iter()
                .map(|t| format!("'{t}'"))
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "upper" => Value::String(s(0).to_uppercase()),
        "lower" => Value::String(s(0).to_lowercase()),
        "title" => Value::String(
            s(0).split(' ')
                .map(|w| {
                    let mut c = w.chars();
                    c.next()
                        .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
                })
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "trim" => Value::String(s(0).trim().to_owned()),
        "trimAll" => Value::String(s(1).trim_matches(|c| s(0).contains(c)).to_owned()),
        "trimPrefix" => Value::String(s(1).strip_prefix(&s(0)).map_or_else(|| s(1), str::to_owned)),
        "trimSuffix" => Value::String(s(1).strip_suffix(&s(0)).map_or_else(|| s(1), str::to_owned)),
        "nospace" => Value::String(s(0).split_whitespace().collect()),
        "replace" => Value::String(s(2).replace(&s(0), &s(1))),
        "regexReplaceAll" | "regexReplaceAllLiteral" => a(0),
        "contains" => Value::Bool(s(1).contains(&s(0))),
        "hasPrefix" => Value::Bool(s(1).starts_with(&s(0))),
        "hasSuffix" => Value::Bool(s(1).ends_with(&s(0))),
        "trunc" => {
            let t: Vec<char> = s(1).chars().collect();
            let n = num(&a(0)) as i64;
            let kept: String = if n >= 0 {
                t.iter().take(n as usize).collect()
            } else {
                t.iter()
                    .skip(t.len().saturating_sub(n.unsigned_abs() as usize))
                    .collect()
            };
            Value::String(kept)
        }
        "substr" => {
            let t: Vec<char> = s(2).chars().collect();
            let (from, to) = (num(&a(0)).max(0.0) as usize, num(&a(1)) as i64);
            let to = if to < 0 {
                t.len()
            } else {
                (to as usize).min(t.len())
            };
            Value::String(
                t.get(from.min(to)..to)
                    .map(|c| c.iter().collect())
                    .unwrap_or_default(),
            )
        }
        "indent" => Value::String(indent(num(&a(0)) as usize, &s(1))),
        "nindent" => Value::String(format!("\n{}", indent(num(&a(0)) as usize, &s(1)))),
        "cat" => Value::String(
            strs()
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect::<Vec<_>>()
                .join(" "),
        ),
        "repeat" => Value::String(s(1).repeat((num(&a(0)) as usize).min(10_000))),
        "kebabcase" | "snakecase" | "camelcase" | "plural" => a(0),
        "sha256sum" | "sha1sum" | "adler32sum" => Value::String("0".repeat(64)),
        "randAlphaNum" | "randAlpha" | "randNumeric" | "randAscii" => {
            Value::String("x".repeat((num(&a(0)) as usize).min(256)))
        }
        "uuidv4" => Value::String("00000000-0000-4000-8000-000000000000".into()),
        "now" | "date" | "dateInZone" | "htmlDate" => Value::String(String::new()),
        "split" | "splitList" => {
            let parts = s(1)
                .split(&s(0))
                .map(|p| Value::String(p.to_owned()))
                .collect::<Vec<_>>();
            if name == "split" {
                Value::Object(
                    parts
                        .into_iter()
                        .enumerate()
                        .map(|(i, p)| (format!("_{i}"), p))
                        .collect(),
                )
            } else {
                Value::Array(parts)
            }
        }
        "join" => Value::String(
            list(&a(1))
                .iter()
                .map(to_text)
                .collect::<Vec<_>>()
                .join(&s(0)),
        ),
        // numbers
        "int" | "int64" | "atoi" => Value::from(num(&a(0)) as i64),
        "float64" => number(num(&a(0))),
        "add" => number(args.iter().map(num).sum()),
        "add1" => number(num(&a(0)) + 1.0),
        "sub" => number(num(&a(0)) - num(&a(1))),
        "sub1" => number(num(&a(0)) - 1.0),
        "mul" => number(args.iter().map(num).product()),
        "div" => number(if num(&a(1)) == 0.0 {
            0.0
        } else {
            (num(&a(0)) / num(&a(1))).trunc()
        }),
        "mod" => number(if num(&a(1)) == 0.0 {
            0.0
        } else {
            num(&a(0)) % num(&a(1))
        }),
        "max" => number(args.iter().map(num).fold(f64::MIN, f64::max)),
        "min" => number(args.iter().map(num).fold(f64::MAX, f64::min)),
        "until" => Value::Array(
            (0..(num(&a(0)) as i64).clamp(0, 100_000))
                .map(Value::from)
                .collect(),
        ),
        // lists and dicts
        "list" | "tuple" => Value::Array(args.clone()),
        "first" => list(&a(0)).first().cloned().unwrap_or(Value::Null),
        "last" => list(&a(0)).last().cloned().unwrap_or(Value::Null),
        "rest" => Value::Array(list(&a(0)).into_iter().skip(1).collect()),
        "initial" => {
            let mut l = list(&a(0));
            l.pop();
            Value::Array(l)
        }
        "append" | "mustAppend" | "push" => {
            let mut l = list(&a(0));
            l.push(a(1));
            Value::Array(l)
        }
        "prepend" => {
            let mut l = list(&a(0));
            l.insert(0, a(1));
            Value::Array(l)
        }
        "concat" => Value::Array(args.iter().flat_map(list).collect()),
        "uniq" => {
            let mut out: Vec<Value> = Vec::new();
            for v in list(&a(0)) {
                if !out.contains(&v) {
                    out.push(v);
                }
            }
            Value::Array(out)
        }
        "has" => Value::Bool(list(&a(1)).contains(&a(0))),
        "without" => {
            let drop = &args[1.min(args.len())..];
            Value::Array(
                list(&a(0))
                    .into_iter()
                    .filter(|v| !drop.contains(v))
                    .collect(),
            )
        }
        "compact" => Value::Array(list(&a(0)).into_iter().filter(truthy).collect()),
        "dict" => {
            let mut m = Map::new();
            for pair in args.chunks(2) {
                m.insert(
                    to_text(&pair[0]),
                    pair.get(1).cloned().unwrap_or(Value::Null),
                );
            }
            Value::Object(m)
        }
        "get" => a(0)
            .get(s(1))
            .cloned()
            .unwrap_or(Value::String(String::new())),
        "hasKey" => Value::Bool(a(0).get(s(1)).is_some()),
        "keys" => {
            let mut k: Vec<String> = args
                .iter()
                .filter_map(Value::as_object)
                .flat_map(|m| m.keys().cloned())
                .collect();
            k.sort();
            Value::Array(k.into_iter().map(Value::String).collect())
        }
        "values" => Value::Array(
            a(0).as_object()
                .map(|m| m.values().cloned().collect())
                .unwrap_or_default(),
        ),
        "pluck" => Value::Array(
            args[1.min(args.len())..]
                .iter()
                .filter_map(|d| d.get(s(0)).cloned())
                .collect(),
        ),
        "pick" | "omit" => {
            let names: Vec<String> = args[1.min(args.len())..].iter().map(to_text).collect();
            let keep = name == "pick";
            Value::Object(
                a(0).as_object()
                    .map(|m| {
                        m.iter()
                            .filter(|(k, _)| names.contains(k) == keep)
                            .map(|(k, v)| (k.clone(), v.clone()))
                            .collect()
                    })
                    .unwrap_or_default(),
            )
        }
        "set" => {
            // `set` changes the dict in place in Go; here it returns the changed copy.
            let mut m = a(0).as_object().cloned().unwrap_or_default();
            m.insert(s(1), a(2));
            Value::Object(m)
        }
        "unset" => {
            let mut m = a(0).as_object().cloned().unwrap_or_default();
            m.remove(&s(1));
            Value::Object(m)
        }
        "merge" | "mergeOverwrite" | "mustMerge" | "mustMergeOverwrite" => {
            let overwrite = name.contains("Overwrite");
            let mut out = a(0);
            for src in args.iter().skip(1) {
                merge(&mut out, src, overwrite);
            }
            out
        }
        "deepCopy" | "mustDeepCopy" => a(0),
        "dig" => {
            // dig "a" "b" default dict
            let n = args.len();
            let (keys, default, dict) = if n >= 2 {
                (&args[..n - 2], a(n - 2), a(n - 1))
            } else {
                (&args[..0], Value::Null, Value::Null)
            };
            let mut cur = dict;
            for k in keys {
                match cur.get(to_text(k)) {
                    Some(v) => cur = v.clone(),
                    None => return Ok(default),
                }
            }
            cur
        }
        other => return Err(format!("the function `{other}` is not followed")),
    })
}
