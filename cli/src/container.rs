//! Container commands: `container list`, `sync`, `transfer`, `sync-interval` and
//! `remove` for privacyIDEA smartphone containers (registered by
//! `add 'pia://container/...'`), the initial-transfer offer, and the automatic
//! synchronization every unlock runs.

use crate::context::Context;
use crate::output::{print_json, sanitize};
use crate::prompt::{confirm, ensure_unlocked, read_new_secret, stdin_is_tty};
use crate::CliError;
use authenticator_core::{Authenticator, Container, ContainerState, SyncResult};
use serde::Serialize;
use std::path::Path;

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
    /// A push for one of its tokens asked for a synchronization.
    sync_requested: bool,
    /// An open initial-transfer offer (answer with `container sync CONTAINER --adopt`).
    adoptable_account_ids: Vec<String>,
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
            sync_requested: c.sync_requested,
            adoptable_account_ids: c.adoptable_account_ids.clone(),
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
        if !c.adoptable_account_ids.is_empty() {
            flags.push_str(&format!(
                ", offers to adopt {} local account(s): answer with `container sync {} --adopt all|none|IDS`",
                c.adoptable_account_ids.len(),
                sanitize(&c.serial)
            ));
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

/// The accounts an `--adopt` answer names: `all` of the offer, `none`, or ids
/// separated by commas (each must be in the offer).
pub fn adopt_choice(spec: &str, offer: &[String]) -> anyhow::Result<Vec<String>> {
    match spec.trim() {
        "all" => Ok(offer.to_vec()),
        "none" => Ok(Vec::new()),
        ids => ids
            .split(',')
            .map(str::trim)
            .filter(|id| !id.is_empty())
            .map(|id| {
                offer
                    .iter()
                    .find(|o| o.as_str() == id)
                    .cloned()
                    .ok_or_else(|| {
                        CliError::new(format!(
                            "account {} is not in the container's offer",
                            sanitize(id)
                        ))
                        .into()
                    })
            })
            .collect(),
    }
}

/// Prints what a synchronization changed (human form) and its warnings (stderr).
fn report_sync(serial: &str, r: &SyncResult, json: bool) {
    for w in &r.warnings {
        eprintln!("warning: {}", sanitize(w));
    }
    if !json {
        println!(
            "{}: {} added, {} updated, {} removed",
            sanitize(serial),
            r.added.len(),
            r.updated.len(),
            r.removed.len()
        );
    }
}

/// Answers the initial-transfer offer of a container registered just now: the
/// `--adopt` answer, else a question on a terminal; a script without `--adopt` leaves
/// the offer open. Returns the first synchronization's result when it ran.
pub fn answer_offer(
    auth: &Authenticator,
    serial: &str,
    offer: &[String],
    adopt: Option<&str>,
    json: bool,
) -> anyhow::Result<Option<SyncResult>> {
    let choice = match adopt {
        Some(spec) => adopt_choice(spec, offer)?,
        None if stdin_is_tty() => {
            let labels: Vec<String> = auth
                .list_accounts()?
                .into_iter()
                .filter(|a| offer.contains(&a.id))
                .map(|a| format!("{} ({})", crate::accounts::account_label(&a), a.id))
                .collect();
            eprintln!(
                "The server of container {} can take these local accounts into the container (it then manages them):",
                sanitize(serial)
            );
            for l in &labels {
                eprintln!("  {}", sanitize(l));
            }
            if confirm("Hand them over?")? {
                offer.to_vec()
            } else {
                Vec::new()
            }
        }
        None => {
            eprintln!(
                "container {} offers to adopt {} local account(s); not synchronized yet: answer with `container sync {} --adopt all|none|IDS`",
                sanitize(serial),
                offer.len(),
                sanitize(serial)
            );
            return Ok(None);
        }
    };
    let r = auth.sync_container_adopting(serial.to_string(), choice)?;
    report_sync(serial, &r, json);
    Ok(Some(r))
}

/// `container sync [CONTAINER] [--json] [--adopt ...]`: one container, or every
/// registered one.
pub fn sync(
    ctx: &Context,
    container: Option<&str>,
    json: bool,
    adopt: Option<&str>,
) -> anyhow::Result<()> {
    crate::prompt::ensure_unlocked_without_sync(&ctx.auth)?;
    let containers = ctx.auth.list_containers()?;
    let chosen: Vec<&Container> = match container {
        Some(q) => {
            let serial = resolve(&containers, q)?;
            containers.iter().filter(|c| c.serial == serial).collect()
        }
        None => containers
            .iter()
            .filter(|c| c.state == ContainerState::Registered)
            .collect(),
    };
    let mut total = SyncJson {
        added: Vec::new(),
        updated: Vec::new(),
        removed: Vec::new(),
    };
    for c in chosen {
        let r = match adopt {
            Some(spec) => {
                if c.adoptable_account_ids.is_empty() {
                    return Err(CliError::new(format!(
                        "container {} has no open offer to adopt local accounts",
                        sanitize(&c.serial)
                    ))
                    .into());
                }
                let choice = adopt_choice(spec, &c.adoptable_account_ids)?;
                ctx.auth.sync_container_adopting(c.serial.clone(), choice)?
            }
            None => ctx.auth.sync_container(c.serial.clone())?,
        };
        report_sync(&c.serial, &r, json);
        total.added.extend(r.added);
        total.updated.extend(r.updated);
        total.removed.extend(r.removed);
    }
    if json {
        print_json(&total)?;
    }
    Ok(())
}

/// Runs the automatic synchronizations that are due after an unlock (or at the start
/// of a run on a vault without PIN). Best effort: failures go to stderr and the
/// command goes on.
pub fn sync_due(auth: &Authenticator) {
    let Ok(reports) = auth.sync_due_containers() else {
        return;
    };
    for r in reports {
        match (&r.result, &r.error) {
            (Some(res), _) => {
                for w in &res.warnings {
                    eprintln!("warning: {}", sanitize(w));
                }
                eprintln!(
                    "container {} synchronized: {} added, {} updated, {} removed",
                    sanitize(&r.serial),
                    res.added.len(),
                    res.updated.len(),
                    res.removed.len()
                );
            }
            (None, Some(e)) => eprintln!(
                "warning: container {} was not synchronized: {}",
                sanitize(&r.serial),
                sanitize(e)
            ),
            (None, None) => {}
        }
    }
}

/// `container transfer CONTAINER [--passphrase] [--out QR.png] [--force] [--json]`.
#[derive(Debug, Serialize)]
struct TransferJson {
    link: String,
    expires_at: Option<i64>,
    passphrase_protected: bool,
    qr: Option<String>,
}

/// `container transfer`: asks the server for the link that moves the container to a
/// new phone; prints it and writes its QR code (the server's image when it checks
/// out, else one drawn here).
pub fn transfer(
    ctx: &Context,
    container: &str,
    with_passphrase: bool,
    out: Option<&Path>,
    force: bool,
    json: bool,
) -> anyhow::Result<()> {
    if let Some(path) = out {
        if path.exists() && !force {
            return Err(CliError::new(format!(
                "{} exists; use --force to overwrite it",
                path.display()
            ))
            .into());
        }
    }
    ensure_unlocked(&ctx.auth)?;
    let containers = ctx.auth.list_containers()?;
    let serial = resolve(&containers, container)?;
    let passphrase = if with_passphrase {
        Some(read_new_secret(
            "Transfer passphrase (typed on the new phone): ",
            "Repeat the transfer passphrase: ",
            "passphrase",
            "the two passphrases differ; no link was made",
        )?)
    } else {
        None
    };
    let t = ctx
        .auth
        .request_container_transfer(serial.clone(), passphrase.as_deref().cloned())?;
    let written = match out {
        Some(path) => {
            let png = match &t.qr_png {
                Some(png) => png.clone(),
                None => crate::transfer::qr_png(&t.link)?,
            };
            crate::transfer::write_private(path, &png, force)?;
            Some(path.display().to_string())
        }
        None => None,
    };
    if json {
        return print_json(&TransferJson {
            link: t.link.clone(),
            expires_at: t.expires_at,
            passphrase_protected: t.passphrase_protected,
            qr: written,
        });
    }
    println!("{}", t.link);
    eprintln!(
        "Scan this on the new phone{}. This phone keeps working until the new one registers; then its accounts stop working.",
        if t.passphrase_protected {
            ", and type the passphrase you chose"
        } else {
            ""
        }
    );
    if let Some(exp) = t.expires_at {
        eprintln!("The link expires at unix time {exp}.");
    }
    if let Some(path) = written {
        eprintln!("QR code written to {path}");
    }
    Ok(())
}

/// `container sync-interval [SECONDS] [--json]`.
pub fn sync_interval(ctx: &Context, seconds: Option<u64>, json: bool) -> anyhow::Result<()> {
    if let Some(s) = seconds {
        ensure_unlocked(&ctx.auth)?;
        ctx.auth.set_container_sync_interval(s)?;
    }
    let now = ctx.auth.container_sync_interval()?;
    if json {
        return print_json(&serde_json::json!({ "seconds": now }));
    }
    if now == 0 {
        println!("automatic container synchronization: only after pushes (interval off)");
    } else {
        println!("automatic container synchronization: at unlock when the last one is older than {now} s");
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
