//! What a span attribute's value is, read from its source text (TG302): a whole body, header
//! map, message payload or serialised object, or a scalar (a size, an id, a flag) that merely
//! mentions one. Judged conservatively: a value is whole only when its text says so.

use crate::check::facts::tokens;

/// Tokens that make a value a size or count of something (`len(body)`, `body.Length`,
/// `Buffer.byteLength(…)`, `record.serializedValueSize()`, `request.content_length`).
const SIZES: &[&str] = &["len", "length", "size", "count", "bytes_length"];

/// Last tokens of a field that is an identifier, a name or a flag, never a whole object.
const SCALAR_FIELDS: &[&str] = &[
    "id",
    "ids",
    "uuid",
    "guid",
    "key",
    "type",
    "kind",
    "status",
    "code",
    "method",
    "offset",
    "version",
    "name",
    "partition",
    "topic",
    "count",
];

/// Method and member names that convert or borrow a value without changing what it holds
/// (`body.clone()`, `eventArgs.Body.ToArray()`, `eventArgs.Body.Span`): skipped at the end of
/// a path.
const PASS_THROUGH: &[&str] = &[
    "clone", "owned", "to", "as", "string", "str", "vec", "ref", "bytes", "array", "span",
    "unwrap", "into", "borrow", "copy",
];

/// Calls whose result is their (first) argument in another form: `str(x)`, `string(x)`,
/// `String(x)`, `Encoding.UTF8.GetString(x)`, `fmt.Sprint(x)`, `JSON.parse(x)`, `Buffer.from(x)`.
const CONVERSIONS: &[&str] = &[
    "str",
    "string",
    "get_string",
    "to_string",
    "sprint",
    "parse",
    "loads",
    "from",
    "decode",
    "value_of",
    "format",
    "bytes",
];

/// Calls that serialise an object whole (the last segment's tokens, joined with `_`).
const SERIALISERS: &[&str] = &[
    "stringify",
    "dumps",
    "serialize",
    "serialize_object",
    "marshal",
    "marshal_indent",
    "pformat",
    "inspect",
    "repr",
    "to_json",
    "to_json_string",
    "write_value_as_string",
];

/// A request's or response's parts that are its whole content (`request.json`,
/// `req.get_data()`, `request.form`), after one of [`HTTP_OBJECTS`].
const HTTP_PARTS: &[&str] = &["json", "data", "form", "content", "cookies"];
const HTTP_OBJECTS: &[&str] = &["req", "request", "res", "response", "resp", "reply", "r"];

/// A message's or record's payload (`record.value()`, `msg.Value`, `message.Data`), after one
/// of [`MESSAGE_OBJECTS`].
const MESSAGE_PARTS: &[&str] = &["value", "body", "data", "payload", "content"];
const MESSAGE_OBJECTS: &[&str] = &["record", "message", "msg", "delivery", "event", "consumer"];

/// Bare names that, printed with Go's `%v`, print a whole message or request.
const PRINTED_WHOLE: &[&str] = &[
    "msg", "message", "req", "request", "resp", "response", "payload", "body", "event", "record",
];

/// Iterated collections that are whole header maps, cookies or bodies.
const COLLECTIONS: &[&str] = &[
    "headers", "header", "cookies", "cookie", "body", "payload", "form", "json",
];
/// Words that make an iterated collection an allow-list of names (`CAPTURED_HEADERS`).
const ALLOW_LISTS: &[&str] = &[
    "allowed",
    "allow",
    "allowlist",
    "whitelist",
    "safe",
    "captured",
    "recorded",
    "selected",
    "permitted",
];

/// Whether a value is a literal (a string, number or boolean; a template literal that
/// interpolates is not one).
pub fn literal(value: &str) -> bool {
    let v = value.trim();
    let quoted = v.starts_with(['"', '\'']) || (v.starts_with('`') && !v.contains("${"));
    quoted
        || v.starts_with(|c: char| c.is_ascii_digit())
        || matches!(
            v,
            "true" | "false" | "True" | "False" | "null" | "nil" | "None"
        )
}

/// Whether a value is a scalar: a size or count, a comparison or flag, an id, key, type or
/// name field.
pub fn scalar(value: &str) -> bool {
    let toks = tokens(value);
    let flag = toks.iter().any(|t| t == "is" || t == "has")
        || value.trim_start().starts_with('!')
        || ["==", "!=", "<=", ">="].iter().any(|op| value.contains(op));
    flag || toks.iter().any(|t| SIZES.contains(&t.as_str()))
        || toks
            .last()
            .is_some_and(|t| SCALAR_FIELDS.contains(&t.as_str()))
}

