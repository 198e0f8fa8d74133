//! The pre-filter's search as a plain transition table, stepped by [`Prefilter::scan`]
//! (super::Prefilter): the states of an Aho-Corasick DFA (built by the `aho-corasick` crate,
//! ASCII case-insensitive, overlapping matches) copied into one array indexed by state plus
//! byte class, with the match states numbered last. A step is then one class lookup and one
//! load, and "did any of four states reach a match" one comparison each — where the crate's
//! generic automaton interface costs about twice the instructions per byte.

use aho_corasick::automaton::Automaton;
use aho_corasick::dfa::DFA;
use aho_corasick::Anchored;

/// The search's transition table (see the module documentation).
#[derive(Debug)]
pub(super) struct Table {
    /// The class of each byte: bytes no needle holds (in either case) share one class, and
    /// each other byte, case folded, is a class of its own.
    classes: [u8; 256],
    /// Classes per state.
    stride: usize,
    /// Per state, `stride` successors, each the successor's first index in this array.
    trans: Box<[u32]>,
    /// The start state's first index.
    pub start: u32,
    /// States from this index on are match states.
    pub first_match: u32,
    /// Per match state, in order: its needles (indices into the needle list) and their
    /// lengths; every needle ending at that point, overlapping ones included.
    matches: Vec<Box<[(u32, u32)]>>,
    /// The longest needle's length.
    pub max_len: usize,
}

impl Table {
    /// The table of `dfa`, built from `needles` (lower case, as given to it). `None` when the
    /// automaton is too large for 32-bit indices.
    pub fn new(dfa: &DFA, needles: &[String]) -> Option<Table> {
        let mut classes = [0u8; 256];
        let mut representative = vec![0u8];
        for needle in needles {
            for &b in needle.as_bytes() {
                let b = b.to_ascii_lowercase();
                if classes[usize::from(b)] == 0 {
                    let class = u8::try_from(representative.len()).ok()?;
                    representative.push(b);
                    classes[usize::from(b)] = class;
                    classes[usize::from(b.to_ascii_uppercase())] = class;
                }
            }
        }
        // Class 0 holds the bytes no needle has: any of them stands for all.
        representative[0] = (0..=255u8).find(|b| classes[usize::from(*b)] == 0)?;
        let stride = representative.len();
        // Every state the search can reach, breadth first from the start.
        let start = dfa.start_state(Anchored::No).ok()?;
        let mut states = vec![start];
        let mut index: crate::check::facts::FastMap<_, usize> = [(start, 0)].into_iter().collect();
        let mut successors: Vec<usize> = Vec::new();
        let mut at = 0;
        while at < states.len() {
            let sid = states[at];
            for &byte in &representative {
                let next = dfa.next_state(Anchored::No, sid, byte);
                let n = *index.entry(next).or_insert_with(|| {
                    states.push(next);
                    states.len() - 1
                });
                successors.push(n);
            }
            at += 1;
        }
        // Match states last, each state's order kept otherwise.
        let mut order: Vec<usize> = (0..states.len()).collect();
        order.sort_by_key(|&i| dfa.is_match(states[i]));
        let mut position = vec![0usize; states.len()];
        for (p, &i) in order.iter().enumerate() {
            position[i] = p;
        }
        let first = |p: usize| u32::try_from(p * stride).ok();
        let mut trans = Vec::with_capacity(states.len() * stride);
        let mut matches = Vec::new();
        for &i in &order {
            for &n in &successors[i * stride..(i + 1) * stride] {
                trans.push(first(position[n])?);
            }
            let sid = states[i];
            if dfa.is_match(sid) {
                let found = (0..dfa.match_len(sid)).map(|m| {
                    let p = dfa.match_pattern(sid, m);
                    (p.as_u32(), dfa.pattern_len(p) as u32)
                });
                matches.push(found.collect());
            }
        }
        let non_match = states.len() - matches.len();
        Some(Table {
            classes,
            stride,
            trans: trans.into_boxed_slice(),
            start: first(position[0])?,
            first_match: first(non_match)?,
            matches,
            max_len: dfa.max_pattern_len(),
        })
    }

    /// The state after `state` reads `byte`.
    #[inline(always)]
    pub fn step(&self, state: u32, byte: u8) -> u32 {
        self.trans[state as usize + usize::from(self.classes[usize::from(byte)])]
    }

    /// The needles (index, length) a match state reports.
    pub fn matches(&self, state: u32) -> &[(u32, u32)] {
        let i = (state - self.first_match) as usize / self.stride;
        &self.matches[i]
    }
}
