//! Account commands: `add` (preview, confirm, store), `list`, `code`, `rename`,
//! `remove`, and how an ACCOUNT argument (id or part of "issuer:name") is resolved.

use crate::context::Context;
use crate::output::{
    algorithm_str, group_code, kind_str, label, print_json, sanitize, AccountJson, CodeJson,
    EnrollmentJson,
};
use crate::prompt::{confirm, ensure_unlocked, read_line, read_new_pin, require_secret};
use crate::{AddArgs, CliError};
use anyhow::Context as _;
use authenticator_core::{Account, AccountKind, AccountPreview, Code, EnrollmentPreview};
use std::io::Write;
use zeroize::Zeroizing;

/// How many candidates an ambiguous ACCOUNT error lists.
const MAX_CANDIDATES: usize = 8;

/// `label` of an account.
pub fn account_label(a: &Account) -> String {
    label(&a.issuer, &a.name)
}

/// Resolves ACCOUNT: an exact id wins, else the one account whose "issuer:name" (or
/// name, without issuer) contains it, ignoring case.
pub fn resolve<'a>(accounts: &'a [Account], query: &str) -> anyhow::Result<&'a Account> {
    if let Some(a) = accounts.iter().find(|a| a.id == query) {
        return Ok(a);
    }
    let q = query.to_lowercase();
    let matches: Vec<&Account> = accounts
        .iter()
        .filter(|a| account_label(a).to_lowercase().contains(&q))
        .collect();
    let brief = |list: &[&Account]| {
        let mut names: Vec<String> = list
            .iter()
            .take(MAX_CANDIDATES)
            .map(|a| format!("{} ({})", account_label(a), a.id))
            .collect();
        if list.len() > MAX_CANDIDATES {
            names.push(format!("and {} more", list.len() - MAX_CANDIDATES));
        }
        names.join(", ")
    };
    match matches.as_slice() {
        [one] => Ok(one),
        [] if accounts.is_empty() => {
            Err(CliError::new(format!("no account matches '{query}': the vault is empty")).into())
        }
        [] => {
            let all: Vec<&Account> = accounts.iter().collect();
            Err(CliError::new(format!(
                "no account matches '{query}'; accounts: {}",
                brief(&all)
            ))
            .into())
        }
        several => Err(CliError::new(format!(
            "'{query}' matches {} accounts: {}; give more of the name or the id",
            several.len(),
            brief(several)
        ))
        .into()),
    }
}

fn describe_kind(p: &AccountPreview) -> String {
    match p.kind {
        AccountKind::Totp => format!(
            "TOTP, {}, {} digits, every {} s",
            algorithm_str(p.algorithm),
            p.digits,
            p.period
        ),
        AccountKind::Hotp => format!(
            "HOTP, {}, {} digits, counter {}",
            algorithm_str(p.algorithm),
            p.digits,
            p.counter
        ),
        AccountKind::Steam => "Steam Guard, 5 characters, every 30 s".to_string(),
        AccountKind::Push => "push (approve/decline sign-ins)".to_string(),
    }
}

