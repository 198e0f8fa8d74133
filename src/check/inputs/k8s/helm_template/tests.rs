use super::*;

fn render_one(
    chart: &str,
    values: &str,
    templates: &[(&str, &str)],
) -> Vec<(String, TemplateResult)> {
    let templates: Vec<(String, String)> = templates
        .iter()
        .map(|(p, t)| (p.to_string(), t.to_string()))
        .collect();
    render_chart(&ChartFiles {
        chart,
        values: Some(values),
        templates: &templates,
        parent: None,
    })
}

fn text_of(out: &[(String, TemplateResult)], rel: &str) -> String {
    match &out.iter().find(|(r, _)| r == rel).unwrap().1 {
        Ok(r) => r.text.clone(),
        Err(e) => panic!("{rel}: {e:?}"),
    }
}

/// The helpers `helm create` charts carry, written the usual way.
const HELPERS: &str = r#"{{/*
Expand the name of the chart (it's `name`, or nameOverride).
*/}}
{{- define "api.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "api.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{- define "api.labels" -}}
app.kubernetes.io/name: {{ include "api.name" . }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- end }}
"#;

const DEPLOYMENT: &str = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ include "api.fullname" . }}
  labels:
    {{- include "api.labels" . | nindent 4 }}
spec:
  {{- if not .Values.autoscaling.enabled }}
  replicas: {{ .Values.replicaCount }}
  {{- end }}
  template:
    metadata:
      {{- with .Values.podAnnotations }}
      annotations:
        {{- toYaml . | nindent 8 }}
      {{- end }}
    spec:
      containers:
        - name: {{ .Chart.Name }}
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}"
          env:
            {{- range $k, $v := .Values.env }}
            - name: {{ $k }}
              value: {{ $v | quote }}
            {{- end }}
"#;

const VALUES: &str = r#"replicaCount: 2
image:
  repository: ghcr.io/acme/api
  tag: ""
autoscaling:
  enabled: false
podAnnotations:
  instrumentation.opentelemetry.io/inject-java: "true"
env:
  OTEL_SERVICE_NAME: api
  OTEL_EXPORTER_OTLP_ENDPOINT: http://otel-collector:4317
"#;

#[test]
fn a_helm_create_chart_renders_its_deployment() {
    let out = render_one(
        "apiVersion: v2\nname: api\nversion: 0.1.0\nappVersion: \"1.4.2\"\n",
        VALUES,
        &[
            ("charts/api/templates/_helpers.tpl", HELPERS),
            ("charts/api/templates/deployment.yaml", DEPLOYMENT),
            (
                "charts/api/templates/NOTES.txt",
                "Visit {{ .Values.nope.url }}",
            ),
        ],
    );
    assert_eq!(out.len(), 1, "only the manifest template renders: {out:?}");
    let text = text_of(&out, "charts/api/templates/deployment.yaml");
    let expected = "apiVersion: apps/v1
kind: Deployment
metadata:
  name: api
  labels:
    app.kubernetes.io/name: api
    app.kubernetes.io/managed-by: Helm
spec:
  replicas: 2
  template:
    metadata:
      annotations:
        instrumentation.opentelemetry.io/inject-java: 'true'
    spec:
      containers:
        - name: api
          image: \"ghcr.io/acme/api:1.4.2\"
          env:
            - name: OTEL_EXPORTER_OTLP_ENDPOINT
              value: \"http://otel-collector:4317\"
            - name: OTEL_SERVICE_NAME
              value: \"api\"
";
    assert_eq!(text, expected);
}

