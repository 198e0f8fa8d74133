//! Charts rendered by the installed `helm template` (`TRACEGATE_HELM` names the program; empty
//! never runs one): when it is installed, every chart of the tree that is no subchart is
//! rendered by it, once per release (the defaults, an environment's values file, a helmfile's
//! or Argo CD's values), subcharts included; without it, or where it fails, by the built-in
//! interpreter, whose templates that cannot be followed are then rendered by helm on their
//! own if it can. Each template's documents (helm marks them `# Source: CHART/templates/FILE`)
//! have their lines put back on the template's lines where the text is the template's own
//! (else on the last such line before them).

use std::collections::BTreeMap;
use std::path::Path;

use super::external::{self, Failure};
use super::k8s::helm_template::Rendered;

/// The environment variable naming the helm program; empty never runs one.
pub const HELM_ENV: &str = "TRACEGATE_HELM";

/// Whether a helm program is installed (or named by `TRACEGATE_HELM`).
pub fn installed() -> bool {
    external::program(HELM_ENV, &["helm"]).is_some()
}

/// `helm template NAME DIR` on the chart at `dir` (relative to `root`), its output split by
/// template: template path relative to the root → its documents.
pub fn render(root: &Path, dir: &str, name: &str) -> Result<BTreeMap<String, String>, String> {
    render_values(root, dir, name, None).map_err(|e| {
        if e == NOT_INSTALLED {
            e
        } else {
            format!("`helm template` failed too: {e}")
        }
    })
}

const NOT_INSTALLED: &str = "helm is not installed";

/// [`render`] with `values` (YAML text: the release's whole values, defaults included) given
/// to helm as a values file (`-f`, a temporary file removed after).
pub fn render_values(
    root: &Path,
    dir: &str,
    name: &str,
    values: Option<&str>,
) -> Result<BTreeMap<String, String>, String> {
    let Some(program) = external::program(HELM_ENV, &["helm"]) else {
        return Err(NOT_INSTALLED.into());
    };
    // The renderer runs from the filesystem root: the path must be absolute.
    let root = &std::path::absolute(root).map_err(|e| format!("{}: {e}", root.display()))?;
    let abs = root.join(dir);
    let values_file = match values {
        Some(text) => Some(ValuesFile::write(text).map_err(|e| format!("values file: {e}"))?),
        None => None,
    };
    let mut args: Vec<&std::ffi::OsStr> = vec!["template".as_ref(), name.as_ref(), abs.as_os_str()];
    if let Some(f) = &values_file {
        args.push("--values".as_ref());
        args.push(f.0.as_os_str());
    }
    let text = match external::run(&program, &args, root) {
        Ok(t) => t,
        Err(Failure::NotInstalled) => return Err(NOT_INSTALLED.into()),
        Err(Failure::Failed(e)) => return Err(e),
    };
    Ok(split_sources(&text, dir, name))
}

/// A values file in the temporary directory, removed when dropped.
struct ValuesFile(std::path::PathBuf);

impl ValuesFile {
    fn write(text: &str) -> std::io::Result<ValuesFile> {
        use std::sync::atomic::{AtomicU64, Ordering};
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let path = std::env::temp_dir().join(format!(
            "tracegate-values-{}-{}.yaml",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::Relaxed)
        ));
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        std::io::Write::write_all(&mut f, text.as_bytes())?;
        Ok(ValuesFile(path))
    }
}

impl Drop for ValuesFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// helm's output by template: `# Source: NAME/templates/x.yaml` starts a template's
/// document (the template path is then `DIR/templates/x.yaml`; a subchart's,
/// `NAME/charts/SUB/templates/x.yaml`, is `DIR/charts/SUB/templates/x.yaml`).
fn split_sources(text: &str, dir: &str, name: &str) -> BTreeMap<String, String> {
    let mut out: BTreeMap<String, String> = BTreeMap::new();
    let mut current: Option<String> = None;
    let prefix = format!("{name}/");
    for line in text.lines() {
        if let Some(source) = line.strip_prefix("# Source: ") {
            current = source.strip_prefix(&prefix).map(|t| {
                if dir == "." {
                    t.to_string()
                } else {
                    format!("{dir}/{t}")
                }
            });
            if let Some(rel) = &current {
                let doc = out.entry(rel.clone()).or_default();
                if !doc.is_empty() {
                    doc.push_str("---\n");
                }
            }
            continue;
        }
        if line == "---" {
            continue;
        }
        if let Some(rel) = &current {
            let doc = out.entry(rel.clone()).or_default();
            doc.push_str(line);
            doc.push('\n');
        }
    }
    out
}