fn print_preview(out: &mut dyn Write, p: &EnrollmentPreview) -> anyhow::Result<()> {
    writeln!(out, "This will add:")?;
    for a in &p.accounts {
        let weak = if a.weak_secret { ", WEAK SECRET" } else { "" };
        write!(
            out,
            "  {}  [{}{weak}]",
            label(&a.issuer, &a.name),
            describe_kind(a)
        )?;
        if let Some(code) = &a.current_code {
            let which = if a.kind == AccountKind::Hotp {
                "first code"
            } else {
                "current code"
            };
            write!(out, "  {which}: {}", group_code(code.expose()))?;
        }
        writeln!(out)?;
        if a.already_enrolled {
            writeln!(out, "    already enrolled: this one will be skipped")?;
        }
        if a.kind == AccountKind::Push && !a.tls_verify {
            writeln!(
                out,
                "    warning: TLS certificate checks are OFF for this server (sslverify=0): anyone on the network path can impersonate it"
            )?;
        }
        if a.requires_pin {
            writeln!(out, "    the server requires an app PIN for this account")?;
        }
    }
    if let Some(c) = &p.container {
        writeln!(
            out,
            "  privacyIDEA container {} on {}",
            sanitize(&c.serial),
            sanitize(&c.server_url)
        )?;
        if !c.tls_verify {
            writeln!(
                out,
                "    warning: TLS certificate checks are OFF for this server (ssl_verify=False): anyone on the network path can read the token secrets"
            )?;
        }
        if let Some(prompt) = &c.passphrase_prompt {
            writeln!(out, "    passphrase: {}", sanitize(prompt))?;
        }
    }
    for w in &p.warnings {
        writeln!(out, "  warning: {}", sanitize(w))?;
    }
    for c in &p.lock_changes {
        writeln!(out, "  lock change: {}", sanitize(&c.description))?;
    }
    if let Some(b) = p.batch {
        if b.size > 1 {
            writeln!(
                out,
                "  QR code {} of {} of a migration export",
                b.index + 1,
                b.size
            )?;
        }
    }
    if p.requires_pin {
        writeln!(
            out,
            "This account requires an app PIN and none is set: choose one now."
        )?;
    }
    Ok(())
}

/// `add LINK | --qr IMAGE`.
pub fn add(ctx: &Context, args: AddArgs) -> anyhow::Result<()> {
    let link: Zeroizing<String> = match (&args.link, &args.qr) {
        (Some(l), _) if l == "-" => read_line()?
            .filter(|l| !l.trim().is_empty())
            .ok_or_else(|| CliError::new("no link on stdin"))?,
        (Some(l), _) => Zeroizing::new(l.clone()),
        (None, Some(path)) => {
            let image = std::fs::read(path)
                .with_context(|| format!("cannot read the image {}", path.display()))?;
            Zeroizing::new(authenticator_core::decode_qr_image(image)?)
        }
        (None, None) => return Err(CliError::new("give a link or --qr IMAGE").into()),
    };
    let link = Zeroizing::new(link.trim().to_string());
    ensure_unlocked(&ctx.auth)?;
    let preview = ctx.auth.preview(String::clone(&link))?;

    // In JSON mode stdout carries only the JSON.
    let mut stdout = std::io::stdout();
    let mut stderr = std::io::stderr();
    let out: &mut dyn Write = if args.json { &mut stderr } else { &mut stdout };
    print_preview(out, &preview)?;
    out.flush()?;

    if !args.yes && !confirm("Add it?")? {
        return Err(CliError::new("cancelled; nothing was added").into());
    }
    let result = if let Some(c) = &preview.container {
        // The passphrase is read after the PIN line (ensure_unlocked above).
        let passphrase = if c.needs_passphrase {
            let prompt = c
                .passphrase_prompt
                .as_deref()
                .map_or("Passphrase".to_string(), sanitize);
            Some(require_secret(&format!("{prompt}: "), "passphrase")?)
        } else {
            None
        };
        ctx.auth
            .add_container(String::clone(&link), passphrase.as_deref().cloned(), None)?
    } else if preview.requires_pin {
        let pin = read_new_pin()?;
        ctx.auth
            .add_with_pin(String::clone(&link), String::clone(&pin))?
    } else {
        ctx.auth.add(String::clone(&link))?
    };

    // A container whose server adopts local tokens at the first synchronization waits
    // for the user's choice (registered, not yet synchronized).
    let mut result = result;
    if let (Some(serial), false) = (
        result.container_serial.clone(),
        result.adoptable_account_ids.is_empty(),
    ) {
        let offer = result.adoptable_account_ids.clone();
        if let Some(sync) = crate::container::answer_offer(
            &ctx.auth,
            &serial,
            &offer,
            args.adopt.as_deref(),
            args.json,
        )? {
            result.accounts = ctx
                .auth
                .list_accounts()?
                .into_iter()
                .filter(|a| sync.added.contains(&a.id) || sync.updated.contains(&a.id))
                .collect();
            result.warnings.extend(sync.warnings);
            result.adoptable_account_ids = Vec::new();
        }
    }
    if args.json {
        print_json(&EnrollmentJson::from(&result))?;
    } else {
        for a in &result.accounts {
            println!(
                "added {} ({}, id {})",
                account_label(a),
                kind_str(a.kind),
                a.id
            );
        }
        for w in result
            .warnings
            .iter()
            .filter(|w| !preview.warnings.contains(w))
        {
            println!("warning: {}", sanitize(w));
        }
        if let Some(serial) = &result.container_serial {
            println!("registered container {}", sanitize(serial));
        }
        if preview.requires_pin {
            println!("PIN set: every run now starts locked and asks for it");
        }
    }
    if let Some(b) = result.batch {
        if b.size > 1 {
            let msg = format!("QR code {} of {}: scan the others too", b.index + 1, b.size);
            if args.json {
                eprintln!("{msg}");
            } else {
                println!("{msg}");
            }
        }
    }
    Ok(())
}

