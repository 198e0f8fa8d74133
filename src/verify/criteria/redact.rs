//! Masking of sensitive values before they are reported: AC-007(b)'s evidence must point at a
//! leak (service, span, attribute), not copy the card number or e-mail into CI logs, step
//! summaries and JUnit files. Applied to every summary and evidence line of a run.

use super::patterns::luhn_valid;

/// `text` with card-number-like digit runs (13–19 digits, standing alone, Luhn-valid) cut to
/// their first and last four digits, e-mail addresses' local part cut to its first character,
/// and the token after `Bearer ` cut to its first four characters.
pub fn redact(text: &str) -> String {
    redact_bearer(&redact_emails(&redact_cards(text)))
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

fn redact_cards(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut copied = 0;
    while i < bytes.len() {
        if !bytes[i].is_ascii_digit() || (i > 0 && is_word(bytes[i - 1])) {
            i += 1;
            continue;
        }
        let start = i;
        while i < bytes.len() && bytes[i].is_ascii_digit() {
            i += 1;
        }
        let run = &bytes[start..i];
        let alone = i == bytes.len() || !is_word(bytes[i]);
        if alone && (13..=19).contains(&run.len()) && luhn_valid(run) {
            out.push_str(&text[copied..start]);
            out.push_str(&text[start..start + 4]);
            out.push('…');
            out.push_str(&text[i - 4..i]);
            copied = i;
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn redact_emails(text: &str) -> String {
    let bytes = text.as_bytes();
    let local = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for at in (0..bytes.len()).filter(|&i| bytes[i] == b'@') {
        let mut start = at;
        while start > copied && local(bytes[start - 1]) {
            start -= 1;
        }
        let domain_ok = bytes.get(at + 1).is_some_and(|b| b.is_ascii_alphanumeric());
        if at - start < 2 || !domain_ok {
            continue;
        }
        out.push_str(&text[copied..start + 1]);
        out.push('…');
        copied = at;
    }
    out.push_str(&text[copied..]);
    out
}

fn redact_bearer(text: &str) -> String {
    const WORD: &str = "bearer ";
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    let mut from = 0;
    while let Some(found) = lower[from..].find(WORD) {
        let start = from + found + WORD.len();
        let bytes = text.as_bytes();
        let mut end = start;
        while end < bytes.len() && !bytes[end].is_ascii_whitespace() && bytes[end] != b'"' {
            end += 1;
        }
        // cut only on a character boundary (the token is ASCII in practice)
        let keep = (start + 4).min(end);
        if end - start > 4 && text.is_char_boundary(keep) && text.is_char_boundary(end) {
            out.push_str(&text[copied..keep]);
            out.push('…');
            copied = end;
        }
        from = end.max(start);
    }
    out.push_str(&text[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn card_numbers_e_mails_and_bearer_tokens_are_masked() {
        let cases = [
            // (input, expected, why)
            (
                r#"span "POST /charge card=4111111111111111 email=jane.doe@example.com", span name"#,
                r#"span "POST /charge card=4111…1111 email=j…@example.com", span name"#,
                "the demo's pii-leak span name",
            ),
            (
                "attribute http.request.header.authorization: Bearer eyJhbGciOiJIUzI1NiJ9.x.y",
                "attribute http.request.header.authorization: Bearer eyJh…",
                "a bearer token keeps four characters",
            ),
            (
                "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
                "trace 4bf92f3577b34da6a3ce929d0e0e4736 span 00f067aa0ba902b7",
                "hex IDs are not card numbers",
            ),
            (
                "order 4111111111111112 failed",
                "order 4111111111111112 failed",
                "not Luhn-valid: not a card number",
            ),
            ("user a@b", "user a@b", "too short to be an address"),
            (
                "p99 22.2ms vs 19.9ms",
                "p99 22.2ms vs 19.9ms",
                "numbers stay",
            ),
        ];
        for (input, expected, why) in cases {
            assert_eq!(redact(input), expected, "{why}");
        }
    }

    #[test]
    fn redaction_never_panics_on_arbitrary_text() {
        for text in [
            "",
            "@",
            "@@x",
            "bearer ",
            "Bearer ééééééé",
            "1234567890123@",
            "é@é.é",
        ] {
            let _ = redact(text);
        }
    }
}