#[test]
fn output_lines_point_at_their_template_lines() {
    let out = render_one(
        "name: api\n",
        VALUES,
        &[
            ("c/templates/_helpers.tpl", HELPERS),
            ("c/templates/deployment.yaml", DEPLOYMENT),
        ],
    );
    let Ok(r) = &out[0].1 else { panic!("{out:?}") };
    let lines: Vec<&str> = r.text.lines().collect();
    let at = |needle: &str| r.lines[lines.iter().position(|l| l.contains(needle)).unwrap()];
    // (output line, template line, why)
    let cases = [
        ("name: api", 4, "an action inside a text line"),
        (
            "managed-by",
            6,
            "lines an include writes all come from the include",
        ),
        ("replicas: 2", 9, "inside an `if`"),
        ("inject-java", 15, "toYaml | nindent"),
        ("image:", 20, "a text line after a `with` block"),
        (
            "OTEL_SERVICE_NAME",
            23,
            "a `range` body: the line in the template, not the Nth output",
        ),
    ];
    for (needle, line, why) in cases {
        assert_eq!(at(needle), line, "{needle}: {why}");
    }
}

#[test]
fn a_range_over_components_renders_one_deployment_each() {
    // The opentelemetry-demo chart's shape: one template, a Deployment per component.
    let values = "default:\n  image: {repository: ghcr.io/shop, tag: \"2.0\"}\ncomponents:\n  \
                  email: {enabled: true}\n  ad: {enabled: false}\n  cart: {enabled: true, imageOverride: {repository: ghcr.io/cart}}\n";
    let template = r#"{{- range $name, $c := .Values.components }}
{{- if $c.enabled }}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ $name }}
spec:
  template:
    spec:
      containers:
        - name: {{ $name }}
          image: {{ ($c.imageOverride).repository | default $.Values.default.image.repository }}:{{ $.Values.default.image.tag }}
{{- end }}
{{- end }}
"#;
    let out = render_one(
        "name: shop\n",
        values,
        &[("shop/templates/components.yaml", template)],
    );
    let text = text_of(&out, "shop/templates/components.yaml");
    assert!(
        text.contains("name: cart\n") && text.contains("image: ghcr.io/cart:2.0"),
        "{text}"
    );
    assert!(
        text.contains("name: email\n") && text.contains("image: ghcr.io/shop:2.0"),
        "{text}"
    );
    assert!(
        !text.contains("name: ad\n"),
        "disabled component rendered: {text}"
    );
    assert_eq!(text.matches("kind: Deployment").count(), 2);
}

#[test]
fn what_is_not_followed_says_why_and_where() {
    let cases: &[(&str, &str, u32, &str)] = &[
        ("a: 1\nb: {{ fancyFunc .Values.x }}\n", "the function `fancyFunc` is not followed", 2, "an unknown function"),
        ("a: {{ required \"image.tag is required\" .Values.image.tag }}\n", "required value missing: image.tag is required", 1, "a required value the defaults leave empty"),
        ("{{ if .Values.x }}\na: 1\n", "`if` without `end`", 1, "a malformed template"),
        ("x: {{ include \"nope\" . }}\n", "no template \"nope\"", 1, "an include of nothing"),
        ("{{- define \"loop\" }}{{ include \"loop\" . }}{{ end }}\nx: {{ include \"loop\" . }}\n", "templates nest deeper than", 2, "a template including itself"),
        ("{{ range until 100000 }}{{ range until 100000 }}{{ end }}{{ end }}", "runs more than 5000000 steps", 1, "nested ranges that would run for hours"),
        ("env:\n  {{- .Files.Get \"files/env.yaml\" | nindent 2 }}\n", "`.Files.Get` reads a file of the chart", 2, "a file of the chart, which would read as empty"),
        ("data:\n{{ (.Files.Glob \"config/*\").AsConfig | indent 2 }}\n", "`.Files.Glob` reads a file of the chart", 2, "files of the chart as ConfigMap data"),
    ];
    for (template, reason, line, why) in cases {
        let out = render_one(
            "name: c\n",
            "image: {tag: \"\"}\n",
            &[("c/templates/t.yaml", template)],
        );
        match &out[0].1 {
            Err((l, r)) => {
                assert!(r.starts_with("Helm template not followed: "), "{why}: {r}");
                assert!(r.contains(reason), "{why}: {r}");
                assert_eq!(l, line, "{why}: {r}");
            }
            Ok(r) => panic!("{why}: rendered {:?}", r.text),
        }
    }
}

