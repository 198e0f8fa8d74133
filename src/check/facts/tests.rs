use super::*;

fn segs(s: &str) -> Vec<String> {
    crate::check::facts::segments(s)
}

#[test]
fn the_fast_hash_takes_the_last_bytes_as_a_zero_filled_little_endian_word() {
    // The tail is read byte by byte: the same word as copying it into a zeroed array.
    let reference = |bytes: &[u8]| {
        let mut h = FastHasher::default();
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            h.add(u64::from_le_bytes(c.try_into().unwrap()));
        }
        let mut word = [0u8; 8];
        word[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
        h.add(u64::from_le_bytes(word) ^ ((bytes.len() as u64) << 56));
        h.finish()
    };
    let text = b"set_text_map_propagator\xff\x00grusse";
    for end in 0..=text.len() {
        assert_eq!(
            FastHasher::hash(&text[..end]),
            reference(&text[..end]),
            "{end}"
        );
    }
    assert_ne!(FastHasher::hash(b"ab"), FastHasher::hash(b"ab\0"));
}

#[test]
fn contiguous_path_matching() {
    let p = segs("opentelemetry::global::set_text_map_propagator");
    assert!(path_contains(&p, &segs("global::set_text_map_propagator")));
    assert!(path_contains(&p, &segs("set_text_map_propagator")));
    assert!(!path_contains(
        &p,
        &segs("opentelemetry::set_text_map_propagator")
    ));
    assert!(!path_contains(&p, &[]));
}

#[test]
fn facts_in_unreferenced_functions_are_dropped() {
    let mut a = SourceFacts::default();
    a.fns.push(FnDef {
        name: "unused".into(),
        live: false,
    });
    a.fns.push(FnDef {
        name: "used".into(),
        live: false,
    });
    a.refs.push((TOP_LEVEL, ref_hash("used")));
    for func in ["unused", "used"] {
        let mut f = Fact::new(FactKind::command(func), "a", 1);
        f.func = Some(func.into());
        a.facts.push(f);
    }
    drop_dead_code(&mut [&mut a]);
    assert_eq!(a.facts.len(), 1);
    assert_eq!(a.facts[0].func.as_deref(), Some("used"));
}

#[test]
fn reachability_is_transitive() {
    let mut a = SourceFacts::default();
    for (name, live) in [
        ("main", true),
        ("helper", false),
        ("unused", false),
        ("inner", false),
    ] {
        a.fns.push(FnDef {
            name: name.into(),
            live,
        });
        let mut f = Fact::new(FactKind::command(name), "a", 1);
        f.func = Some(name.into());
        a.facts.push(f);
    }
    // main -> helper; unused -> inner (unused is referenced by nothing live).
    a.refs.push((ref_hash("main"), ref_hash("helper")));
    a.refs.push((ref_hash("unused"), ref_hash("inner")));
    drop_dead_code(&mut [&mut a]);
    let kept: Vec<&str> = a.facts.iter().filter_map(|f| f.func.as_deref()).collect();
    assert_eq!(kept, vec!["main", "helper"]);
}
