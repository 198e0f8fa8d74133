//! Escaping of received text (service names, span names, attribute values, file names) before
//! it reaches a terminal or a log: a raw newline would forge an extra output line, and ESC/OSC
//! sequences or bidi overrides would drive the terminal or reorder what the reader sees.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character written as a visible escape: `\n`, `\r`, `\t`, other
/// C0 controls and DEL as `\x1b`, C1 controls (U+0080–U+009F), bidi embedding/override/isolate
/// characters (U+202A–U+202E, U+2066–U+2069) and the line/paragraph separators (U+2028,
/// U+2029) as `\u{202e}`. Ordinary text, ASCII or not (`é`, `日本`), is kept as it is, and
/// borrowed when nothing needs escaping. Backslashes are left alone: the output is for people,
/// not meant to be parsed back.
pub fn escape_control(text: &str) -> Cow<'_, str> {
    if !text.chars().any(needs_escape) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii() && needs_escape(c) => {
                let _ = write!(out, "\\x{:02x}", u32::from(c));
            }
            c if needs_escape(c) => {
                let _ = write!(out, "\\u{{{:x}}}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// C0, DEL and C1 controls (Unicode category Cc), bidi controls that reorder the display, and
/// the Unicode line and paragraph separators.
fn needs_escape(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}'
        )
}

#[cfg(test)]
mod tests {
    use super::escape_control;
    use std::borrow::Cow;

    #[test]
    fn ordinary_text_is_borrowed_unchanged() {
        for text in ["GET /invoice/{id}", "café", "日本語のサービス", "a\\nb", ""] {
            assert!(
                matches!(escape_control(text), Cow::Borrowed(t) if t == text),
                "{text:?}"
            );
        }
    }

    #[test]
    fn controls_become_visible_escapes() {
        let cases = [
            ("a\nFAKE", "a\\nFAKE"),
            ("\r\t", "\\r\\t"),
            ("\x1b]0;pwned\x07", "\\x1b]0;pwned\\x07"),
            ("\0\x7f", "\\x00\\x7f"),
            ("\u{9b}31m", "\\u{9b}31m"),
            ("\u{85}", "\\u{85}"),
            ("abc\u{202e}fed", "abc\\u{202e}fed"),
            ("\u{202a}\u{2066}\u{2069}", "\\u{202a}\\u{2066}\\u{2069}"),
            ("line\u{2028}two", "line\\u{2028}two"),
            ("é\n日本", "é\\n日本"),
        ];
        for (raw, escaped) in cases {
            assert_eq!(escape_control(raw), escaped, "{raw:?}");
        }
    }

    #[test]
    fn no_escaped_output_contains_a_control_character() {
        let all: String = (0u32..0x3000).filter_map(char::from_u32).collect();
        let escaped = escape_control(&all);
        assert!(
            !escaped.chars().any(|c| c.is_control()
                || matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')),
            "a control character survived"
        );
        assert!(escaped.contains('é') && escaped.contains('ÿ') && escaped.contains('€'));
    }
}
