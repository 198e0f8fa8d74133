//! The language of a service tracegate does not analyse, named rather than left `unknown`:
//! from its manifest (`Gemfile`, `composer.json`, `mix.exs`, `CMakeLists.txt`) or from the
//! base images of its Dockerfile (`FROM php:8.3`, `FROM nginx:1.27`, a `gcc` build stage). A
//! service whose language cannot be told stays `unknown`; an analysed one is never changed.

use std::io::Read;
use std::path::Path;

use super::work::Svc;
use crate::check::model::Language;

/// A Dockerfile larger than this is not read for its base images.
const MAX_DOCKERFILE_BYTES: u64 = 256 * 1024;

/// Name the language of every service whose language is not known.
pub(super) fn name_unanalysed(root: &Path, services: &mut [Svc]) {
    for svc in services
        .iter_mut()
        .filter(|s| s.language.is_none_or(|l| l == Language::Unknown))
    {
        let named = svc
            .manifest
            .as_deref()
            .and_then(of_manifest)
            .or_else(|| of_dockerfile(&dockerfile_text(root, &svc.path)?))
            .or_else(|| {
                // A Dockerfile its compose build names elsewhere (`docker/proxy.Dockerfile`).
                svc.workloads
                    .iter()
                    .filter_map(|w| w.dockerfile.as_ref())
                    .find_map(|(file, _)| of_dockerfile(&dockerfile_text_at(root, file)?))
            });
        if let Some(language) = named {
            svc.language = Some(language);
        }
    }
}

/// The language a manifest of a language not analysed declares.
fn of_manifest(file: &str) -> Option<Language> {
    Some(match file.rsplit('/').next()? {
        "Gemfile" => Language::Ruby,
        "composer.json" => Language::Php,
        "mix.exs" => Language::Elixir,
        "CMakeLists.txt" => Language::Cpp,
        _ => return None,
    })
}

/// The text of the service directory's `Dockerfile`, when it is a small regular file.
pub(super) fn dockerfile_text(root: &Path, dir: &str) -> Option<String> {
    dockerfile_text_at(root, &format!("{dir}/Dockerfile"))
}

/// The text of the Dockerfile `file` (relative to the root), when it is a small regular file.
pub(super) fn dockerfile_text_at(root: &Path, file: &str) -> Option<String> {
    let path = root.join(file);
    let meta = std::fs::symlink_metadata(&path).ok()?;
    if !meta.is_file() || meta.len() > MAX_DOCKERFILE_BYTES {
        return None;
    }
    let mut text = String::new();
    std::fs::File::open(&path)
        .ok()?
        .take(MAX_DOCKERFILE_BYTES)
        .read_to_string(&mut text)
        .ok()?;
    Some(text)
}

/// The language the base images tell: the last stage's first, then the build stages'
/// (`FROM gcc AS build` … `FROM debian`).
fn of_dockerfile(text: &str) -> Option<Language> {
    let images: Vec<&str> = text
        .lines()
        .filter_map(|l| {
            let mut words = l.split_whitespace();
            if !words.next()?.eq_ignore_ascii_case("FROM") {
                return None;
            }
            words.find(|w| !w.starts_with("--"))
        })
        .collect();
    images.iter().rev().find_map(|i| of_image(i))
}

/// The language of a base image (`php:8.3-cli`, `hexpm/elixir:1.17`, `nginxinc/nginx-unprivileged`).
fn of_image(image: &str) -> Option<Language> {
    let image = image.split('@').next().unwrap_or(image);
    let repo = match image.rsplit_once(':') {
        Some((r, tag)) if !tag.contains('/') => r,
        _ => image,
    };
    let name = repo.rsplit('/').next().unwrap_or(repo).to_ascii_lowercase();
    Some(match name.as_str() {
        "php" | "php-fpm" | "php-apache" | "composer" => Language::Php,
        "ruby" | "jruby" => Language::Ruby,
        "elixir" | "phoenix" => Language::Elixir,
        "gcc" => Language::Cpp,
        "nginx" | "nginx-unprivileged" | "openresty" => Language::Nginx,
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_images_name_the_language_last_stage_first() {
        assert_eq!(
            of_dockerfile("FROM php:8.3-cli\nCMD php -S 0.0.0.0:80\n"),
            Some(Language::Php)
        );
        assert_eq!(
            of_dockerfile("FROM composer:2.8 AS vendor\nRUN composer install\nFROM php:8.3-cli\n"),
            Some(Language::Php)
        );
        assert_eq!(
            of_dockerfile("FROM hexpm/elixir:1.17.3-erlang-27 AS builder\nRUN mix release\nFROM debian:bookworm-slim\n"),
            Some(Language::Elixir)
        );
        assert_eq!(
            of_dockerfile("from --platform=linux/amd64 gcc:13 as build\nFROM debian:12\n"),
            Some(Language::Cpp)
        );
        assert_eq!(
            of_dockerfile("FROM nginx:1.27-alpine\nCOPY nginx.conf /etc/nginx/\n"),
            Some(Language::Nginx)
        );
        assert_eq!(
            of_dockerfile("FROM docker.io/nginxinc/nginx-unprivileged:1.27\n"),
            Some(Language::Nginx)
        );
        assert_eq!(of_dockerfile("FROM ruby:3.3-slim\n"), Some(Language::Ruby));
        // Nothing tells: an alpine build of unknown code, a scratch image.
        assert_eq!(
            of_dockerfile("FROM alpine:3.20 AS b\nRUN make\nFROM scratch\n"),
            None
        );
        assert_eq!(of_dockerfile("# FROM php:8\nFROM busybox\n"), None);
    }

    #[test]
    fn manifests_of_unanalysed_languages() {
        assert_eq!(of_manifest("src/email/Gemfile"), Some(Language::Ruby));
        assert_eq!(of_manifest("composer.json"), Some(Language::Php));
        assert_eq!(of_manifest("a/mix.exs"), Some(Language::Elixir));
        assert_eq!(of_manifest("a/CMakeLists.txt"), Some(Language::Cpp));
        assert_eq!(of_manifest("a/package.json"), None);
    }

    #[test]
    fn only_services_whose_language_is_not_known_are_named() {
        let dir = tempfile::tempdir().unwrap();
        for (d, text) in [
            ("proxy", "FROM nginx:1.27\n"),
            ("api", "FROM php:8.3\n"),
            ("bare", "FROM alpine\n"),
        ] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
            std::fs::write(dir.path().join(d).join("Dockerfile"), text).unwrap();
        }
        let svc = |path: &str, language: Option<Language>, manifest: Option<&str>| Svc {
            name: path.into(),
            path: path.into(),
            language,
            manifest: manifest.map(str::to_string),
            ..Svc::default()
        };
        let mut services = vec![
            svc("proxy", None, None),
            // A Python service built on a PHP image stays Python.
            svc("api", Some(Language::Python), Some("api/requirements.txt")),
            svc("bare", None, None),
            svc("mail", Some(Language::Unknown), Some("mail/Gemfile")),
            svc("missing", None, None),
        ];
        name_unanalysed(dir.path(), &mut services);
        let got: Vec<Option<Language>> = services.iter().map(|s| s.language).collect();
        assert_eq!(
            got,
            [
                Some(Language::Nginx),
                Some(Language::Python),
                None,
                Some(Language::Ruby),
                None
            ]
        );
    }
}