/// The rendered `text` of `template`, each line put on the template line with the same text
/// (searching forward from the last one found, from the top again at each new document), else
/// on the last line found (1 at first).
pub fn aligned(template: &str, text: String) -> Rendered {
    let template: Vec<&str> = template.lines().map(str::trim).collect();
    let mut at = 0usize;
    let mut last = 1u32;
    let lines = text
        .lines()
        .map(|l| {
            let l = l.trim();
            if l == "---" {
                // Another document of the same template (a `range`): from its top again.
                at = 0;
            } else if !l.is_empty() {
                if let Some(i) = template[at.min(template.len())..]
                    .iter()
                    .position(|t| same_line(t, l))
                {
                    at += i + 1;
                    last = at as u32;
                }
            }
            last
        })
        .collect();
    Rendered { text, lines }
}

/// Whether the rendered line `l` comes from the template line `t`: the same text, or the
/// text `t` has before its first action (`name: {{ .Release.Name }}` gives `name: shop`).
fn same_line(t: &str, l: &str) -> bool {
    if t == l {
        return true;
    }
    match t.split_once("{{") {
        Some((before, _)) => {
            let before = before.trim_end();
            before.len() >= 2 && before.ends_with(':') && l.starts_with(before)
        }
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn helm_output_splits_by_template_subcharts_included() {
        let text = "---\n# Source: shop/charts/redis/templates/sts.yaml\nkind: StatefulSet\n---\n# Source: shop/templates/api.yaml\nkind: Deployment\n---\n# Source: shop/templates/api.yaml\nkind: Service\n---\n# Source: shop/templates/jobs/migrate.yaml\nkind: Job\n";
        let by = split_sources(text, "deploy/shop", "shop");
        assert_eq!(
            by.into_iter().collect::<Vec<_>>(),
            [
                (
                    "deploy/shop/charts/redis/templates/sts.yaml".to_string(),
                    "kind: StatefulSet\n".to_string()
                ),
                (
                    "deploy/shop/templates/api.yaml".to_string(),
                    "kind: Deployment\n---\nkind: Service\n".to_string()
                ),
                (
                    "deploy/shop/templates/jobs/migrate.yaml".to_string(),
                    "kind: Job\n".to_string()
                ),
            ]
        );
    }

    #[test]
    fn rendered_lines_land_on_the_template_lines_they_come_from() {
        let template = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: {{ include \"x.fullname\" . }}\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          env:\n            - name: OTEL_SERVICE_NAME\n              value: {{ .Values.name }}\n";
        let text = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: shop-api\nspec:\n  template:\n    spec:\n      containers:\n        - name: app\n          env:\n            - name: OTEL_SERVICE_NAME\n              value: api\n".to_string();
        let r = aligned(template, text);
        assert_eq!(r.lines, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
        // A line from a helper (`include`) stays on the last line found.
        let r = aligned(
            "metadata:\n  labels:\n    {{- include \"x.labels\" . | nindent 4 }}\nspec:\n",
            "metadata:\n  labels:\n    app: api\n    tier: web\nspec:\n".to_string(),
        );
        assert_eq!(r.lines, [1, 2, 2, 2, 4]);
        // Each document a `range` prints starts from the template's top again.
        let r = aligned(
            "{{- range .Values.apps }}\n---\nkind: Deployment\nmetadata:\n  name: {{ . }}\n{{- end }}\n",
            "kind: Deployment\nmetadata:\n  name: a\n---\nkind: Deployment\nmetadata:\n  name: b\n".to_string(),
        );
        assert_eq!(r.lines, [3, 4, 5, 5, 3, 4, 5]);
    }
}