/// `list`.
pub fn list(ctx: &Context, json: bool) -> anyhow::Result<()> {
    let accounts = ctx.auth.list_accounts()?;
    if json {
        let v: Vec<AccountJson> = accounts.iter().map(AccountJson::from).collect();
        return print_json(&v);
    }
    if accounts.is_empty() {
        println!("no accounts");
        return Ok(());
    }
    let width = accounts
        .iter()
        .map(|a| account_label(a).chars().count())
        .max()
        .unwrap_or(0);
    for a in &accounts {
        let details = match a.kind {
            AccountKind::Totp => format!(
                "{} {} digits/{}s",
                algorithm_str(a.algorithm),
                a.digits,
                a.period
            ),
            AccountKind::Hotp => format!(
                "{} {} digits, next counter {}",
                algorithm_str(a.algorithm),
                a.digits,
                a.counter
            ),
            AccountKind::Steam => "5 characters/30s".to_string(),
            AccountKind::Push => {
                let mut s = format!("serial {}", sanitize(a.serial.as_deref().unwrap_or("?")));
                if !a.tls_verify {
                    s.push_str(", TLS checks OFF");
                }
                if a.poll_only {
                    s.push_str(", poll-only");
                }
                s
            }
        };
        let mut flags = String::new();
        if a.weak_secret {
            flags.push_str("  (weak secret)");
        }
        if a.requires_pin {
            flags.push_str("  (server requires PIN)");
        }
        if let Some(c) = &a.container_serial {
            flags.push_str(&format!("  (container {})", sanitize(c)));
        }
        println!(
            "{}  {:<5}  {:<width$}  {details}{flags}",
            a.id,
            kind_str(a.kind),
            account_label(a)
        );
    }
    Ok(())
}

fn seconds_left(c: &Code, at: Option<i64>) -> Option<i64> {
    match at {
        Some(t) => c.valid_until.map(|v| (v - t).max(0)),
        None => c.seconds_left.map(i64::from),
    }
}

fn code_line(c: &Code, account: Option<&Account>, at: Option<i64>) -> String {
    let name = account
        .map(account_label)
        .unwrap_or_else(|| c.account_id.clone());
    match (seconds_left(c, at), c.counter) {
        (Some(s), _) => format!("{name}  {}  ({s}s)", group_code(c.code.expose())),
        (None, Some(n)) => format!("{name}  {}  (counter {n})", group_code(c.code.expose())),
        (None, None) => format!("{name}  {}", group_code(c.code.expose())),
    }
}

