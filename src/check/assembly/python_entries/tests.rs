use super::*;
use crate::check::facts::{CommandSlot, Fact, SourceFacts};
use crate::check::inputs::k8s::Workload;

#[test]
fn imports_relative_imports_and_module_strings() {
    let text = "import os, app.config as config\nfrom app.worker import (\n    celery_app,  # the app\n    beat,\n)\nfrom . import views\nfrom ..core.db import session\napp = Celery('x', include=[\"app.tasks\", 'app.jobs:run'])\nWSGI_APPLICATION = 'proj.wsgi.application'\nspan.set_attribute('user.email', 'done.')\n";
    assert_eq!(
        imports(text),
        vec![
            Import::Absolute("os".into()),
            Import::Absolute("app.config".into()),
            Import::Absolute("app.worker".into()),
            Import::Absolute("app.worker.celery_app".into()),
            Import::Absolute("app.worker.beat".into()),
            Import::Relative(1, "views".into()),
            Import::Relative(2, "core.db".into()),
            Import::Relative(2, "core.db.session".into()),
            Import::Named("app.tasks".into()),
            Import::Named("app.jobs:run".into()),
            Import::Named("user.email".into()),
        ]
    );
}

fn graph(files: &[&str]) -> Graph {
    Graph::new(&Svc {
        source_files: files.iter().map(|f| f.to_string()).collect(),
        sources: files.iter().map(|_| SourceFacts::default()).collect(),
        ..Svc::default()
    })
}

fn names(graph: &Graph, found: &[usize]) -> Vec<String> {
    found.iter().map(|i| graph.files[*i].clone()).collect()
}

#[test]
fn entry_modules_of_the_usual_start_commands() {
    let g = graph(&[
        "svc/app/__init__.py",
        "svc/app/main.py",
        "svc/app/worker.py",
        "svc/proj/celery.py",
        "svc/proj/__init__.py",
        "svc/proj/wsgi.py",
        "svc/manage.py",
    ]);
    for (command, expected) in [
        (
            "opentelemetry-instrument uvicorn app.main:app --host 0.0.0.0",
            vec!["svc/app/main.py"],
        ),
        (
            "gunicorn -k uvicorn.workers.UvicornWorker --bind 0.0.0.0:8000 app.main:app",
            vec!["svc/app/main.py"],
        ),
        (
            "celery -A app.worker worker -l info",
            vec!["svc/app/worker.py"],
        ),
        (
            "poetry run celery --app=app.worker.celery_app worker",
            vec!["svc/app/worker.py"],
        ),
        (
            "celery -A proj worker",
            vec!["svc/proj/__init__.py", "svc/proj/celery.py"],
        ),
        (
            "python -m celery -A app.worker worker",
            vec!["svc/app/worker.py"],
        ),
        ("python -m app.worker", vec!["svc/app/worker.py"]),
        ("python /code/manage.py runserver", vec!["svc/manage.py"]),
        (
            "sh -c 'python manage.py migrate && gunicorn proj.wsgi'",
            vec!["svc/proj/wsgi.py", "svc/manage.py"],
        ),
        (
            "dramatiq app.worker --processes 2",
            vec!["svc/app/worker.py"],
        ),
    ] {
        let mut want: Vec<String> = expected.iter().map(|s| s.to_string()).collect();
        want.sort();
        let mut got = names(&g, &g.entries(&[command]));
        got.sort();
        assert_eq!(got, want, "{command}");
    }
    // Nothing of the tree: the part's code is not known.
    for command in [
        "rq worker high default",
        "flask run",
        "java -jar app.jar",
        "celery -A other worker",
    ] {
        assert!(g.entries(&[command]).is_empty(), "{command}");
    }
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}

fn part(name: &str, files: &[(&str, &str)], command: Option<&str>) -> Svc {
    Svc {
        name: name.into(),
        path: "svc".into(),
        language: Some(Language::Python),
        source_files: files.iter().map(|(f, _)| f.to_string()).collect(),
        sources: files.iter().map(|_| SourceFacts::default()).collect(),
        workloads: vec![Workload {
            kind: "Deployment".into(),
            name: name.into(),
            facts: command
                .map(|c| {
                    Fact::new(
                        FactKind::Command {
                            text: c.into(),
                            slot: CommandSlot::ReplacesEntrypoint,
                        },
                        "k8s/a.yaml",
                        3,
                    )
                })
                .into_iter()
                .collect(),
            ..Workload::default()
        }],
        ..Svc::default()
    }
}

#[test]
fn each_part_keeps_what_its_entry_reaches_and_what_no_entry_reaches() {
    let dir = tempfile::tempdir().unwrap();
    let files = [
        ("svc/app/__init__.py", ""),
        ("svc/app/config.py", "import os\n"),
        ("svc/app/main.py", "from fastapi import FastAPI\nfrom app.tasks import build\napp = FastAPI()\n"),
        ("svc/app/worker.py", "from celery import Celery\nfrom app.config import settings\ncelery_app = Celery('r', include=['app.tasks'])\n"),
        ("svc/app/tasks.py", "from .worker import celery_app\n"),
        ("svc/app/admin.py", "from flask import Flask\n"),
    ];
    write(dir.path(), &files);
    let image = Fact::new(
        FactKind::Command {
            text: "opentelemetry-instrument uvicorn app.main:app".into(),
            slot: CommandSlot::ImageCmd,
        },
        "svc/Dockerfile",
        9,
    );
    let mut api = part("api", &files, None);
    api.facts.push(image);
    let worker = part("worker", &files, Some("celery -A app.worker worker"));
    let mut services = vec![api, worker];
    narrow(dir.path(), &mut services, std::slice::from_ref(&(0..2)));
    // The API reaches everything but admin.py, which nobody reaches: it keeps it all. The
    // worker loses the FastAPI app only.
    assert_eq!(services[0].source_files.len(), 6);
    assert_eq!(
        services[1].source_files,
        [
            "svc/app/__init__.py",
            "svc/app/config.py",
            "svc/app/worker.py",
            "svc/app/tasks.py",
            "svc/app/admin.py"
        ]
    );
    assert_eq!(services[1].sources.len(), 5);

    // The negative twins: a part whose command names nothing of the tree keeps everything,
    // and so does every part of a group in another language.
    let mut unknown = vec![
        part("api", &files, Some("uvicorn app.main:app")),
        part("worker", &files, Some("rq worker default")),
    ];
    narrow(dir.path(), &mut unknown, std::slice::from_ref(&(0..2)));
    assert_eq!(unknown[1].source_files.len(), 6);
    assert_eq!(unknown[0].source_files.len(), 6);
    let mut go = vec![
        part("api", &files, Some("uvicorn app.main:app")),
        part("worker", &files, Some("celery -A app.worker worker")),
    ];
    go[1].language = Some(Language::Go);
    narrow(dir.path(), &mut go, std::slice::from_ref(&(0..2)));
    assert_eq!(go[1].source_files.len(), 6);
}
