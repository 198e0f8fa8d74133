//! Shared code in the same repository counts for every service that references it (issue 18),
//! end to end through the binary: a .NET `ServiceDefaults` project referenced by
//! `ProjectReference`, a Maven module other modules depend on, a Python package installed by
//! path (`-e ../../lib/x`, uv path source). Each starts from the matching shape
//! (`fixtures/check/shapes/…`), copied into a temporary directory, and has its negative twins:
//! shared code without OpenTelemetry leaves its users failing, a service that does not reference
//! it is not helped, and a project nobody references is no library.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

use assert_cmd::Command;
use serde_json::Value;

fn shape(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/check/shapes")
        .join(name)
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).unwrap();
        }
    }
}

/// The shape copied into a fresh temporary directory.
fn copy_of(name: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(&shape(name), dir.path());
    dir
}

fn write(root: &Path, rel: &str, text: &str) {
    let path = root.join(rel);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    std::fs::write(path, text).unwrap();
}

/// `name path verdict [rules]` for every service of `check --format json`, sorted by path.
fn services(root: &Path) -> Vec<String> {
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(root)
        .env("TRACEGATE_CARGO", "")
        .output()
        .unwrap();
    assert!(
        matches!(out.status.code(), Some(0 | 1)),
        "exit {:?}: {}",
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let mut lines: Vec<String> = json["services"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            let mut rules: Vec<&str> = s["findings"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| f["rule"].as_str().unwrap())
                .collect();
            rules.dedup();
            format!(
                "{} {} {} [{}]",
                s["name"].as_str().unwrap(),
                s["path"].as_str().unwrap(),
                s["verdict"].as_str().unwrap(),
                rules.join(" ")
            )
        })
        .collect();
    lines.sort_by_key(|l| l.split(' ').nth(1).unwrap_or_default().to_owned());
    lines
}

// ---------------------------------------------------------------------------------------- .NET

/// eShop's layout: a web API and a `Microsoft.NET.Sdk.Worker` worker get OpenTelemetry from the
/// `ServiceDefaults` class library they `ProjectReference` (package versions central in
/// `Directory.Packages.props`); the Aspire AppHost and the library are no services.
#[test]
fn dotnet_service_defaults_count_for_the_projects_referencing_them() {
    assert_eq!(
        services(&shape("dotnet-aspire")),
        [
            "Catalog.API src/Catalog.API pass []",
            "OrderProcessor src/OrderProcessor pass []",
        ]
    );
}

/// The twin: a ServiceDefaults library that sets up no OpenTelemetry leaves both services
/// failing (what counts is the library's content, not the reference); the AppHost stays out.
#[test]
fn dotnet_service_defaults_without_opentelemetry_leave_the_services_failing() {
    let dir = copy_of("dotnet-aspire");
    let root = dir.path();
    write(
        root,
        "src/Shop.ServiceDefaults/Shop.ServiceDefaults.csproj",
        "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <PropertyGroup>\n    <TargetFramework>net9.0</TargetFramework>\n  </PropertyGroup>\n  <ItemGroup>\n    <FrameworkReference Include=\"Microsoft.AspNetCore.App\" />\n  </ItemGroup>\n  <ItemGroup>\n    <PackageReference Include=\"Microsoft.Extensions.ServiceDiscovery\" />\n  </ItemGroup>\n</Project>\n",
    );
    write(
        root,
        "src/Shop.ServiceDefaults/Extensions.cs",
        "using Microsoft.AspNetCore.Builder;\nusing Microsoft.Extensions.DependencyInjection;\nusing Microsoft.Extensions.Hosting;\n\nnamespace Microsoft.Extensions.Hosting;\n\npublic static class Extensions\n{\n    public static IHostApplicationBuilder AddServiceDefaults(this IHostApplicationBuilder builder)\n    {\n        builder.Services.AddServiceDiscovery();\n        return builder;\n    }\n\n    public static WebApplication MapDefaultEndpoints(this WebApplication app)\n    {\n        app.MapGet(\"/alive\", () => Results.Ok());\n        return app;\n    }\n}\n",
    );
    let found = services(root);
    assert_eq!(found.len(), 2, "{found:?}");
    assert!(
        found[0].starts_with("Catalog.API src/Catalog.API fail [") && found[0].contains("TG101"),
        "{found:?}"
    );
    assert!(
        found[1].starts_with("OrderProcessor src/OrderProcessor fail [")
            && found[1].contains("TG101"),
        "{found:?}"
    );
}

