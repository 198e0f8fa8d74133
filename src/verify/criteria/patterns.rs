//! Credential and PII patterns searched for in span data (AC-007(b)): Luhn-valid card
//! numbers, e-mail addresses, bearer/basic tokens and JWTs, `password=`-like pairs. Each is a
//! single linear pass over the text; none allocates unless it finds something.

/// Which pattern matched.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Pattern {
    CardNumber,
    Email,
    Token,
    SecretPair,
}

impl Pattern {
    pub fn as_str(self) -> &'static str {
        match self {
            Pattern::CardNumber => "card number (Luhn-valid)",
            Pattern::Email => "e-mail address",
            Pattern::Token => "bearer token or JWT",
            Pattern::SecretPair => "password/secret pair",
        }
    }
}

/// Every pattern found in `text`, each once.
pub fn find_patterns(text: &str, found: &mut impl FnMut(Pattern)) {
    let bytes = text.as_bytes();
    // One pass to see which patterns are possible at all: most span text has none of the
    // bytes the patterns need.
    let (mut digits, mut at, mut separator, mut space_or_dot) = (0usize, false, false, false);
    for &b in bytes {
        match b {
            b'0'..=b'9' => digits += 1,
            b'@' => at = true,
            b'=' | b':' => separator = true,
            b' ' | b'.' => space_or_dot = true,
            _ => {}
        }
    }
    if digits >= 13 && has_card_number(bytes) {
        found(Pattern::CardNumber);
    }
    if at && has_email(bytes) {
        found(Pattern::Email);
    }
    if space_or_dot && has_token(bytes) {
        found(Pattern::Token);
    }
    if separator && has_secret_pair(bytes) {
        found(Pattern::SecretPair);
    }
}

/// The Luhn checksum holds for these digits.
pub fn luhn_valid(digits: &[u8]) -> bool {
    let mut sum = 0u32;
    for (i, &d) in digits.iter().rev().enumerate() {
        let mut v = u32::from(d - b'0');
        if i % 2 == 1 {
            v *= 2;
            if v > 9 {
                v -= 9;
            }
        }
        sum += v;
    }
    sum.is_multiple_of(10)
}

fn card_like(digits: &[u8]) -> bool {
    (13..=19).contains(&digits.len()) && matches!(digits[0], b'2'..=b'6') && luhn_valid(digits)
}

/// A run of 13–19 digits (single spaces or dashes allowed between groups), not part of a
/// longer alphanumeric token (so hex IDs and version strings do not count), starting like a
/// card number (2–6) and Luhn-valid.
pub fn has_card_number(bytes: &[u8]) -> bool {
    let mut i = 0;
    let n = bytes.len();
    let mut digits: Vec<u8> = Vec::new();
    while i < n {
        if !bytes[i].is_ascii_digit() || (i > 0 && is_word(bytes[i - 1])) {
            i += 1;
            continue;
        }
        digits.clear();
        let mut j = i;
        let mut groups_ok = true;
        while j < n {
            let b = bytes[j];
            if b.is_ascii_digit() {
                digits.push(b);
                j += 1;
            } else if (b == b' ' || b == b'-') && j + 1 < n && bytes[j + 1].is_ascii_digit() {
                j += 1;
            } else {
                break;
            }
            if digits.len() > 19 {
                groups_ok = false;
            }
        }
        let bounded = j == n || !is_word(bytes[j]);
        if bounded && groups_ok && card_like(&digits) {
            return true;
        }
        // the digit groups one by one
        let mut k = i;
        while k < j {
            let start = k;
            while k < j && bytes[k].is_ascii_digit() {
                k += 1;
            }
            let group_bounded = k == n || !is_word(bytes[k]);
            if group_bounded && card_like(&bytes[start..k]) {
                return true;
            }
            k += 1;
        }
        i = j.max(i + 1);
    }
    false
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `local@domain.tld`.
pub fn has_email(bytes: &[u8]) -> bool {
    let local_char =
        |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'%' | b'+' | b'-');
    let domain_char = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-');
    for (at, _) in bytes.iter().enumerate().filter(|(_, &b)| b == b'@') {
        let mut start = at;
        while start > 0 && local_char(bytes[start - 1]) {
            start -= 1;
        }
        if start == at || bytes[at - 1] == b'.' {
            continue;
        }
        let mut end = at + 1;
        while end < bytes.len() && domain_char(bytes[end]) {
            end += 1;
        }
        let domain = &bytes[at + 1..end];
        let domain = domain.strip_suffix(b".").unwrap_or(domain);
        let Some(dot) = domain.iter().rposition(|&b| b == b'.') else {
            continue;
        };
        let tld = &domain[dot + 1..];
        if dot > 0 && tld.len() >= 2 && tld.iter().all(u8::is_ascii_alphabetic) {
            return true;
        }
    }
    false
}

fn starts_with_ignore_case(bytes: &[u8], at: usize, word: &[u8]) -> bool {
    bytes.len() >= at + word.len() && bytes[at..at + word.len()].eq_ignore_ascii_case(word)
}

/// `Bearer …`/`Basic …` followed by a token of 8+ characters, or a JWT (`eyJ….….`).
pub fn has_token(bytes: &[u8]) -> bool {
    let token_char = |b: u8| {
        b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'~' | b'+' | b'/' | b'=' | b'-')
    };
    for i in 0..bytes.len() {
        let b = bytes[i] | 0x20;
        if b == b'b' && (i == 0 || !is_word(bytes[i - 1])) {
            for word in [&b"bearer "[..], b"basic "] {
                if starts_with_ignore_case(bytes, i, word) {
                    let rest = &bytes[i + word.len()..];
                    let len = rest.iter().take_while(|&&c| token_char(c)).count();
                    if len >= 8 {
                        return true;
                    }
                }
            }
        }
        if bytes[i] == b'e' && bytes[i..].starts_with(b"eyJ") && is_jwt(&bytes[i..]) {
            return true;
        }
    }
    false
}

