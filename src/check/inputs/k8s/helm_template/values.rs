//! Values as Go templates see them: truth, printing, numbers, comparison, and the list and
//! map helpers Sprig's functions share.

use serde_json::Value;

/// Go's truth: false, 0, nil and empty strings, lists and maps are false.
pub(super) fn truthy(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => !a.is_empty(),
        Value::Object(m) => !m.is_empty(),
    }
}

/// A number as JSON: whole numbers as integers.
pub(super) fn number(n: f64) -> Value {
    if n.fract() == 0.0 && n.abs() < 9.0e15 {
        Value::from(n as i64)
    } else {
        serde_json::Number::from_f64(n).map_or(Value::Null, Value::Number)
    }
}

/// How Go prints a value (`{{ . }}`, `%v`, `toString`); nil prints nothing.
pub(super) fn to_text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) if f.fract() == 0.0 && f.abs() < 1e21 => format!("{f:.0}"),
            _ => n.to_string(),
        },
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(to_text).collect::<Vec<_>>().join(" ")),
        Value::Object(m) => {
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            let parts: Vec<String> = keys
                .into_iter()
                .map(|k| format!("{k}:{}", m.get(k).map(to_text).unwrap_or_default()))
                .collect();
            format!("map[{}]", parts.join(" "))
        }
    }
}

/// Go's kind name of a value (`kindOf`, errors).
pub(super) fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "invalid",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "float64",
        Value::Number(_) => "int",
        Value::String(_) => "string",
        Value::Array(_) => "slice",
        Value::Object(_) => "map",
    }
}

pub(super) fn num(v: &Value) -> f64 {
    match v {
        Value::Number(n) => n.as_f64().unwrap_or(0.0),
        Value::String(s) => s.trim().parse().unwrap_or(0.0),
        Value::Bool(b) => f64::from(u8::from(*b)),
        _ => 0.0,
    }
}

pub(super) fn text(v: Option<&Value>) -> String {
    v.map(to_text).unwrap_or_default()
}

/// YAML as Helm's `toYaml` writes it (no trailing newline; `{}`/`[]` for empty values).
pub(super) fn to_yaml(v: &Value) -> Result<String, String> {
    if v.is_null() {
        return Ok("null".into());
    }
    let s = serde_yaml::to_string(v).map_err(|e| e.to_string())?;
    Ok(s.trim_end_matches('\n').to_owned())
}

pub(super) fn indent(n: usize, s: &str) -> String {
    let pad = " ".repeat(n);
    s.split('\n')
        .map(|l| format!("{pad}{l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

pub(super) fn equal(a: &Value, b: &Value) -> bool {
    match (a, b) {
        (Value::Number(_), Value::Number(_)) => num(a) == num(b),
        _ => a == b,
    }
}

pub(super) fn printf(args: &[Value]) -> String {
    let Some(format) = args.first() else {
        return String::new();
    };
    let format = to_text(format);
    let mut rest = args[1..].iter();
    let mut out = String::new();
    let mut chars = format.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '%' {
            out.push(c);
            continue;
        }
        // flags and width are read and ignored
        while chars.peek().is_some_and(|c| "+-# 0123456789.".contains(*c)) {
            chars.next();
        }
        match chars.next() {
            Some('%') => out.push('%'),
            Some('q') => out.push_str(&format!("{:?}", text(rest.next()))),
            Some('d') => out.push_str(&format!(
                "{}",
                num(rest.next().unwrap_or(&Value::Null)) as i64
            )),
            Some(_) => out.push_str(&text(rest.next())),
            None => out.push('%'),
        }
    }
    out
}

pub(super) fn list(v: &Value) -> Vec<Value> {
    match v {
        Value::Array(a) => a.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

pub(super) fn compare(a: &Value, b: &Value) -> std::cmp::Ordering {
    match (a, b) {
        (Value::String(x), Value::String(y)) => x.cmp(y),
        _ => num(a)
            .partial_cmp(&num(b))
            .unwrap_or(std::cmp::Ordering::Equal),
    }
}

/// Sprig's `merge`: keys of `src` missing from `dst` (or all, with `overwrite`) are copied,
/// maps merged recursively.
pub(super) fn merge(dst: &mut Value, src: &Value, overwrite: bool) {
    let (Value::Object(d), Value::Object(s)) = (dst, src) else {
        return;
    };
    for (k, v) in s {
        match d.get_mut(k) {
            Some(existing @ Value::Object(_)) if v.is_object() => merge(existing, v, overwrite),
            Some(existing) => {
                if overwrite {
                    *existing = v.clone();
                }
            }
            None => {
                d.insert(k.clone(), v.clone());
            }
        }
    }
}
