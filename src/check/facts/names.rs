//! What names an unparsed source file may hold, without keeping its text: a Bloom filter of its
//! identifier-like words. Dead-code elimination asks it before reading a file again
//! (in the per-service assessment of the evaluation stage): a file whose filter rules out every dead
//! function's name cannot keep one live, so it is not read. A false "maybe" only costs that read.

use crate::check::facts::FastHasher;

/// The words of a file (runs of ASCII letters, digits and `_`, and any non-ASCII byte, so a
/// Unicode identifier is one word) as a Bloom filter: three bits per word in a table of about
/// one bit per two bytes of the file (at least 512 bits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NameFilter {
    bits: Box<[u64]>,
}

/// Bits set per word.
const PROBES: u32 = 3;

/// The bytes of words: ASCII letters, digits, `_`, and every non-ASCII byte.
const WORD: [bool; 256] = {
    let mut word = [false; 256];
    let mut b = 0;
    while b < 256 {
        let c = b as u8;
        word[b] = c.is_ascii_alphanumeric() || c == b'_' || c >= 0x80;
        b += 1;
    }
    word
};

impl NameFilter {
    /// The filter of a file's bytes.
    pub fn of_source(bytes: &[u8]) -> NameFilter {
        let words = (bytes.len() / 2).clamp(512, 1 << 20).next_power_of_two() / 64;
        let mut filter = NameFilter {
            bits: vec![0u64; words].into_boxed_slice(),
        };
        let mut rest = bytes;
        while let Some(start) = rest.iter().position(|b| WORD[usize::from(*b)]) {
            let word = &rest[start..];
            let len = word
                .iter()
                .position(|b| !WORD[usize::from(*b)])
                .unwrap_or(word.len());
            filter.add(FastHasher::hash(&word[..len]));
            rest = &word[len..];
        }
        filter
    }

    /// Whether the file may hold `name` as a whole word (false: it certainly does not).
    pub fn may_name(&self, name: &str) -> bool {
        let mask = self.mask();
        let h = FastHasher::hash(name.as_bytes());
        (0..PROBES).all(|i| {
            let bit = (h >> (i * 20)) & mask;
            self.bits[(bit / 64) as usize] & (1 << (bit % 64)) != 0
        })
    }

    fn mask(&self) -> u64 {
        (self.bits.len() as u64 * 64) - 1
    }

    fn add(&mut self, h: u64) {
        let mask = self.mask();
        for i in 0..PROBES {
            let bit = (h >> (i * 20)) & mask;
            self.bits[(bit / 64) as usize] |= 1 << (bit % 64);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_words_are_found_and_others_mostly_not() {
        let src = "package main\n\nfunc register(mux *http.ServeMux) {\n\tmux.HandleFunc(\"/h0\", handle0)\n\tgrüße()\n}\n";
        let f = NameFilter::of_source(src.as_bytes());
        for name in [
            "register",
            "handle0",
            "HandleFunc",
            "mux",
            "http",
            "grüße",
            "h0",
        ] {
            assert!(f.may_name(name), "{name}");
        }
        // Parts and extensions of words are other words (a false maybe is allowed, but with
        // 512 bits and a dozen words none of these should be one).
        for name in ["handle", "handle01", "register2", "Handle", "gr", "ServeMu"] {
            assert!(!f.may_name(name), "{name}");
        }
    }

    #[test]
    fn words_at_the_edges_of_the_file_count() {
        let f = NameFilter::of_source(b"first(x)\n\tlast");
        assert!(f.may_name("first") && f.may_name("x") && f.may_name("last"));
        assert!(!f.may_name("first(x)") && !f.may_name("\tlast"));
    }

    #[test]
    fn large_files_get_larger_filters() {
        let mut src = String::new();
        for i in 0..20_000 {
            src.push_str(&format!("func f{i}() {{ g{i}() }}\n"));
        }
        let f = NameFilter::of_source(src.as_bytes());
        assert!((0..20_000).all(|i| f.may_name(&format!("g{i}"))));
        let false_maybe = (0..20_000).filter(|i| f.may_name(&format!("h{i}"))).count();
        assert!(false_maybe < 1_000, "{false_maybe} false maybes of 20,000");
    }
}