/// Why `value` (with the `origin` of a bare local name) is a whole body, header map, payload or
/// serialised object; `None` when it is not, or not visibly. `words` are the rule's `keys`.
/// `origin` is `(text, typed)`: a declared type when `typed`, else a value assigned.
pub fn whole_value(value: &str, origin: Option<(&str, bool)>, words: &[String]) -> Option<String> {
    if literal(value) || scalar(value) {
        return None;
    }
    whole(value, words, 0).or_else(|| {
        let (origin, typed) = origin.filter(|(o, _)| !literal(o) && !scalar(o))?;
        let why = if typed {
            whole_type(origin)
        } else {
            whole(origin, words, 0)
        };
        why.map(|why| format!("{why}, from `{origin}`"))
    })
}

/// Types whose values are whole requests, responses or messages (`*http.Request`,
/// `HttpServletRequest`, `ConsumerRecord<String, String>`, `BasicDeliverEventArgs`,
/// `*sarama.ConsumerMessage`), by their last word.
const WHOLE_TYPES: &[&str] = &[
    "request", "response", "message", "payload", "body", "envelope", "record",
];

/// Why a declared type (`*http.Request`, `ConsumerRecord<String, String>`) is a whole request,
/// response or message, by its name's last word (generic arguments aside).
fn whole_type(ty: &str) -> Option<String> {
    let t = ty.trim_start_matches(['*', '&', '[', ']', ' ', '?']);
    let base = t.split('<').next().unwrap_or(t);
    let last = base.rsplit(['.', ':']).next().unwrap_or(base);
    let toks = tokens(last);
    let (word, before) = toks.split_last()?;
    let whole = WHOLE_TYPES.contains(&word.as_str())
        || (word == "args" && before.last().is_some_and(|t| t == "event"));
    whole.then(|| format!("a whole {}", toks.join(" ")))
}

/// Why a loop over `over` (innermost first) copies a whole collection. A bare name (a constant,
/// a local of unknown origin) is not judged; the extractor gives a local's origin with it
/// (`headers: http.Header`, `headers = request.headers`).
pub fn whole_collection(over: &[String]) -> Option<String> {
    over.iter().find_map(|x| {
        let bare = !x.contains(['.', '(', ':']);
        let toks = tokens(x);
        let allow = toks.iter().any(|t| ALLOW_LISTS.contains(&t.as_str()));
        let whole = toks.iter().any(|t| COLLECTIONS.contains(&t.as_str()));
        (!bare && !allow && !x.contains(['"', '\'']) && whole)
            .then(|| format!("copies each entry of `{x}`"))
    })
}

fn whole(text: &str, words: &[String], depth: usize) -> Option<String> {
    let t = strip_prefixes(text);
    if depth > 4 || t.is_empty() {
        return None;
    }
    match as_call(t) {
        Some((callee, args)) => {
            let last = callee.rsplit(['.', ':']).next().unwrap_or(callee);
            let last = tokens(last).join("_");
            let json_callee = tokens(callee).iter().any(|t| t == "json");
            if SERIALISERS.contains(&last.as_str())
                || (json_callee && matches!(last.as_str(), "to_string" | "to_vec" | "encode"))
            {
                if scalar(args) {
                    return None;
                }
                // An object or list literal serialises the fields it names: whole only if one
                // of them is (`{ ...req.body }`, `{ body: req.body }`).
                if let Some(fields) = literal_fields(args) {
                    return fields
                        .into_iter()
                        .find_map(|f| whole(f, words, depth + 1))
                        .map(|_| "a serialised object".to_string());
                }
                return Some("a serialised object".to_string());
            }
            if last == "sprintf" {
                // Go: `%+v`/`%#v` print a struct whole; otherwise judge what is printed.
                if args.contains("%+v") || args.contains("%#v") {
                    return Some("a serialised object".to_string());
                }
                // A bare message or request printed with `%v` is printed whole.
                let printed = split_top(args).into_iter().skip(1);
                return printed.filter(|a| !scalar(a)).find_map(|a| {
                    let bare = PRINTED_WHOLE.contains(&a.trim_start_matches(['*', '&']));
                    if bare {
                        Some("a serialised object".to_string())
                    } else {
                        whole(a, words, depth + 1)
                    }
                });
            }
            if CONVERSIONS.contains(&last.as_str()) {
                let first = split_top(args).into_iter().next()?;
                return whole(first, words, depth + 1);
            }
            // A method call: what its path names (`record.value()`, `request.get_data()`).
            whole_path(callee, true, words)
        }
        None => whole_path(t, false, words),
    }
}