#[test]
fn go_template_semantics_that_change_manifests() {
    // (template, values, expected output, reason)
    let cases: &[(&str, &str, &str, &str)] = &[
        (
            "{{ .Values.missing.deep }}|",
            "{}",
            "|",
            "missing keys are empty, not an error",
        ),
        (
            "{{ if .Values.list }}y{{ else }}n{{ end }}",
            "list: []",
            "n",
            "an empty list is false",
        ),
        (
            "{{ if and .Values.a (not .Values.b) }}y{{ end }}",
            "{a: 1, b: false}",
            "y",
            "and/not",
        ),
        (
            "{{ .Values.n | default 5 }}",
            "n: 0",
            "5",
            "default replaces a zero",
        ),
        (
            "{{ $x := 1 }}{{ if true }}{{ $x = 2 }}{{ end }}{{ $x }}",
            "{}",
            "2",
            "`=` assigns an outer variable",
        ),
        (
            "{{ range .Values.l }}{{ . }},{{ end }}",
            "l: [a, b]",
            "a,b,",
            "range over a list rebinds the dot",
        ),
        (
            "{{ range $i, $e := .Values.l }}{{ $i }}{{ $e }}{{ end }}",
            "l: [a, b]",
            "0a1b",
            "index and element",
        ),
        (
            "{{ tpl .Values.t . }}",
            "{t: \"{{ .Values.u }}\", u: ok}",
            "ok",
            "tpl renders a value as a template",
        ),
        (
            "{{ toYaml .Values.m | indent 2 }}",
            "m: {b: 2, a: 1}",
            "  a: 1\n  b: 2",
            "toYaml sorts keys, indent pads every line",
        ),
        ("{{ printf \"%s-%d\" \"a\" 3 }}", "{}", "a-3", "printf"),
        (
            "{{ .Values.p | int }}{{ 8080 }}",
            "p: \"9090\"",
            "90908080",
            "numbers print whole",
        ),
        (
            "{{- /* a comment */ -}}\n  x",
            "{}",
            "x",
            "comments with trim markers",
        ),
        (
            "{{ dict \"a\" 1 | toJson }}",
            "{}",
            "{\"a\":1}",
            "dict and toJson",
        ),
        (
            "{{ .Capabilities.APIVersions.Has \"policy/v1\" }}",
            "{}",
            "false",
            "methods of built-in objects",
        ),
        (
            "{{ \"a}}b\" }}",
            "{}",
            "a}}b",
            "`}}` inside a string literal",
        ),
    ];
    for (template, values, expected, why) in cases {
        let out = render_one("name: c\n", values, &[("c/templates/t.yaml", template)]);
        match &out[0].1 {
            Ok(r) => assert_eq!(r.text, *expected, "{why}"),
            Err(e) => panic!("{why}: {e:?}"),
        }
    }
}

#[test]
fn template_files_are_templates_by_helms_name() {
    // The checksum annotation most charts carry: another template file rendered by its
    // Helm name (`CHART/templates/FILE`), which `.Template.BasePath` gives.
    let out = render_one(
        "apiVersion: v2\nname: api\nversion: 0.1.0\n",
        "endpoint: http://collector:4317\n",
        &[
            (
                "deploy/api/templates/configmap.yaml",
                "kind: ConfigMap\ndata:\n  OTEL_EXPORTER_OTLP_ENDPOINT: {{ .Values.endpoint }}\n",
            ),
            (
                "deploy/api/templates/deployment.yaml",
                "kind: Deployment\nmetadata:\n  annotations:\n    checksum/config: {{ include (print $.Template.BasePath \"/configmap.yaml\") . | sha256sum }}\n    template: {{ .Template.Name }}\n",
            ),
        ],
    );
    let text = text_of(&out, "deploy/api/templates/deployment.yaml");
    // The digest itself is a stand-in (no rule reads it); the include was followed.
    assert!(
        text.contains(&format!("checksum/config: {}", "0".repeat(64))),
        "{text}"
    );
    assert!(
        text.contains("template: api/templates/deployment.yaml"),
        "{text}"
    );
}
