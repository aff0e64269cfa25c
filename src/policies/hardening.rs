//! `securityContext: hardened`: every container (init containers too) gets `runAsNonRoot`,
//! `allowPrivilegeEscalation: false`, `readOnlyRootFilesystem`, capabilities dropped to none and
//! the runtime's default seccomp profile. Add-if-absent: a value the user set stays, with a
//! warning where it contradicts hardening.

use k8s_openapi::api::core::v1::SecurityContext;
use serde_json::json;

use super::{Plan, Severity};
use crate::edit::{Edit, FieldPath};
use crate::inventory::Workload;

#[must_use]
pub fn plan(w: &Workload) -> Plan {
    let mut plan = Plan::default();
    for pc in w.all_containers() {
        let base = pc.path().key("securityContext");
        container(
            &mut plan,
            w.item,
            &base,
            &pc.container.name,
            pc.container.security_context.as_ref(),
        );
    }
    plan
}

fn container(
    plan: &mut Plan,
    item: usize,
    base: &FieldPath,
    name: &str,
    sc: Option<&SecurityContext>,
) {
    let default = SecurityContext::default();
    let sc = sc.unwrap_or(&default);
    let hardened = |field: &str| format!("container {name}: hardened security context ({field})");
    let mut contradicts = |field: &'static str, value: &str, why: &str| {
        let message = format!(
            "container {name} sets {field}: {value}, which {why}; envpolicy keeps the user's value"
        );
        plan.finding(
            Severity::Warning,
            item,
            Some(base.clone().key(field)),
            message,
        );
    };
    let flags = [
        (
            "runAsNonRoot",
            sc.run_as_non_root,
            true,
            "lets the container run as root",
        ),
        (
            "allowPrivilegeEscalation",
            sc.allow_privilege_escalation,
            false,
            "lets a process gain more privileges than its parent",
        ),
        (
            "readOnlyRootFilesystem",
            sc.read_only_root_filesystem,
            true,
            "lets the container write to its image's filesystem",
        ),
    ];
    let mut edits = Vec::new();
    for (field, current, wanted, why) in flags {
        match current {
            None => edits.push(Edit::set(
                base.clone().key(field),
                json!(wanted),
                hardened(field),
            )),
            Some(v) if v != wanted => contradicts(field, &v.to_string(), why),
            Some(_) => {}
        }
    }
    if sc.privileged == Some(true) {
        contradicts(
            "privileged",
            "true",
            "gives the container every host capability",
        );
    }
    if sc.run_as_user == Some(0) {
        contradicts("runAsUser", "0", "runs it as root");
    }
    let caps = sc.capabilities.as_ref();
    if let Some(add) = caps.and_then(|c| c.add.as_ref()).filter(|a| !a.is_empty()) {
        contradicts(
            "capabilities.add",
            &format!("[{}]", add.join(", ")),
            "grants capabilities beyond none",
        );
    }
    let drop_path = base.clone().key("capabilities").key("drop");
    match caps.and_then(|c| c.drop.as_ref()) {
        None => edits.push(Edit::set(
            drop_path,
            json!(["ALL"]),
            hardened("capabilities.drop"),
        )),
        Some(drop) if !drop.iter().any(|d| d == "ALL") => edits.push(Edit::append(
            drop_path,
            json!("ALL"),
            hardened("capabilities.drop"),
        )),
        Some(_) => {}
    }
    match sc.seccomp_profile.as_ref().map(|p| p.type_.as_str()) {
        None => edits.push(Edit::set(
            base.clone().key("seccompProfile").key("type"),
            json!("RuntimeDefault"),
            hardened("seccompProfile"),
        )),
        Some("Unconfined") => contradicts(
            "seccompProfile.type",
            "Unconfined",
            "turns system call filtering off",
        ),
        Some(_) => {}
    }
    for edit in edits {
        plan.edit(item, edit);
    }
}
