//! The run's canaries: fresh random secrets that must never show up in span data (AC-007(b)).

use rand::Rng;

use crate::verify::model::Canaries;

/// Fresh canaries for a run. Each value carries at least 64 random bits, so finding it in span
/// data means it came from this run's requests.
pub fn canaries() -> Canaries {
    let mut rng = rand::rng();
    let token = random_alnum(&mut rng, 40);
    let mailbox = random_alnum(&mut rng, 16).to_ascii_lowercase();
    Canaries {
        bearer_token: format!("tgcanary.{token}"),
        email: format!("canary.{mailbox}@example.test"),
        card_number: luhn_card_number(&mut rng),
        cookie: format!("tgsession{}", random_alnum(&mut rng, 32)),
        password: format!("Tg-pw-{}", random_alnum(&mut rng, 24)),
        query_value: format!("tgkey{}", random_alnum(&mut rng, 32)),
    }
}

fn random_alnum(rng: &mut impl Rng, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// A 16-digit number passing the Luhn check, starting with 4 (the Visa range) so PII
/// detectors treat it as a card number; the other 14 digits before the check digit are random.
fn luhn_card_number(rng: &mut impl Rng) -> String {
    let mut number = String::with_capacity(16);
    number.push('4');
    for _ in 0..14 {
        number.push(char::from(b'0' + rng.random_range(0..10u8)));
    }
    // exactly one check digit makes the number pass
    let check = (b'0'..=b'9')
        .find(|&d| luhn_valid(&format!("{number}{}", char::from(d))))
        .unwrap_or(b'0');
    number.push(char::from(check));
    number
}

/// Whether a string of digits passes the Luhn check (the same check AC-007(b) applies).
pub fn luhn_valid(number: &str) -> bool {
    !number.is_empty()
        && number.bytes().all(|b| b.is_ascii_digit())
        && crate::verify::criteria::patterns::luhn_valid(number.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn luhn_is_checked_against_known_numbers() {
        for good in ["4111111111111111", "79927398713", "4012888888881881", "0"] {
            assert!(luhn_valid(good), "{good}");
        }
        for bad in ["4111111111111112", "79927398710", "", "4111-1111", "12a4"] {
            assert!(!luhn_valid(bad), "{bad}");
        }
    }

    #[test]
    fn canaries_are_fresh_well_formed_and_distinct() {
        let a = canaries();
        let b = canaries();
        for ((what, x), (_, y)) in a.values().iter().zip(b.values().iter()) {
            assert_ne!(x, y, "{what} is not fresh per run");
            assert!(x.len() >= 16, "{what} too short to search for: {x}");
        }
        for run in [&a, &b] {
            assert_eq!(run.card_number.len(), 16);
            assert!(luhn_valid(&run.card_number), "{}", run.card_number);
            assert_eq!(run.email.matches('@').count(), 1, "{}", run.email);
            let values: Vec<&str> = run.values().iter().map(|(_, v)| *v).collect();
            for (i, x) in values.iter().enumerate() {
                for y in &values[i + 1..] {
                    assert!(!x.contains(y) && !y.contains(x), "{x} / {y} overlap");
                }
            }
        }
    }

    #[test]
    fn card_digits_are_random() {
        let numbers: std::collections::BTreeSet<String> =
            (0..50).map(|_| canaries().card_number).collect();
        assert_eq!(numbers.len(), 50);
        assert!(numbers.iter().all(|n| luhn_valid(n)));
    }
}
