use super::*;

const GOOD: &str = "\
target: http://127.0.0.1:8080
tenant_header: x-tenant-id
requests:
  - name: checkout
    method: POST
    path: /checkout/{n}
    tenant: acme
    headers:
      accept: application/json
    body: '{\"sku\": \"A1\"}'
    repeat: 20
    concurrency: 4
expect:
  root: ingress
  services: [ingress, auth]
  latency_budget: 10%
  latency_slack: 50ms
";

#[test]
fn a_good_scenario_parses_with_its_values() {
    let scenario = parse(GOOD, "s.yaml").expect("valid");
    assert_eq!(scenario.target.as_deref(), Some("http://127.0.0.1:8080"));
    assert_eq!(scenario.requests[0].repeat, 20);
    assert_eq!(scenario.requests[0].concurrency, 4);
    assert_eq!(scenario.requests[0].headers["accept"], "application/json");
    assert_eq!(scenario.expect.budget().fraction, 0.10);
}

#[test]
fn defaults_apply_when_keys_are_left_out() {
    let text = "requests:\n  - name: a\n    path: /\nexpect:\n  root: x\n  services: [x]\n";
    let scenario = parse(text, "s.yaml").expect("valid");
    assert_eq!(scenario.tenant_header, "x-tenant-id");
    assert_eq!(scenario.requests[0].method, "GET");
    assert_eq!(scenario.requests[0].repeat, 1);
    assert_eq!(scenario.requests[0].concurrency, 1);
    assert_eq!(scenario.target, None);
}

/// (what, text replaced in GOOD → by, expected line, words of the message)
const BAD: &[(&str, &str, &str, u32, &str)] = &[
    ("unknown top key", "tenant_header: x-tenant-id", "tenant_headr: x", 2, "unknown field `tenant_headr`"),
    ("unknown request key", "    repeat: 20", "    repeats: 20", 11, "unknown field `repeats`"),
    ("unknown expect key", "  root: ingress", "  root: ingress\n  rooot: x", 15, "unknown field `rooot`"),
    ("wrong type", "    repeat: 20", "    repeat: many", 11, "repeat: invalid type: string \"many\", expected a whole number"),
    ("bad target scheme", "target: http://127.0.0.1:8080", "target: ftp://h/", 1, "scheme"),
    ("target not a URL", "target: http://127.0.0.1:8080", "target: 127.0.0.1:8080", 1, "target"),
    ("target with query", "target: http://127.0.0.1:8080", "target: http://h/?a=1", 1, "query"),
    ("bad tenant header", "tenant_header: x-tenant-id", "tenant_header: 'x tenant'", 2, "not a valid header name"),
    ("bad response header", "tenant_header: x-tenant-id", "tenant_header: x-tenant-id\nresponse_header: 'a:b'", 3, "response_header"),
    ("bad method", "    method: POST", "    method: 'PO ST'", 5, "not an HTTP method"),
    ("path without slash", "    path: /checkout/{n}", "    path: checkout", 6, "must start with `/`"),
    ("path with space", "    path: /checkout/{n}", "    path: '/check out'", 6, "not a valid URL path"),
    ("bad tenant", "    tenant: acme", "    tenant: \"a\\nb\"", 7, "tenant"),
    ("bad header name", "      accept: application/json", "      'bad header': x", 9, "not a valid header name"),
    ("bad header value", "      accept: application/json", "      accept: \"a\\u0001b\"", 9, "not a valid header value"),
    ("traceparent header", "      accept: application/json", "      traceparent: x", 9, "incoming-context matrix"),
    ("repeat zero", "    repeat: 20", "    repeat: 0", 11, "repeat must be 1 to 100000"),
    ("repeat too big", "    repeat: 20", "    repeat: 100001", 11, "repeat must be 1 to 100000"),
    ("concurrency zero", "    concurrency: 4", "    concurrency: 0", 12, "concurrency must be 1 to 1024"),
    ("concurrency too big", "    concurrency: 4", "    concurrency: 1025", 12, "concurrency must be 1 to 1024"),
    ("empty services", "  services: [ingress, auth]", "  services: []", 15, "at least one service"),
    ("root not a service", "  root: ingress", "  root: gateway", 14, "not one of expect.services"),
    ("bad budget", "  latency_budget: 10%", "  latency_budget: ten", 16, "percentage"),
    ("bad slack", "  latency_slack: 50ms", "  latency_slack: 50", 17, "duration"),
    ("missing expect", "expect:\n  root: ingress\n  services: [ingress, auth]\n  latency_budget: 10%\n  latency_slack: 50ms\n", "", 0, "expect"),
];

#[test]
fn each_bad_scenario_is_one_error_with_its_line() {
    for (what, from, to, line, words) in BAD {
        assert!(GOOD.contains(from), "{what}: fixture text not found");
        let text = GOOD.replacen(from, to, 1);
        let err = parse(&text, "bad.yaml").expect_err(what);
        assert_eq!(err.file, "bad.yaml", "{what}");
        if *line > 0 {
            assert_eq!(err.line, Some(*line), "{what}: {err}");
        }
        assert!(err.to_string().contains(words), "{what}: {err}");
        assert!(!err.to_string().contains('\n'), "{what}: one line: {err}");
        assert!(err.to_string().starts_with("bad.yaml"), "{what}: {err}");
    }
}