/// The values of an object, dictionary or list literal (`{ sku: item.sku, ...rest }`,
/// `{"id": order_id}`, `[a, b]`, C#'s `new { order.Id }`): `None` when `args` is no literal.
fn literal_fields(args: &str) -> Option<Vec<&str>> {
    let first = split_top(args).into_iter().next()?;
    let t = first.strip_prefix("new").map_or(first, str::trim_start);
    let inner = t
        .strip_prefix('{')
        .and_then(|r| r.strip_suffix('}'))
        .or_else(|| t.strip_prefix('[').and_then(|r| r.strip_suffix(']')))?;
    Some(
        split_top(inner)
            .into_iter()
            .map(|part| {
                // `key: value`, `"key": value`, `Key = value`: the value; `...x`, `**x`: x.
                let value = top_level_split(part, &[':', '=']).unwrap_or(part);
                value.trim().trim_start_matches(['.', '*'])
            })
            .collect(),
    )
}

/// What follows the first top-level `:` or `=` of `part` (outside strings and brackets).
fn top_level_split<'t>(part: &'t str, seps: &[char]) -> Option<&'t str> {
    let (mut depth, mut quote) = (0i32, None::<char>);
    for (i, c) in part.char_indices() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, c) if depth == 0 && seps.contains(&c) => {
                return Some(&part[i + c.len_utf8()..]);
            }
            _ => {}
        }
    }
    None
}

/// `await `, `&`, `*`, `?` (tracing's Debug) and `%` (Display) before a value.
fn strip_prefixes(text: &str) -> &str {
    let mut t = text.trim();
    loop {
        let next = t
            .strip_prefix("await ")
            .or_else(|| t.strip_prefix(['&', '*', '?', '%']))
            .map(str::trim_start);
        match next {
            Some(n) => t = n,
            None => return t,
        }
    }
}

/// `callee(args)` when the whole text is one call of a dotted name.
fn as_call(text: &str) -> Option<(&str, &str)> {
    let open = text.find('(')?;
    let callee = &text[..open];
    let named = !callee.is_empty()
        && callee
            .chars()
            .all(|c| c.is_alphanumeric() || matches!(c, '_' | '.' | ':' | '$' | '?'));
    if !named || !text.ends_with(')') {
        return None;
    }
    // The parenthesis opened after the callee must be the one that closes the text.
    let mut depth = 0usize;
    for (i, c) in text[open..].char_indices() {
        match c {
            '(' => depth += 1,
            ')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return (open + i == text.len() - 1)
                        .then(|| (callee.trim_end_matches('?'), &text[open + 1..open + i]));
                }
            }
            _ => {}
        }
    }
    None
}

