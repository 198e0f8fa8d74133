//! The OpenMetrics exposition parsed back by a strict parser ([`super::openmetrics_parser`]),
//! and that parser's own refusals.

use super::openmetrics_parser;
use super::*;

#[test]
fn openmetrics_parses_back_strictly_with_every_number() {
    let report = hostile();
    let out = render(Format::Openmetrics, &report).unwrap();
    let families = openmetrics_parser::parse(&out).unwrap();
    let ratio = &families["tracegate_propagation_coverage_ratio"];
    assert_eq!(ratio.unit.as_deref(), Some("ratio"));
    assert_eq!(ratio.value(&[]), Some(0.375));
    assert_eq!(ratio.value(&[("team", HOSTILE_TEAM)]), Some(0.3333));
    assert_eq!(ratio.value(&[("team", "risk")]), Some(0.0));
    let services = &families["tracegate_services"];
    let total: f64 = services.samples.iter().map(|s| s.value).sum();
    assert_eq!(total, 8.0);
    let propagating = &families["tracegate_services_propagating"];
    assert_eq!(propagating.value(&[("team", "identity")]), Some(1.0));
    let per_service = &families["tracegate_service_propagating"];
    assert_eq!(per_service.samples.len(), 8);
    assert_eq!(
        per_service.value(&[("service", HOSTILE), ("team", HOSTILE_TEAM)]),
        Some(0.0)
    );
    assert_eq!(
        per_service.value(&[("service", "gateway"), ("team", "platform")]),
        Some(1.0)
    );
}

#[test]
fn openmetrics_of_an_empty_catalog_is_valid() {
    let families =
        openmetrics_parser::parse(&render(Format::Openmetrics, &empty()).unwrap()).unwrap();
    assert_eq!(
        families["tracegate_propagation_coverage_ratio"].value(&[]),
        Some(0.0)
    );
    assert!(families["tracegate_service_propagating"].samples.is_empty());
}

#[test]
fn the_strict_parser_rejects_broken_expositions() {
    let good = "# TYPE a gauge\n# HELP a h\na{x=\"1\"} 1\n# EOF\n";
    assert!(openmetrics_parser::parse(good).is_ok());
    for bad in [
        "# TYPE a gauge\na 1\n",                               // no EOF
        "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n# EOF\n", // duplicate label set
        "# TYPE a gauge\na{x=\"a\nb\"} 1\n# EOF\n",            // raw newline in a value
        "# TYPE a gauge\na{x=\"a\"b\"} 1\n# EOF\n",            // raw quote
        "# TYPE a_x gauge\n# UNIT a_x ratio\na_x 1\n# EOF\n",  // unit not a suffix
        "a 1\n# TYPE a gauge\n# EOF\n",                        // TYPE after a sample
        "# TYPE a gauge\nb 1\n# EOF\n",                        // sample of no family
        "# TYPE a gauge\n# comment\na 1\n# EOF\n",             // other # line
        "# TYPE a gauge\na 1\n# EOF\nb 1\n",                   // after EOF
        "# TYPE a gauge\na one\n# EOF\n",                      // not a number
    ] {
        assert!(openmetrics_parser::parse(bad).is_err(), "{bad:?}");
    }
}