/// The other twins: a worker that references no ServiceDefaults is a service that fails; a
/// class library nobody references is no service (and no library); an AppHost named by its
/// `IsAspireHost` property is no service either.
#[test]
fn dotnet_a_worker_without_the_reference_fails_and_unreferenced_libraries_are_not_services() {
    let dir = copy_of("dotnet-aspire");
    let root = dir.path();
    write(
        root,
        "src/Basket.Worker/Basket.Worker.csproj",
        "<Project Sdk=\"Microsoft.NET.Sdk.Worker\">\n  <PropertyGroup>\n    <TargetFramework>net9.0</TargetFramework>\n  </PropertyGroup>\n  <ItemGroup>\n    <PackageReference Include=\"Aspire.StackExchange.Redis\" />\n  </ItemGroup>\n</Project>\n",
    );
    write(
        root,
        "src/Basket.Worker/Program.cs",
        "var builder = Host.CreateApplicationBuilder(args);\nbuilder.Services.AddHttpClient(\"catalog\", c => c.BaseAddress = new Uri(\"http://catalog-api\"));\nbuilder.Build().Run();\n",
    );
    write(
        root,
        "src/Shop.Contracts/Shop.Contracts.csproj",
        "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <PropertyGroup>\n    <TargetFramework>net9.0</TargetFramework>\n  </PropertyGroup>\n</Project>\n",
    );
    write(
        root,
        "src/Shop.Contracts/OrderSubmitted.cs",
        "namespace Shop.Contracts;\n\npublic record OrderSubmitted(int OrderId);\n",
    );
    write(
        root,
        "src/Shop.AppHost/Shop.AppHost.csproj",
        "<Project Sdk=\"Microsoft.NET.Sdk\">\n  <PropertyGroup>\n    <OutputType>Exe</OutputType>\n    <TargetFramework>net8.0</TargetFramework>\n    <IsAspireHost>true</IsAspireHost>\n  </PropertyGroup>\n  <ItemGroup>\n    <PackageReference Include=\"Aspire.Hosting.PostgreSQL\" />\n  </ItemGroup>\n  <ItemGroup>\n    <ProjectReference Include=\"..\\Catalog.API\\Catalog.API.csproj\" />\n    <ProjectReference Include=\"..\\OrderProcessor\\OrderProcessor.csproj\" />\n  </ItemGroup>\n</Project>\n",
    );
    let found = services(root);
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0], "Basket.Worker src/Basket.Worker fail [TG101]");
    assert_eq!(found[1], "Catalog.API src/Catalog.API pass []");
    assert_eq!(found[2], "OrderProcessor src/OrderProcessor pass []");
}

// --------------------------------------------------------------------------------------- Maven

/// spring-petclinic-microservices with a shared tracing module: the `shop-tracing` module both
/// services depend on carries the SDK and the W3C propagator; it is no service, nor is the
/// parent (packaging pom).
#[test]
fn maven_a_module_depended_on_counts_for_its_dependents() {
    assert_eq!(
        services(&shape("maven-shared-tracing-module")),
        [
            "shop-customers-service shop-customers-service pass []",
            "shop-visits-service shop-visits-service pass []",
        ]
    );
}

/// The twins: a tracing module without OpenTelemetry leaves its dependents failing; a module
/// with a main class that nothing depends on is still a service (and fails alone); a dependency
/// named like the module with another groupId is the registry's, not the module.
#[test]
fn maven_twins_modules_not_depended_on_and_modules_without_the_sdk() {
    let dir = copy_of("maven-shared-tracing-module");
    let root = dir.path();
    write(
        root,
        "shop-tracing/pom.xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n  <parent>\n    <groupId>shop</groupId>\n    <artifactId>shop</artifactId>\n    <version>1.2.0</version>\n  </parent>\n  <artifactId>shop-tracing</artifactId>\n  <dependencies>\n    <dependency>\n      <groupId>org.springframework.boot</groupId>\n      <artifactId>spring-boot-autoconfigure</artifactId>\n    </dependency>\n  </dependencies>\n</project>\n",
    );
    write(
        root,
        "shop-tracing/src/main/java/shop/tracing/TracingAutoConfiguration.java",
        "package shop.tracing;\n\nimport org.springframework.boot.autoconfigure.AutoConfiguration;\n\n/** Placeholder: tracing is to come. */\n@AutoConfiguration\npublic class TracingAutoConfiguration {\n}\n",
    );
    // A module nobody depends on, with a main class, that depends on a registry artifact
    // named like a module of the tree.
    write(
        root,
        "shop-admin-server/pom.xml",
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<project xmlns=\"http://maven.apache.org/POM/4.0.0\">\n  <modelVersion>4.0.0</modelVersion>\n  <parent>\n    <groupId>shop</groupId>\n    <artifactId>shop</artifactId>\n    <version>1.2.0</version>\n  </parent>\n  <artifactId>shop-admin-server</artifactId>\n  <dependencies>\n    <dependency>\n      <groupId>com.example.vendor</groupId>\n      <artifactId>shop-visits-service</artifactId>\n      <version>3.0.0</version>\n    </dependency>\n    <dependency>\n      <groupId>org.springframework.boot</groupId>\n      <artifactId>spring-boot-starter-web</artifactId>\n    </dependency>\n  </dependencies>\n</project>\n",
    );
    write(
        root,
        "shop-admin-server/src/main/java/shop/admin/AdminServerApplication.java",
        "package shop.admin;\n\nimport org.springframework.boot.SpringApplication;\nimport org.springframework.boot.autoconfigure.SpringBootApplication;\n\n@SpringBootApplication\npublic class AdminServerApplication {\n    public static void main(String[] args) {\n        SpringApplication.run(AdminServerApplication.class, args);\n    }\n}\n",
    );
    let found = services(root);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found[0].starts_with("shop-admin-server shop-admin-server fail [")
            && found[0].contains("TG101"),
        "{found:?}"
    );
    for (s, name) in found[1..]
        .iter()
        .zip(["shop-customers-service", "shop-visits-service"])
    {
        assert!(
            s.starts_with(&format!("{name} {name} fail [")) && s.contains("TG101"),
            "{found:?}"
        );
    }
}

