//! `go.mod`: module path (in full) and direct requirements (`// indirect` ones never count).

use super::{Entry, Manifest, ManifestKind, Reference};
use crate::check::error::CheckError;
use crate::check::facts::{Fact, FactKind};

/// Parse a go.mod file.
pub fn parse(rel: &str, text: &str) -> Result<Manifest, CheckError> {
    let mut module = None;
    let mut facts = Vec::new();
    let mut uses = Vec::new();
    let mut in_require = false;
    for (i, raw) in text.lines().enumerate() {
        let line_no = i as u32 + 1;
        let (code, comment) = match raw.find("//") {
            Some(p) => (&raw[..p], &raw[p..]),
            None => (raw, ""),
        };
        let code = code.trim();
        let indirect = comment.contains("indirect");
        let mut require = |spec: &str| {
            let name = spec.split_whitespace().next().unwrap_or_default();
            if !name.is_empty() && !indirect {
                let version = spec.split_whitespace().nth(1).unwrap_or_default();
                uses.push(Reference::Name(name.to_string(), version.to_string()));
                facts.push(Fact::new(
                    FactKind::Dependency {
                        name: name.to_string(),
                    },
                    rel,
                    line_no,
                ));
            }
        };
        if in_require {
            if code == ")" {
                in_require = false;
            } else if !code.is_empty() {
                require(code);
            }
        } else if let Some(rest) = code.strip_prefix("module") {
            let m = rest.trim().trim_matches('"');
            if m.is_empty() {
                return Err(err(rel, line_no, "`module` without a path"));
            }
            module = Some(m.to_string());
        } else if let Some(rest) = code.strip_prefix("require") {
            let rest = rest.trim();
            if rest == "(" {
                in_require = true;
            } else {
                require(rest);
            }
        }
    }
    if in_require {
        return Err(err(
            rel,
            text.lines().count() as u32,
            "unterminated require block",
        ));
    }
    let Some(module) = module else {
        return Err(err(rel, 1, "no `module` directive"));
    };
    // The full module path: the scan names the service after its last non-version segment.
    Ok(Manifest {
        kind: ManifestKind::GoMod,
        file: rel.to_string(),
        name: Some(module),
        entry: Entry::GoMain,
        facts,
        typescript: false,
        cargo: None,
        version: None,
        uses,
        notes: Vec::new(),
    })
}

fn err(rel: &str, line: u32, reason: &str) -> CheckError {
    CheckError::Manifest {
        file: rel.to_string(),
        line: Some(line),
        what: "go.mod",
        reason: reason.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn indirect_requirements_do_not_count() {
        let m = parse(
            "go.mod",
            "module example.com/shop/checkout/v2\n\ngo 1.22\n\nrequire (\n\tgo.opentelemetry.io/otel v1.30.0\n\tgo.opentelemetry.io/otel/sdk v1.30.0 // indirect\n)\nrequire github.com/x/y v1.0.0\n",
        )
        .unwrap();
        assert_eq!(m.name.as_deref(), Some("example.com/shop/checkout/v2"));
        let deps: Vec<String> = m
            .facts
            .iter()
            .map(|f| match &f.kind {
                FactKind::Dependency { name } => name.clone(),
                _ => String::new(),
            })
            .collect();
        assert_eq!(deps, vec!["go.opentelemetry.io/otel", "github.com/x/y"]);
    }

    #[test]
    fn missing_module_is_an_error() {
        assert!(parse("a/go.mod", "go 1.22\n")
            .unwrap_err()
            .to_string()
            .starts_with("a/go.mod:1:"));
    }
}
