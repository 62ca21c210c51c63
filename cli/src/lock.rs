//! Lock commands: `pin set|change|remove`, `lock`, `status` and `start-over` (the way
//! back after too many wrong PINs wiped the vault).

use crate::context::Context;
use crate::output::{print_json, sanitize, StatusJson};
use crate::prompt::{confirm, read_new_pin, require_secret};
use crate::CliError;
use authenticator_core::AuthenticatorError;

/// `pin set`.
pub fn pin_set(ctx: &Context) -> anyhow::Result<()> {
    let state = ctx.auth.lock_state()?;
    if state.wiped {
        return Err(AuthenticatorError::Wiped.into());
    }
    if state.has_pin {
        return Err(CliError::new("a PIN is already set; use `authenticator pin change`").into());
    }
    let pin = read_new_pin()?;
    ctx.auth.set_pin(String::clone(&pin))?;
    println!("PIN set: every run now starts locked and asks for it");
    Ok(())
}

/// `pin change`: old PIN, then the new one.
pub fn pin_change(ctx: &Context) -> anyhow::Result<()> {
    let state = ctx.auth.lock_state()?;
    if state.wiped {
        return Err(AuthenticatorError::Wiped.into());
    }
    if !state.has_pin {
        return Err(CliError::new("no PIN is set; use `authenticator pin set`").into());
    }
    let old = require_secret("Current PIN: ", "current PIN")?;
    let new = read_new_pin()?;
    ctx.auth
        .change_pin(String::clone(&old), String::clone(&new))?;
    println!("PIN changed");
    Ok(())
}

/// `pin remove`.
pub fn pin_remove(ctx: &Context) -> anyhow::Result<()> {
    let state = ctx.auth.lock_state()?;
    if state.wiped {
        return Err(AuthenticatorError::Wiped.into());
    }
    if !state.has_pin {
        println!("no PIN is set");
        return Ok(());
    }
    if state.policy.require_pin {
        return Err(AuthenticatorError::PinRequired.into());
    }
    let pin = require_secret("PIN: ", "PIN")?;
    ctx.auth.remove_pin(String::clone(&pin))?;
    println!("PIN removed: codes are shown without asking (the vault is still encrypted with the device key)");
    Ok(())
}

/// `lock`.
pub fn lock(ctx: &Context) -> anyhow::Result<()> {
    let state = ctx.auth.lock_state()?;
    if !state.has_pin && !state.wiped {
        println!(
            "no PIN is set, so there is nothing to lock with (set one: authenticator pin set)"
        );
        return Ok(());
    }
    ctx.auth.lock()?;
    println!("locked (every run of authenticator starts locked anyway while a PIN is set)");
    Ok(())
}

/// `status`.
pub fn status(ctx: &Context, json: bool) -> anyhow::Result<()> {
    let s = ctx.auth.lock_state()?;
    let accounts = if s.wiped {
        0
    } else {
        ctx.auth.list_accounts()?.len()
    };
    let vault = ctx.vault.to_string_lossy().into_owned();
    let pending = if s.wiped {
        Vec::new()
    } else {
        ctx.auth.pending_push_token_updates()?
    };
    if json {
        return print_json(&StatusJson::new(
            &s,
            accounts,
            ctx.keystore.as_str(),
            vault,
            &pending,
        ));
    }
    let yes_no = |b: bool| if b { "yes" } else { "no" };
    println!("vault: {vault}");
    println!("keystore: {}", ctx.keystore.as_str());
    if let Some(p) = s.protection {
        println!(
            "device key protection: {} (every PIN check needs it{})",
            crate::output::protection_name(p),
            if p == authenticator_core::KeyProtection::Software {
                "; it is not in hardware"
            } else {
                ""
            }
        );
    }
    if s.wiped {
        println!("WIPED after too many wrong PINs: run `authenticator start-over`");
        return Ok(());
    }
    println!("accounts: {accounts}");
    println!("PIN set: {}", yes_no(s.has_pin));
    println!("locked: {}", yes_no(s.locked));
    if s.has_pin {
        println!("wrong PINs left before the wipe: {}", s.attempts_left);
    }
    if let Some(secs) = s.seconds_until_auto_lock {
        println!("auto-lock in: {secs} s");
    }
    println!("biometric unlock: {}", yes_no(s.biometric_enabled));
    let p = &s.policy;
    println!(
        "policy: PIN required: {}; wipe after {} wrong PINs; idle lock: {}; minimum PIN length {}",
        yes_no(p.require_pin),
        p.wipe_after_attempts,
        p.idle_timeout_seconds
            .map(|s| format!("after {s} s"))
            .unwrap_or_else(|| "never".to_string()),
        p.min_pin_length
    );
    println!(
        "background lock: {}",
        match p.background_grace_seconds {
            0 => "as soon as the app leaves the screen".to_string(),
            s => format!("{s} s after the app leaves the screen"),
        }
    );
    for u in &pending {
        println!(
            "push token update pending: {} ({} failed attempts{})",
            sanitize(&u.serial),
            u.attempts,
            u.last_error
                .as_deref()
                .map(|e| format!("; last error: {}", sanitize(e)))
                .unwrap_or_default()
        );
    }
    Ok(())
}

/// `start-over`: a fresh, empty vault after a wipe.
pub fn start_over(ctx: &Context) -> anyhow::Result<()> {
    let s = ctx.auth.lock_state()?;
    if !s.wiped {
        return Err(CliError::new("the vault was not wiped; nothing to start over").into());
    }
    if !confirm("Start again with an empty vault?")? {
        return Err(CliError::new("cancelled").into());
    }
    ctx.allow_new_device_key();
    ctx.auth.start_over()?;
    println!("started over with an empty vault");
    Ok(())
}