// -------------------------------------------------------------------------------------- Python

/// A shared package (`src/` layout) installed into one app by `-e ../../lib/shop_telemetry` in
/// requirements.txt and into the other by a uv path source: both pass through it, and the
/// package is no service.
#[test]
fn python_a_package_installed_by_path_counts_for_the_apps() {
    assert_eq!(
        services(&shape("python-local-package")),
        [
            "checkout apps/checkout pass []",
            "inventory apps/inventory pass []",
        ]
    );
}

/// A FastAPI app with its Dockerfile, whose manifest is `pyproject` (text) and which may install
/// the shared package.
fn python_app(root: &Path, name: &str, pyproject: &str) {
    write(root, &format!("apps/{name}/pyproject.toml"), pyproject);
    write(
        root,
        &format!("apps/{name}/main.py"),
        "import httpx\nfrom fastapi import FastAPI\n\nimport shop_telemetry\n\napp = FastAPI()\nshop_telemetry.setup(app)\n\n\n@app.get(\"/report/{day}\")\nasync def report(day: str):\n    async with httpx.AsyncClient() as client:\n        r = await client.get(f\"http://inventory/stock/{day}\")\n    return {\"day\": day, \"stock\": r.json()}\n",
    );
    write(
        root,
        &format!("apps/{name}/Dockerfile"),
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir .\nCMD [\"uvicorn\", \"main:app\", \"--host\", \"0.0.0.0\", \"--port\", \"8080\"]\n",
    );
}

/// The twins: a Poetry path dependency counts too; a uv path source for a development
/// dependency group does not (the app fails); neither does a package the app does not install.
#[test]
fn python_twins_poetry_path_dev_group_source_and_no_reference() {
    let dir = copy_of("python-local-package");
    let root = dir.path();
    python_app(
        root,
        "billing",
        "[tool.poetry]\nname = \"billing\"\nversion = \"0.1.0\"\n\n[tool.poetry.dependencies]\npython = \"^3.12\"\nfastapi = \"^0.115\"\nhttpx = \"^0.27\"\nshop-telemetry = { path = \"../../lib/shop_telemetry\", develop = true }\n",
    );
    python_app(
        root,
        "reports",
        "[project]\nname = \"reports\"\nversion = \"0.1.0\"\ndependencies = [\"fastapi==0.115.5\", \"httpx==0.27.2\"]\n\n[dependency-groups]\ndev = [\"shop-telemetry\"]\n\n[tool.uv.sources]\nshop-telemetry = { path = \"../../lib/shop_telemetry\", editable = true }\n",
    );
    python_app(
        root,
        "legacy",
        "[project]\nname = \"legacy\"\nversion = \"0.1.0\"\ndependencies = [\"fastapi==0.115.5\", \"httpx==0.27.2\", \"shop-telemetry==0.1.0\"]\n",
    );
    let found = services(root);
    assert_eq!(found.len(), 5, "{found:?}");
    assert_eq!(found[0], "billing apps/billing pass []");
    assert_eq!(found[1], "checkout apps/checkout pass []");
    assert_eq!(found[2], "inventory apps/inventory pass []");
    for (s, name) in found[3..].iter().zip(["legacy", "reports"]) {
        assert!(
            s.starts_with(&format!("{name} apps/{name} fail [")) && s.contains("TG101"),
            "{found:?}"
        );
    }
}

/// The other twin: a shared package that sets up no OpenTelemetry leaves both apps failing.
#[test]
fn python_a_shared_package_without_opentelemetry_leaves_the_apps_failing() {
    let dir = copy_of("python-local-package");
    let root = dir.path();
    write(
        root,
        "lib/shop_telemetry/pyproject.toml",
        "[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n\n[project]\nname = \"shop-telemetry\"\nversion = \"0.1.0\"\ndependencies = [\"structlog==24.4.0\"]\n",
    );
    write(
        root,
        "lib/shop_telemetry/src/shop_telemetry/__init__.py",
        "\"\"\"Logging set-up shared by every shop app (tracing is to come).\"\"\"\nimport structlog\n\n\ndef setup(app):\n    structlog.configure()\n",
    );
    let found = services(root);
    assert_eq!(found.len(), 2, "{found:?}");
    for (s, name) in found.iter().zip(["checkout", "inventory"]) {
        assert!(
            s.starts_with(&format!("{name} apps/{name} fail [")) && s.contains("TG101"),
            "{found:?}"
        );
    }
}

// ------------------------------------------------------------------------------------ deployed

/// As for npm packages, a package with its own Dockerfile is deployed: it stays a service even
/// when another package depends on it (a service must never drop out of the gate), and is then
/// no library of the others (Maven module, Python package).
#[test]
fn deployed_packages_stay_services_even_when_depended_on() {
    let dir = copy_of("maven-shared-tracing-module");
    let root = dir.path();
    write(
        root,
        "shop-tracing/Dockerfile",
        "FROM eclipse-temurin:21-jre\nCOPY target/shop-tracing-1.2.0.jar /app/app.jar\nENTRYPOINT [\"java\", \"-jar\", \"/app/app.jar\"]\n",
    );
    let found = services(root);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found[1].starts_with("shop-tracing shop-tracing "),
        "{found:?}"
    );

    let dir = copy_of("python-local-package");
    let root = dir.path();
    write(
        root,
        "lib/shop_telemetry/Dockerfile",
        "FROM python:3.12-slim\nWORKDIR /app\nCOPY . .\nRUN pip install --no-cache-dir .\nCMD [\"python\", \"-m\", \"shop_telemetry\"]\n",
    );
    let found = services(root);
    assert_eq!(found.len(), 3, "{found:?}");
    assert!(
        found[2].starts_with("shop-telemetry lib/shop_telemetry "),
        "{found:?}"
    );
}

