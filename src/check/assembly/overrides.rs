//! A workload's command replaces the image's (Docker's rules): a container's `command` (a
//! compose service's `entrypoint:`) replaces the Dockerfile's `ENTRYPOINT` and `CMD`, its
//! `args` alone (a compose service's `command:`) the `CMD`. What the replaced instruction did —
//! `-javaagent:` in `ENTRYPOINT ["java", …]`, `opentelemetry-instrument` or
//! `--require …/register` in `CMD` — no longer happens, so the service does not get it.
//!
//! A service is judged by the workloads that run it: its long-running Kubernetes workloads, else
//! its compose services (as [`shared_image`](super::shared_image) does); the image's
//! instruction is dropped only when every one of them replaces it. A workload with several
//! containers is not judged (which container a command belongs to is not kept): it replaces
//! nothing.

use super::shared_image::SERVING;
use super::work::Svc;
use crate::check::facts::{CommandSlot, FactKind};
use crate::check::inputs::k8s::{Workload, COMPOSE};

/// Drop, from every service, the image's `CMD`/`ENTRYPOINT` its workloads all replace.
pub(super) fn apply(services: &mut [Svc]) {
    for svc in services.iter_mut() {
        let (cmd, entrypoint) = replaced(&svc.workloads);
        if !cmd && !entrypoint {
            continue;
        }
        svc.facts.retain(|f| match &f.kind {
            FactKind::Command {
                slot: CommandSlot::ImageCmd,
                ..
            } => !cmd,
            FactKind::Command {
                slot: CommandSlot::ImageEntrypoint,
                ..
            } => !entrypoint,
            _ => true,
        });
    }
}

/// Whether the workloads running the code all replace the image's `CMD`, and all replace its
/// `ENTRYPOINT` (which replaces the `CMD` too).
fn replaced(workloads: &[Workload]) -> (bool, bool) {
    let k8s: Vec<&Workload> = workloads
        .iter()
        .filter(|w| SERVING.contains(&w.kind.as_str()))
        .collect();
    let running: Vec<&Workload> = if k8s.is_empty() {
        workloads.iter().filter(|w| w.kind == COMPOSE).collect()
    } else {
        k8s
    };
    if running.is_empty() {
        return (false, false);
    }
    let slot = |w: &Workload| -> Option<CommandSlot> {
        if w.images.len() > 1 {
            return None;
        }
        w.facts.iter().find_map(|f| match &f.kind {
            FactKind::Command { slot, .. }
                if matches!(
                    slot,
                    CommandSlot::ReplacesCmd | CommandSlot::ReplacesEntrypoint
                ) =>
            {
                Some(*slot)
            }
            _ => None,
        })
    };
    // A compose service with both `entrypoint:` and `command:` has two facts: the entrypoint
    // decides.
    let entrypoint = |w: &Workload| {
        w.images.len() <= 1
            && w.facts.iter().any(|f| {
                matches!(
                    &f.kind,
                    FactKind::Command {
                        slot: CommandSlot::ReplacesEntrypoint,
                        ..
                    }
                )
            })
    };
    let all_entrypoint = running.iter().all(|w| entrypoint(w));
    let all_cmd = running.iter().all(|w| slot(w).is_some());
    (all_cmd || all_entrypoint, all_entrypoint)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::facts::Fact;

    fn image(text: &str, slot: CommandSlot) -> Fact {
        Fact::new(
            FactKind::Command {
                text: text.into(),
                slot,
            },
            "svc/Dockerfile",
            9,
        )
    }

    fn workload(kind: &str, name: &str, command: Option<(&str, CommandSlot)>) -> Workload {
        Workload {
            kind: kind.into(),
            name: name.into(),
            file: "deploy/a.yaml".into(),
            images: vec![format!("registry/{name}")],
            facts: command
                .map(|(text, slot)| {
                    Fact::new(
                        FactKind::Command {
                            text: text.into(),
                            slot,
                        },
                        "deploy/a.yaml",
                        20,
                    )
                })
                .into_iter()
                .collect(),
            ..Workload::default()
        }
    }

    fn commands_left(workloads: Vec<Workload>) -> Vec<String> {
        let mut services = vec![Svc {
            name: "svc".into(),
            path: "svc".into(),
            facts: vec![
                image(
                    "java -javaagent:/otel/agent.jar -jar app.jar",
                    CommandSlot::ImageEntrypoint,
                ),
                image("--server.port=8080", CommandSlot::ImageCmd),
            ],
            workloads,
            ..Svc::default()
        }];
        apply(&mut services);
        services[0]
            .facts
            .iter()
            .filter_map(|f| match &f.kind {
                FactKind::Command { text, .. } => Some(text.clone()),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn a_container_command_replaces_the_entrypoint_and_args_the_cmd() {
        let command = ("java -jar /app/app.jar", CommandSlot::ReplacesEntrypoint);
        assert!(commands_left(vec![workload("Deployment", "a", Some(command))]).is_empty());
        let args = ("--spring.profiles.active=prod", CommandSlot::ReplacesCmd);
        assert_eq!(
            commands_left(vec![workload("Deployment", "a", Some(args))]),
            ["java -javaagent:/otel/agent.jar -jar app.jar"]
        );
    }

    #[test]
    fn only_when_every_workload_running_it_replaces_it() {
        let command = ("java -jar /app/app.jar", CommandSlot::ReplacesEntrypoint);
        // Another Deployment runs the image as built.
        assert_eq!(
            commands_left(vec![
                workload("Deployment", "a", Some(command)),
                workload("Deployment", "b", None)
            ])
            .len(),
            2
        );
        // A Job's command, or a compose service's beside Kubernetes workloads, decides nothing.
        assert_eq!(
            commands_left(vec![
                workload("Deployment", "a", None),
                workload("Job", "migrate", Some(command))
            ])
            .len(),
            2
        );
        assert!(commands_left(vec![
            workload("Deployment", "a", Some(command)),
            workload(COMPOSE, "a", None)
        ])
        .is_empty());
        // No workload: the image runs as built.
        assert_eq!(commands_left(vec![]).len(), 2);
        // Several containers: whose command it is is not known.
        let mut w = workload("Deployment", "a", Some(command));
        w.images.push("registry/sidecar".into());
        assert_eq!(commands_left(vec![w]).len(), 2);
    }
}