/// Arguments split on top-level commas (not inside brackets or strings).
fn split_top(args: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut quote, mut start) = (0i32, None::<char>, 0);
    for (i, c) in args.char_indices() {
        match (quote, c) {
            (Some(q), _) if c == q => quote = None,
            (Some(_), _) => {}
            (None, '"' | '\'' | '`') => quote = Some(c),
            (None, '(' | '[' | '{') => depth += 1,
            (None, ')' | ']' | '}') => depth -= 1,
            (None, ',') if depth == 0 => {
                out.push(args[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(args[start..].trim());
    out.retain(|a| !a.is_empty());
    out
}

/// Why a member path (or a method's path, `call`) names a whole body, header map or payload.
fn whole_path(path: &str, call: bool, words: &[String]) -> Option<String> {
    if path.contains(['"', '[', '\'']) {
        return None;
    }
    let mut toks = tokens(path);
    while toks.len() > 1
        && toks
            .last()
            .is_some_and(|t| PASS_THROUGH.contains(&t.as_str()))
    {
        toks.pop();
    }
    let (last, before) = toks.split_last()?;
    let after = |objects: &[&str]| before.iter().any(|t| objects.contains(&t.as_str()));
    let why = if words.contains(last) {
        "a whole body, header map or request"
    } else if last == "header" && !call && !before.is_empty() {
        // Go's `r.Header` is the header map; `request.getHeader(name)` is one header.
        "a whole header map"
    } else if HTTP_PARTS.contains(&last.as_str()) && after(HTTP_OBJECTS) {
        "a whole request or response body"
    } else if MESSAGE_PARTS.contains(&last.as_str()) && after(MESSAGE_OBJECTS) {
        "a whole message payload"
    } else {
        return None;
    };
    Some(why.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words() -> Vec<String> {
        ["body", "payload", "headers", "req", "request"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    }

    fn is_whole(value: &str) -> bool {
        whole_value(value, None, &words()).is_some()
    }

    #[test]
    fn whole_objects_serialised_or_converted() {
        for v in [
            "JSON.stringify(result)",
            "json.dumps(payload)",
            "json.dumps(order)",
            "JsonSerializer.Serialize(order)",
            "objectMapper.writeValueAsString(event)",
            "fmt.Sprintf(\"%+v\", req)",
            "fmt.Sprintf(\"%v\", msg.Value)",
            "str(request.json)",
            "request.get_json()",
            "string(body)",
            "body.clone()",
            "Encoding.UTF8.GetString(eventArgs.Body.Span)",
            "record.value()",
            "string(msg.Value)",
            "r.Header",
            "await req.json()",
            "?request",
            "serde_json::to_string(&order)",
        ] {
            assert!(is_whole(v), "{v}");
        }
    }

    #[test]
    fn scalars_and_fields_are_not_whole() {
        for v in [
            "len(body)",
            "Buffer.byteLength(JSON.stringify(product))",
            "eventArgs.Body.Length",
            "record.serializedValueSize()",
            "request.content_length or 0",
            "req.IsRetry",
            "request.is_retry",
            "request_type",
            "order.id",
            "req.OrderID",
            "cache_key",
            "record.key()",
            "request.getHeader(name)",
            "req.get(name)",
            "request.headers[\"x-request-id\"]",
            "cardHolderOf(record.value())",
            "fmt.Sprintf(\"%v\", count)",
            "JSON.stringify(order.id)",
            "\"payload\"",
            "err.message",
            "ex.Message",
        ] {
            assert!(!is_whole(v), "{v}");
        }
    }

    #[test]
    fn a_bare_name_is_judged_by_its_origin() {
        let w = words();
        let why = whole_value(
            "message",
            Some(("Encoding.UTF8.GetString(eventArgs.Body.Span)", false)),
            &w,
        );
        assert!(why.is_some_and(|w| w.contains("from `Encoding")));
        assert_eq!(
            whole_value("message", Some(("ex.Message", false)), &w),
            None
        );
        assert_eq!(whole_value("message", None, &w), None);
        // Declared types: a whole request or message; a string or an id is not.
        for (value, ty) in [
            ("r", "*http.Request"),
            ("record", "ConsumerRecord<String, String>"),
            ("ea", "BasicDeliverEventArgs"),
            ("m", "*sarama.ConsumerMessage"),
        ] {
            assert!(whole_value(value, Some((ty, true)), &w).is_some(), "{ty}");
            // The same text assigned is a member path, judged as one.
            if !ty.contains("Request") {
                assert_eq!(whole_value(value, Some((ty, false)), &w), None, "{ty}");
            }
        }
        for ty in [
            "string",
            "String",
            "OrderId",
            "int",
            "RequestType",
            "request_count",
        ] {
            assert_eq!(whole_value("v", Some((ty, true)), &w), None, "{ty}");
        }
    }

    #[test]
    fn serialised_literals_are_whole_only_with_a_whole_field() {
        assert!(!is_whole(
            "JSON.stringify({ sku: item.sku, qty: item.qty })"
        ));
        assert!(!is_whole("json.dumps({\"order\": order_id})"));
        assert!(!is_whole("JsonSerializer.Serialize(new { order.Id })"));
        assert!(is_whole("JSON.stringify({ ...req.body })"));
        assert!(is_whole(
            "JSON.stringify({ input: req.body, at: Date.now() })"
        ));
        assert!(is_whole("json.dumps({**request.json})"));
    }

    #[test]
    fn go_verbs_print_messages_whole() {
        assert!(is_whole("fmt.Sprintf(\"%v\", msg)"));
        assert!(is_whole("fmt.Sprintf(\"order %v\", *req)"));
        assert!(!is_whole("fmt.Sprintf(\"%v\", orderID)"));
        assert!(!is_whole("fmt.Sprintf(\"%d\", n)"));
    }

    #[test]
    fn loops_over_whole_collections() {
        let over = |x: &str| whole_collection(&[x.to_string()]);
        for x in [
            "Object.entries(req.headers)",
            "request.headers.items()",
            "r.Header",
            "headers: http.Header",
            "headers: HttpHeaders",
            "headers = request.headers",
            "context.Request.Headers",
            "Collections.list(request.getHeaderNames())",
            "req.cookies",
        ] {
            assert!(over(x).is_some(), "{x}");
        }
        for x in [
            "CAPTURED_HEADERS",
            "capturedHeaders",
            "names: List<String>",
            "recordedHeaders = config.headers()",
            "[]string{\"X-Request-Id\", \"X-Client-Version\"}",
            "config.allowedHeaders",
            "order.items",
        ] {
            assert!(over(x).is_none(), "{x}");
        }
    }
}