#[test]
fn empty_requests_and_duplicate_names_are_errors() {
    let empty = "requests: []\nexpect:\n  root: x\n  services: [x]\n";
    let err = parse(empty, "e.yaml").expect_err("empty");
    assert_eq!(err.line, Some(1));
    assert!(err.message.contains("at least one request"), "{err}");

    let dup = "requests:\n  - name: a\n    path: /\n  - name: a\n    path: /b\nexpect:\n  root: x\n  services: [x]\n";
    let err = parse(dup, "d.yaml").expect_err("duplicate");
    assert_eq!(err.line, Some(4));
    assert!(err.message.contains("used by another request"), "{err}");
}

#[test]
fn the_total_number_of_repeats_is_capped() {
    let mut text = String::from("requests:\n");
    for i in 0..2 {
        text.push_str(&format!("  - name: r{i}\n    path: /\n    repeat: 60000\n"));
    }
    text.push_str("expect:\n  root: x\n  services: [x]\n");
    let err = parse(&text, "big.yaml").expect_err("too many");
    assert!(err.message.contains("120000 repeats"), "{err}");
}

#[test]
fn malformed_yaml_is_an_error_not_a_panic() {
    for text in ["", ":", "requests: [", "- a\n- b", "\u{0}"] {
        let err = parse(text, "m.yaml").expect_err(text);
        assert!(err.to_string().starts_with("m.yaml"), "{err}");
    }
}

#[test]
fn files_that_are_not_scenarios_are_one_line_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing.yaml");
    let err = parse_file(&missing).expect_err("missing");
    assert!(err.message.contains("cannot read"), "{err}");
    assert!(err.to_string().contains("missing.yaml"), "{err}");

    let err = parse_file(dir.path()).expect_err("a directory");
    assert!(err.message.contains("not a regular file"), "{err}");

    let latin1 = dir.path().join("latin1.yaml");
    std::fs::write(&latin1, b"requests:\n  - name: caf\xe9\n").expect("write");
    let err = parse_file(&latin1).expect_err("not UTF-8");
    assert_eq!(err.line, Some(2));
    assert!(err.message.contains("not UTF-8"), "{err}");

    let big = dir.path().join("big.yaml");
    std::fs::write(&big, vec![b'#'; MAX_SCENARIO_BYTES as usize + 1]).expect("write");
    let err = parse_file(&big).expect_err("too big");
    assert!(err.message.contains("allowed for a scenario"), "{err}");

    let good = dir.path().join("good.yaml");
    std::fs::write(&good, GOOD).expect("write");
    assert!(parse_file(&good).is_ok());
}

#[test]
fn the_schema_describes_every_key() {
    let schema = serde_json::to_value(schema()).expect("json");
    let text = schema.to_string();
    let defs = &schema["$defs"];
    let objects = [
        (
            &schema,
            vec![
                "target",
                "tenant_header",
                "response_header",
                "requests",
                "expect",
            ],
        ),
        (
            &defs["RequestSpec"],
            vec![
                "name",
                "method",
                "path",
                "tenant",
                "headers",
                "body",
                "repeat",
                "concurrency",
            ],
        ),
        (
            &defs["Expect"],
            vec!["root", "services", "latency_budget", "latency_slack"],
        ),
    ];
    for (object, keys) in objects {
        assert_eq!(
            object["additionalProperties"],
            serde_json::json!(false),
            "{text}"
        );
        for key in keys {
            let description = object["properties"][key]["description"].as_str();
            assert!(
                description.is_some_and(|d| !d.is_empty()),
                "{key} has no description in {text}"
            );
        }
    }
}

#[test]
fn the_bundled_scenarios_parse() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/scenarios");
    let demo = parse_file(&dir.join("demo.yaml")).expect("demo.yaml");
    let tenants: Vec<_> = demo
        .requests
        .iter()
        .filter_map(|r| r.tenant.clone())
        .collect();
    assert_eq!(tenants, ["acme", "globex"]);
    assert_eq!(demo.expect.root, "ingress");
    assert_eq!(demo.expect.services.len(), 6);
    for request in &demo.requests {
        assert_eq!(request.method, "POST");
        assert_eq!(request.path, "/checkout/{n}");
        let body = request.body.as_deref().expect("a JSON body");
        assert!(serde_json::from_str::<serde_json::Value>(body).is_ok_and(|v| v.is_object()));
    }
    parse_file(&dir.join("staging-template.yaml")).expect("staging-template.yaml");
}

#[test]
fn the_schema_states_the_limits_the_validator_applies() {
    // before: the schema said 0 … unbounded, so an editor accepted what verify rejects
    let schema = serde_json::to_value(schema()).expect("serialises");
    let spec = &schema["$defs"]["RequestSpec"]["properties"];
    assert_eq!(spec["repeat"]["minimum"], 1);
    assert_eq!(spec["repeat"]["maximum"], MAX_REPEAT);
    assert_eq!(spec["concurrency"]["minimum"], 1);
    assert_eq!(spec["concurrency"]["maximum"], MAX_CONCURRENCY);
    let expect = &schema["$defs"]["Expect"]["properties"];
    assert!(expect["latency_budget"]["pattern"].is_string());
    assert!(expect["latency_slack"]["pattern"].is_string());
}
