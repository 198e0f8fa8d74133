//! A `Tiltfile`'s `docker_build('image', 'context', dockerfile='…')` calls with literal
//! arguments: the images it builds from the tree. Starlark is not evaluated: a call whose
//! image or context is not a string literal (a variable, a function's result) is left out.

use super::build::{join, parent};
use super::ImageBuild;

/// Every `docker_build` with a literal image and context (`custom_build` is not read).
pub fn builds(rel: &str, text: &str) -> Vec<ImageBuild> {
    let dir = parent(rel);
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or_default();
        let Some(at) = code.find("docker_build(") else {
            continue;
        };
        if at > 0
            && code[..at]
                .chars()
                .next_back()
                .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
        {
            continue;
        }
        // The call's arguments, on this line and the next few when it spans lines.
        let rest: String = std::iter::once(&code[at + "docker_build(".len()..])
            .chain(
                text.lines()
                    .skip(i + 1)
                    .take(8)
                    .map(|l| l.split('#').next().unwrap_or_default()),
            )
            .collect::<Vec<_>>()
            .join(" ");
        let args = arguments(&rest);
        let positional: Vec<&Arg> = args.iter().filter(|a| a.key.is_none()).collect();
        let keyword = |k: &str| args.iter().find(|a| a.key.as_deref() == Some(k));
        let image = keyword("ref").or(positional.first().copied());
        let context = keyword("context").or(positional.get(1).copied());
        let (
            Some(Arg {
                value: Some(image), ..
            }),
            Some(Arg {
                value: Some(context),
                ..
            }),
        ) = (image, context)
        else {
            continue;
        };
        // Tilt reads `dockerfile` relative to the Tiltfile, not to the context.
        let named = keyword("dockerfile").and_then(|a| a.value.as_deref());
        let code = match named {
            Some(dockerfile) => join(dir, parent(dockerfile)),
            None => join(dir, context),
        };
        let dockerfile = join(dir, context).and_then(|context| {
            let file = match named {
                Some(f) => join(dir, f)?,
                None => join(&context, "Dockerfile")?,
            };
            Some((file, context))
        });
        if let Some(code) = code {
            out.push(ImageBuild {
                image: image.clone(),
                dir: code,
                dockerfile,
                file: rel.to_string(),
                line: i as u32 + 1,
                any_registry: false,
            });
        }
    }
    out
}

/// One argument: its keyword, and its value when it is a string literal.
struct Arg {
    key: Option<String>,
    value: Option<String>,
}

/// The arguments up to the call's closing parenthesis (nested brackets skipped).
fn arguments(text: &str) -> Vec<Arg> {
    let mut args = Vec::new();
    let mut current = String::new();
    let mut depth = 0usize;
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => {
                quote = None;
                current.push(c);
            }
            (Some(_), c) => current.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                current.push(c);
            }
            (None, '(' | '[' | '{') => {
                depth += 1;
                current.push(c);
            }
            (None, ')' | ']' | '}') if depth > 0 => {
                depth -= 1;
                current.push(c);
            }
            (None, ')') => break,
            (None, ',') if depth == 0 => args.push(std::mem::take(&mut current)),
            (None, c) => current.push(c),
        }
    }
    args.push(current);
    args.iter()
        .map(|a| a.trim())
        .filter(|a| !a.is_empty())
        .map(|a| {
            let (key, value) = match a.split_once('=') {
                Some((k, v)) if k.trim().chars().all(|c| c.is_alphanumeric() || c == '_') => {
                    (Some(k.trim().to_string()), v.trim())
                }
                _ => (None, a),
            };
            Arg {
                key,
                value: literal(value),
            }
        })
        .collect()
}

/// A whole string literal's content (`'x'` or `"x"`).
fn literal(text: &str) -> Option<String> {
    let q = text.chars().next().filter(|c| *c == '\'' || *c == '"')?;
    let inner = text.strip_prefix(q)?.strip_suffix(q)?;
    (!inner.contains(q)).then(|| inner.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_docker_builds_with_keywords_and_several_lines() {
        let text = "# docker_build('commented', '.')\nload('ext://restart_process', 'docker_build_with_restart')\ndocker_build('cartservice', 'src/cartservice')\ndocker_build(\n    ref=\"orders\",\n    context='.',\n    dockerfile='./src/orders/Dockerfile.dev',\n    live_update=[sync('./src/orders', '/app')],\n)\ndocker_build('frontend', '.', dockerfile='src/frontend/Dockerfile')\ndocker_build(IMAGE, 'src/x')\ndocker_build('y', ctx)\nmy_docker_build('z', 'src/z')\n";
        let got: Vec<(String, String, u32)> = builds("deploy/Tiltfile", text)
            .into_iter()
            .map(|b| (b.image, b.dir, b.line))
            .collect();
        assert_eq!(
            got,
            [
                ("cartservice".into(), "deploy/src/cartservice".into(), 3),
                ("orders".into(), "deploy/src/orders".into(), 4),
                ("frontend".into(), "deploy/src/frontend".into(), 10),
            ]
        );
    }
}