/// `code [ACCOUNT] [--at T]`.
pub fn code(
    ctx: &Context,
    account: Option<&str>,
    at: Option<i64>,
    json: bool,
) -> anyhow::Result<()> {
    // Resolve before the PIN prompt, so a typo costs no PIN entry.
    let accounts = ctx.auth.list_accounts()?;
    let target = account.map(|q| resolve(&accounts, q)).transpose()?;
    ensure_unlocked(&ctx.auth)?;
    let find = |id: &str| accounts.iter().find(|a| a.id == id);
    match target {
        Some(a) => {
            let c = match at {
                Some(t) => ctx.auth.code_at(a.id.clone(), t)?,
                None => ctx.auth.code(a.id.clone())?,
            };
            if json {
                print_json(&CodeJson::new(&c, Some(a), seconds_left(&c, at)))
            } else {
                println!("{}", code_line(&c, Some(a), at));
                Ok(())
            }
        }
        None => {
            let codes = match at {
                Some(t) => ctx.auth.time_codes_at(t)?,
                None => ctx.auth.time_codes()?,
            };
            if json {
                let v: Vec<CodeJson> = codes
                    .iter()
                    .map(|c| CodeJson::new(c, find(&c.account_id), seconds_left(c, at)))
                    .collect();
                return print_json(&v);
            }
            if codes.is_empty() {
                eprintln!("no TOTP or Steam accounts (HOTP codes: authenticator code ACCOUNT)");
            }
            for c in &codes {
                println!("{}", code_line(c, find(&c.account_id), at));
            }
            Ok(())
        }
    }
}

/// `rename ACCOUNT NEW_NAME`.
pub fn rename(ctx: &Context, account: &str, new_name: &str) -> anyhow::Result<()> {
    ensure_unlocked(&ctx.auth)?;
    let accounts = ctx.auth.list_accounts()?;
    let a = resolve(&accounts, account)?;
    ctx.auth
        .rename_account(a.id.clone(), new_name.to_string())?;
    println!(
        "renamed {} to {}",
        account_label(a),
        label(&a.issuer, new_name.trim())
    );
    Ok(())
}

/// `remove ACCOUNT`.
pub fn remove(ctx: &Context, account: &str, yes: bool) -> anyhow::Result<()> {
    let accounts = ctx.auth.list_accounts()?;
    let a = resolve(&accounts, account)?;
    ensure_unlocked(&ctx.auth)?;
    if !yes
        && !confirm(&format!(
            "Remove {} ({})? Its codes cannot be recovered.",
            account_label(a),
            kind_str(a.kind)
        ))?
    {
        return Err(CliError::new("cancelled; nothing was removed").into());
    }
    ctx.auth.delete_account(a.id.clone())?;
    println!("removed {} ({})", account_label(a), a.id);
    if a.kind == AccountKind::Push {
        println!("note: the token still exists on the server; ask its administrator to delete it");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use authenticator_core::Algorithm;

    fn acc(id: &str, issuer: &str, name: &str) -> Account {
        Account {
            id: id.into(),
            kind: AccountKind::Totp,
            issuer: issuer.into(),
            name: name.into(),
            algorithm: Algorithm::Sha1,
            digits: 6,
            period: 30,
            counter: 0,
            weak_secret: false,
            tls_verify: true,
            requires_pin: false,
            poll_only: false,
            linked_otp_account_id: None,
            serial: None,
            sort_order: 0,
            container_serial: None,
        }
    }

    #[test]
    fn account_resolution() {
        let all = vec![
            acc("aaaa", "ACME", "alice@example.com"),
            acc("bbbb", "ACME", "bob@example.com"),
            acc("cccc", "", "acme-backup"),
        ];
        assert_eq!(resolve(&all, "alice").unwrap().id, "aaaa");
        assert_eq!(resolve(&all, "acme:BOB").unwrap().id, "bbbb");
        assert_eq!(resolve(&all, "backup").unwrap().id, "cccc");
        assert_eq!(resolve(&all, "cccc").unwrap().id, "cccc");
        let many = resolve(&all, "acme").unwrap_err().to_string();
        assert!(many.contains("matches 3 accounts"), "{many}");
        let none = resolve(&all, "zed").unwrap_err().to_string();
        assert!(none.contains("no account matches"), "{none}");
    }

    #[test]
    fn an_exact_id_wins_over_substrings() {
        let all = vec![acc("ab", "X", "ab-one"), acc("cd", "X", "ab-two")];
        assert_eq!(resolve(&all, "ab").unwrap().id, "ab");
    }
}
