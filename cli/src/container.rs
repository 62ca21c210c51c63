//! Container commands: `container list`, `container sync` and `container remove` for
//! privacyIDEA smartphone containers (registered by `add 'pia://container/...'`).

use crate::context::Context;
use crate::output::{print_json, sanitize};
use crate::prompt::{confirm, ensure_unlocked};
use crate::CliError;
use authenticator_core::{Container, ContainerState};
use serde::Serialize;

/// A container in `container list --json`.
#[derive(Debug, Serialize)]
struct ContainerJson {
    serial: String,
    server_url: String,
    state: &'static str,
    tls_verify: bool,
    policies: PoliciesJson,
    last_sync: Option<i64>,
    account_ids: Vec<String>,
}

/// The four client policies, under the server's names.
#[derive(Debug, Serialize)]
struct PoliciesJson {
    container_client_rollover: bool,
    disable_client_container_unregister: bool,
    disable_client_token_deletion: bool,
    initially_add_tokens_to_container: bool,
}

/// `container sync --json`.
#[derive(Debug, Serialize)]
struct SyncJson {
    added: Vec<String>,
    updated: Vec<String>,
    removed: Vec<String>,
}

fn state_str(s: ContainerState) -> &'static str {
    match s {
        ContainerState::Registered => "registered",
        ContainerState::Transferred => "transferred",
    }
}

impl From<&Container> for ContainerJson {
    fn from(c: &Container) -> Self {
        Self {
            serial: sanitize(&c.serial),
            server_url: sanitize(&c.server_url),
            state: state_str(c.state),
            tls_verify: c.tls_verify,
            policies: PoliciesJson {
                container_client_rollover: c.policies.client_rollover,
                disable_client_container_unregister: c.policies.disable_unregister,
                disable_client_token_deletion: c.policies.disable_token_deletion,
                initially_add_tokens_to_container: c.policies.initially_add_tokens,
            },
            last_sync: c.last_sync_at,
            account_ids: c.account_ids.clone(),
        }
    }
}

/// The container a CONTAINER argument names: its serial, case-insensitively.
fn resolve(containers: &[Container], query: &str) -> anyhow::Result<String> {
    containers
        .iter()
        .find(|c| c.serial.eq_ignore_ascii_case(query.trim()))
        .map(|c| c.serial.clone())
        .ok_or_else(|| CliError::new(format!("no container {}", sanitize(query))).into())
}

/// `container list [--json]`.
pub fn list(ctx: &Context, json: bool) -> anyhow::Result<()> {
    let containers = ctx.auth.list_containers()?;
    if json {
        let v: Vec<ContainerJson> = containers.iter().map(ContainerJson::from).collect();
        return print_json(&v);
    }
    if containers.is_empty() {
        println!("no containers");
        return Ok(());
    }
    for c in &containers {
        let mut flags = String::new();
        if !c.tls_verify {
            flags.push_str(", TLS checks OFF");
        }
        println!(
            "{}  {}  {}  {} account(s){flags}",
            sanitize(&c.serial),
            state_str(c.state),
            sanitize(&c.server_url),
            c.account_ids.len()
        );
    }
    Ok(())
}

/// `container sync [CONTAINER] [--json]`: one container, or every registered one.
pub fn sync(ctx: &Context, container: Option<&str>, json: bool) -> anyhow::Result<()> {
    ensure_unlocked(&ctx.auth)?;
    let containers = ctx.auth.list_containers()?;
    let serials = match container {
        Some(q) => vec![resolve(&containers, q)?],
        None => containers
            .iter()
            .filter(|c| c.state == ContainerState::Registered)
            .map(|c| c.serial.clone())
            .collect(),
    };
    let mut total = SyncJson {
        added: Vec::new(),
        updated: Vec::new(),
        removed: Vec::new(),
    };
    for serial in serials {
        let r = ctx.auth.sync_container(serial.clone())?;
        for w in &r.warnings {
            eprintln!("warning: {}", sanitize(w));
        }
        if !json {
            println!(
                "{}: {} added, {} updated, {} removed",
                sanitize(&serial),
                r.added.len(),
                r.updated.len(),
                r.removed.len()
            );
        }
        total.added.extend(r.added);
        total.updated.extend(r.updated);
        total.removed.extend(r.removed);
    }
    if json {
        print_json(&total)?;
    }
    Ok(())
}

/// `container remove CONTAINER [--yes]`: unregisters on the server, then removes the
/// container and its accounts here.
pub fn remove(ctx: &Context, container: &str, yes: bool) -> anyhow::Result<()> {
    ensure_unlocked(&ctx.auth)?;
    let containers = ctx.auth.list_containers()?;
    let serial = resolve(&containers, container)?;
    let n = containers
        .iter()
        .find(|c| c.serial == serial)
        .map_or(0, |c| c.account_ids.len());
    if !yes
        && !confirm(&format!(
            "Unregister container {} and remove its {n} account(s)?",
            sanitize(&serial)
        ))?
    {
        return Err(CliError::new("cancelled; nothing was removed").into());
    }
    let removed = ctx.auth.unregister_container(serial.clone())?;
    println!(
        "removed container {} and {} account(s)",
        sanitize(&serial),
        removed.len()
    );
    Ok(())
}