/// A Maven module built as an executable jar (`spring-boot-maven-plugin`) is a service even when
/// another module depends on it (for its DTO classes, say): it never drops out of the gate.
#[test]
fn maven_an_executable_module_depended_on_stays_a_service() {
    let dir = copy_of("maven-shared-tracing-module");
    let root = dir.path();
    // Not deployed by a Dockerfile of its own (that alone keeps a module a service).
    std::fs::remove_file(root.join("shop-customers-service/Dockerfile")).unwrap();
    let visits = std::fs::read_to_string(root.join("shop-visits-service/pom.xml")).unwrap();
    write(
        root,
        "shop-visits-service/pom.xml",
        &visits.replace(
            "  <dependencies>\n",
            "  <dependencies>\n    <dependency>\n      <groupId>${project.groupId}</groupId>\n      <artifactId>shop-customers-service</artifactId>\n      <version>${project.version}</version>\n    </dependency>\n",
        ),
    );
    assert_eq!(
        services(root),
        [
            "shop-customers-service shop-customers-service pass []",
            "shop-visits-service shop-visits-service pass []",
        ]
    );
    // The twin: without Spring Boot's plugin, the module depended on is a library.
    let customers = std::fs::read_to_string(root.join("shop-customers-service/pom.xml")).unwrap();
    let start = customers.find("  <build>").unwrap();
    let end = customers.find("</build>\n").unwrap() + "</build>\n".len();
    write(
        root,
        "shop-customers-service/pom.xml",
        &format!("{}{}", &customers[..start], &customers[end..]),
    );
    assert_eq!(
        services(root),
        ["shop-visits-service shop-visits-service pass []"]
    );
}

