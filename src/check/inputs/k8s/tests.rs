use super::*;

#[test]
fn multi_document_workloads_env_and_lines() {
    let text = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: otel\ndata:\n  OTEL_EXPORTER_OTLP_ENDPOINT: http://collector:4318\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: checkout\nspec:\n  template:\n    metadata:\n      annotations:\n        instrumentation.opentelemetry.io/inject-java: \"true\"\n    spec:\n      containers:\n        - name: checkout\n          image: acme/checkout:1\n          envFrom:\n            - configMapRef:\n                name: otel\n          env:\n            - name: OTEL_SERVICE_NAME\n              value: checkout\n---\napiVersion: batch/v1\nkind: CronJob\nmetadata:\n  name: nightly\nspec:\n  jobTemplate:\n    spec:\n      template:\n        spec:\n          containers:\n            - name: nightly\n              image: acme/nightly\n";
    let f = parse("k8s/app.yaml", text).unwrap();
    assert_eq!(f.configmaps.len(), 1);
    assert_eq!(f.configmaps[0].lines["OTEL_EXPORTER_OTLP_ENDPOINT"], 6);
    assert_eq!(f.workloads.len(), 2);
    let w = &f.workloads[0];
    assert_eq!((w.name.as_str(), w.line), ("checkout", 11));
    assert_eq!(
        w.env_from,
        vec![EnvFrom {
            secret: false,
            name: "otel".into()
        }]
    );
    let env = w
        .facts
        .iter()
        .find(|f| matches!(&f.kind, FactKind::Env { name, .. } if name == "OTEL_SERVICE_NAME"))
        .unwrap();
    assert_eq!(env.line, 25);
    assert!(w.facts.iter().any(|f| matches!(&f.kind, FactKind::Annotation { key, .. } if key.starts_with("instrumentation.opentelemetry.io/inject-"))));
    assert_eq!(f.workloads[1].kind, "CronJob");
}

#[test]
fn invalid_yaml_names_the_line_and_templates_are_skipped() {
    let k = parse("k.yaml", "a: 1\n---\nkind: Deployment\nmetadata: [\n").unwrap();
    assert_eq!(k.fatal.as_ref().map(|f| f.0), Some(5), "{k:?}");
    assert!(parse("templates/d.yaml", "kind: {{ .Values.kind }}\n")
        .unwrap()
        .workloads
        .is_empty());
}

#[test]
fn ingress_backends_and_helm_values() {
    let f = parse("k/ing.yaml", "apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata:\n  name: web\n  annotations:\n    nginx.ingress.kubernetes.io/enable-opentelemetry: \"true\"\nspec:\n  ingressClassName: nginx\n  rules:\n    - http:\n        paths:\n          - backend:\n              service:\n                name: gateway\n").unwrap();
    assert_eq!(f.ingresses[0].backends, vec!["gateway"]);
    assert_eq!(f.ingresses[0].class.as_deref(), Some("nginx"));
    let v = parse("charts/api/values.yaml", "image:\n  repository: acme/api\nenv:\n  OTEL_SERVICE_NAME: api\npodAnnotations:\n  instrumentation.opentelemetry.io/inject-python: \"true\"\n").unwrap();
    assert_eq!(v.workloads.len(), 1);
    assert_eq!(v.workloads[0].facts.len(), 2);
}

#[test]
fn a_broken_document_leaves_the_others_and_says_where() {
    let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: go1\nspec:\n  template:\n    spec:\n      containers:\n        - name: go1\n          image: x\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: x\ndata:\n  a: [1, 2\n  b: 3\n";
    let k = parse("deploy/d.yaml", text).unwrap();
    assert_eq!(k.workloads.len(), 1);
    assert_eq!(k.workloads[0].name, "go1");
    // The broken document is a ConfigMap: it could carry a service's settings.
    let (line, reason) = k.fatal.clone().unwrap();
    assert_eq!(line, 18);
    assert!(reason.starts_with("invalid YAML: "), "{reason}");
    assert!(reason.ends_with("(in a ConfigMap document)"), "{reason}");
    assert!(!reason.contains(" at line "), "{reason}");
    // A broken document of another kind (or none) is a note; the others are still read.
    let other = text.replace("kind: ConfigMap", "kind: ServiceMonitor");
    let k = parse("deploy/d.yaml", &other).unwrap();
    assert!(k.fatal.is_none());
    assert_eq!(k.workloads.len(), 1);
    assert_eq!(k.invalid.len(), 1, "{:?}", k.invalid);
    assert_eq!(k.invalid[0].0, 18);
}

#[test]
fn yaml_positions_are_removed_from_messages() {
    assert_eq!(
        without_positions("did not find expected ',' or ']' at line 7 column 4, while parsing a flow sequence at line 6 column 6"),
        "did not find expected ',' or ']', while parsing a flow sequence"
    );
    assert_eq!(without_positions("plain"), "plain");
}