fn is_jwt(bytes: &[u8]) -> bool {
    let b64 = |b: u8| b.is_ascii_alphanumeric() || b == b'_' || b == b'-';
    let mut parts = 0;
    let mut len = 0;
    for &b in bytes {
        if b64(b) {
            len += 1;
        } else if b == b'.' && len > 0 {
            parts += 1;
            len = 0;
        } else {
            break;
        }
    }
    parts >= 2 && len > 0
}

/// Keys whose value is a secret.
const SECRET_KEYS: [&[u8]; 11] = [
    b"password",
    b"passwd",
    b"pwd",
    b"secret",
    b"api_key",
    b"apikey",
    b"api-key",
    b"access_token",
    b"refresh_token",
    b"client_secret",
    b"session",
];

/// `password=…`, `"password": "…"`, `api_key=…` and the like, with a non-empty value.
pub fn has_secret_pair(bytes: &[u8]) -> bool {
    for i in 0..bytes.len() {
        if !bytes[i].is_ascii_alphabetic() || (i > 0 && bytes[i - 1].is_ascii_alphanumeric()) {
            continue;
        }
        for key in SECRET_KEYS {
            if !starts_with_ignore_case(bytes, i, key) {
                continue;
            }
            let mut j = i + key.len();
            if j < bytes.len() && bytes[j] == b'"' {
                j += 1;
            }
            while j < bytes.len() && bytes[j] == b' ' {
                j += 1;
            }
            if j >= bytes.len() || !matches!(bytes[j], b'=' | b':') {
                continue;
            }
            j += 1;
            while j < bytes.len() && matches!(bytes[j], b' ' | b'"' | b'\'') {
                j += 1;
            }
            if j < bytes.len() && !matches!(bytes[j], b'&' | b',' | b';' | b'}' | b'\n') {
                return true;
            }
        }
    }
    false
}

/// Whether an attribute key itself says its value is a credential: recorded request or
/// response headers (`http.request.header.authorization`, `…cookie`), or a key naming a
/// password, secret or token.
pub fn credential_key(key: &str) -> bool {
    let any_of = |text: &str, names: &[&str]| names.iter().any(|n| n.eq_ignore_ascii_case(text));
    for prefix in ["http.request.header.", "http.response.header."] {
        if key.len() > prefix.len()
            && key.is_char_boundary(prefix.len())
            && key[..prefix.len()].eq_ignore_ascii_case(prefix)
        {
            return any_of(
                &key[prefix.len()..],
                &[
                    "authorization",
                    "proxy-authorization",
                    "cookie",
                    "set-cookie",
                    "x-api-key",
                    "x-auth-token",
                ],
            );
        }
    }
    let last = key.rsplit(['.', '/']).next().unwrap_or_default();
    any_of(
        last,
        &[
            "password",
            "passwd",
            "secret",
            "api_key",
            "apikey",
            "access_token",
            "authorization",
            "cookie",
        ],
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(text: &str) -> Vec<Pattern> {
        let mut out = Vec::new();
        find_patterns(text, &mut |p| out.push(p));
        out
    }

    #[test]
    fn card_numbers_are_found_only_when_luhn_valid_and_standalone() {
        assert_eq!(found("card 4111111111111111 ok"), [Pattern::CardNumber]);
        assert_eq!(found("4111-1111-1111-1111"), [Pattern::CardNumber]);
        assert_eq!(found("4111 1111 1111 1111"), [Pattern::CardNumber]);
        assert!(found("4111111111111112").is_empty(), "Luhn-invalid");
        assert!(
            found("1733450000000000000").is_empty(),
            "a nanosecond timestamp"
        );
        // inside a hex trace ID
        assert!(found("a4111111111111111b").is_empty());
        assert!(found("4bf92f3577b34da6a3ce929d0e0e4736").is_empty());
        assert!(found("/checkout/{n}").is_empty());
    }

    #[test]
    fn emails_tokens_and_secret_pairs_are_found() {
        assert_eq!(found("jane.doe@example.com"), [Pattern::Email]);
        assert!(found("user@localhost").is_empty());
        assert_eq!(found("Bearer abcdefgh12345678"), [Pattern::Token]);
        assert_eq!(
            found("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-nature"),
            [Pattern::Token]
        );
        assert_eq!(found("/login?password=hunter2"), [Pattern::SecretPair]);
        assert_eq!(found(r#"{"password": "x1"}"#), [Pattern::SecretPair]);
        assert!(found("password=&user=x").is_empty(), "an empty value");
        assert!(found("tenant acme, POST /quote/{order}").is_empty());
    }

    proptest::proptest! {
        /// Any text, any bytes: the searches never panic (span data is the platform's).
        #[test]
        fn searching_arbitrary_text_never_panics(text in ".{0,64}", key in "[a-zA-Z._/-]{0,40}") {
            find_patterns(&text, &mut |_| {});
            let _ = credential_key(&key);
            let _ = crate::verify::criteria::hops::parse_address(&text);
        }

        /// Digit-heavy text exercises the card-number scanner's group logic.
        #[test]
        fn digit_runs_never_panic(text in "[0-9 \\-a]{0,48}") {
            let _ = has_card_number(text.as_bytes());
        }
    }

    #[test]
    fn credential_keys_are_recognised() {
        assert!(credential_key("http.request.header.authorization"));
        assert!(credential_key("http.request.header.cookie"));
        assert!(credential_key("user.password"));
        assert!(!credential_key("tenant.id"));
        assert!(!credential_key("http.request.header.accept"));
    }
}