/// `Directory.Build.props` (issue 18): the OpenTelemetry packages and the shared telemetry
/// project a `src/Services/Directory.Build.props` adds to every project below it count for
/// each of them; a worker outside `src/Services` gets neither.
#[test]
fn dotnet_directory_build_props_count_for_every_project_below() {
    let found = services(&shape("dotnet-directory-build-props"));
    assert_eq!(found.len(), 3, "{found:?}");
    assert_eq!(found[0], "Basket.Api src/Services/Basket.Api pass []");
    assert_eq!(found[1], "Catalog.Api src/Services/Catalog.Api pass []");
    assert!(
        found[2].starts_with("Notifier tools/Notifier fail [") && found[2].contains("TG101"),
        "{found:?}"
    );
}

/// The twins: with only the shared project referenced by the props file
/// (`$(MSBuildThisFileDirectory)..\Shared\…`, rebased to each project), both services have the
/// SDK through it (a project reference brings its packages); with neither, both fail TG101.
#[test]
fn dotnet_directory_build_props_project_reference_is_rebased_and_packages_are_what_count() {
    let import = "  <Import Project=\"$([MSBuild]::GetPathOfFileAbove('Directory.Build.props', '$(MSBuildThisFileDirectory)../'))\" />\n";
    let reference = "  <ItemGroup>\n    <ProjectReference Include=\"$(MSBuildThisFileDirectory)..\\Shared\\Shop.Telemetry\\Shop.Telemetry.csproj\" />\n  </ItemGroup>\n";
    for (body, pass) in [(reference, true), ("", false)] {
        let dir = copy_of("dotnet-directory-build-props");
        let root = dir.path();
        write(
            root,
            "src/Services/Directory.Build.props",
            &format!("<Project>\n{import}{body}</Project>\n"),
        );
        let found = services(root);
        for (i, name) in [(0, "Basket.Api"), (1, "Catalog.Api")] {
            let expected = if pass {
                format!("{name} src/Services/{name} pass []")
            } else {
                format!("{name} src/Services/{name} fail [TG101]")
            };
            assert_eq!(found[i], expected, "{found:?}");
        }
    }
}

/// MSBuild imports only the nearest `Directory.Build.props`: packages in the repository's
/// root props reach `src/Services` only through its `GetPathOfFileAbove` import (the older
/// `GetDirectoryNameOfFileAbove` spelling too).
#[test]
fn dotnet_directory_build_props_chain_only_through_an_import() {
    let packages = "  <ItemGroup>\n    <PackageReference Include=\"OpenTelemetry.Extensions.Hosting\" />\n    <PackageReference Include=\"OpenTelemetry.Exporter.OpenTelemetryProtocol\" />\n  </ItemGroup>\n";
    for (import, catalog_passes) in [
        ("", false),
        (
            "  <Import Project=\"$([MSBuild]::GetPathOfFileAbove('Directory.Build.props', '$(MSBuildThisFileDirectory)../'))\" />\n",
            true,
        ),
        (
            "  <Import Project=\"$([MSBuild]::GetDirectoryNameOfFileAbove($(MSBuildThisFileDirectory).., Directory.Build.props))\\Directory.Build.props\" />\n",
            true,
        ),
    ] {
        let dir = copy_of("dotnet-directory-build-props");
        let root = dir.path();
        write(
            root,
            "Directory.Build.props",
            &format!("<Project>\n{packages}</Project>\n"),
        );
        write(
            root,
            "src/Services/Directory.Build.props",
            &format!("<Project>\n{import}</Project>\n"),
        );
        let found = services(root);
        let catalog = found.iter().find(|s| s.starts_with("Catalog.Api")).unwrap();
        assert_eq!(
            catalog.contains(" pass "),
            catalog_passes,
            "import {import:?}: {found:?}"
        );
        // The worker sits under the root props alone: it has the packages now.
        let notifier = found.iter().find(|s| s.starts_with("Notifier")).unwrap();
        assert!(!notifier.contains("TG101"), "{found:?}");
    }
}

/// A malformed `Directory.Build.props` stops the check (exit 2, naming the file), as a
/// malformed project file does; a `.props` file of another tool that is not XML is ignored.
#[test]
fn dotnet_props_files_malformed_or_foreign() {
    let dir = copy_of("dotnet-directory-build-props");
    let root = dir.path();
    write(root, "tools/Notifier/settings.props", "retries = 3\n[x\n");
    assert_eq!(services(root).len(), 3);
    write(
        root,
        "src/Services/Directory.Build.props",
        "<Project>\n  <ItemGroup>\n</Project>\n",
    );
    let out = Command::cargo_bin("tracegate")
        .unwrap()
        .args(["check", "--format", "json"])
        .arg(root)
        .env("TRACEGATE_CARGO", "")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("src/Services/Directory.Build.props"),
        "{stderr}"
    );
}
