//! Reading from the user: hidden PIN prompts on a terminal, one line per answer from
//! stdin otherwise (scripts), yes/no confirmations, and the "unlock first" step every
//! code-revealing or state-changing command runs.

use crate::{CliError, EXIT_LOCKED};
use authenticator_core::{Authenticator, AuthenticatorError};
use std::io::{BufRead, IsTerminal, Write};
use zeroize::Zeroizing;

/// PIN prompts allowed per run on a terminal (one when reading stdin).
const TTY_PIN_TRIES: u32 = 3;

/// True when stdin is a terminal (hidden prompts) rather than a pipe or file.
pub fn stdin_is_tty() -> bool {
    std::io::stdin().is_terminal()
}

/// One line from stdin without its line ending; `None` at end of input.
pub fn read_line() -> anyhow::Result<Option<Zeroizing<String>>> {
    let mut line = Zeroizing::new(String::new());
    let n = std::io::stdin().lock().read_line(&mut line)?;
    if n == 0 {
        return Ok(None);
    }
    while line.ends_with(['\n', '\r']) {
        line.pop();
    }
    Ok(Some(line))
}

/// Prints `prompt` on stderr and reads one answer line from stdin.
pub fn ask(prompt: &str) -> anyhow::Result<Option<Zeroizing<String>>> {
    eprint!("{prompt}");
    std::io::stderr().flush()?;
    read_line()
}

/// A secret: a hidden prompt on a terminal, else one line of stdin. `None` when stdin
/// has no more lines.
pub fn read_secret(prompt: &str) -> anyhow::Result<Option<Zeroizing<String>>> {
    if stdin_is_tty() {
        let mut s = Zeroizing::new(rpassword::prompt_password(prompt)?);
        while s.ends_with(['\n', '\r']) {
            s.pop();
        }
        Ok(Some(s))
    } else {
        read_line()
    }
}

/// A secret that must be present and non-empty.
pub fn require_secret(prompt: &str, what: &str) -> anyhow::Result<Zeroizing<String>> {
    match read_secret(prompt)? {
        Some(s) if !s.is_empty() => Ok(s),
        _ => Err(CliError::new(format!("no {what} was entered")).into()),
    }
}

/// A new secret the user chooses: asked twice on a terminal (`differ` is the error
/// when the two answers differ), read once from stdin.
pub fn read_new_secret(
    prompt: &str,
    repeat_prompt: &str,
    what: &str,
    differ: &str,
) -> anyhow::Result<Zeroizing<String>> {
    let secret = require_secret(prompt, what)?;
    if stdin_is_tty() {
        let again = require_secret(repeat_prompt, what)?;
        if *again != *secret {
            return Err(CliError::new(differ).into());
        }
    }
    Ok(secret)
}

/// A new PIN: asked twice on a terminal, read once from stdin.
pub fn read_new_pin() -> anyhow::Result<Zeroizing<String>> {
    read_new_secret(
        "New PIN: ",
        "Repeat the new PIN: ",
        "new PIN",
        "the two PINs differ; nothing was changed",
    )
}

/// Asks a yes/no question on a terminal; scripts (stdin not a terminal) are not asked
/// and get yes.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    if !stdin_is_tty() {
        return Ok(true);
    }
    let answer = ask(&format!("{question} [y/N] "))?;
    Ok(answer.is_some_and(|a| matches!(a.trim().to_ascii_lowercase().as_str(), "y" | "yes")))
}

/// After an unlock: delivers push token rotations that servers have not taken yet
/// (only when some are queued, so no network otherwise). Best effort: a failure stays
/// queued in the vault and is reported on stderr.
fn retry_token_updates(auth: &Authenticator) {
    if auth
        .pending_push_token_updates()
        .map(|p| p.is_empty())
        .unwrap_or(true)
    {
        return;
    }
    if let Ok(results) = auth.retry_push_token_updates() {
        for r in results.iter().filter(|r| !r.ok) {
            eprintln!(
                "warning: {} has not taken the new push token yet ({}); kept for the next unlock",
                crate::output::sanitize(&r.serial),
                crate::output::sanitize(r.error.as_deref().unwrap_or("unknown error"))
            );
        }
    }
}

/// Makes sure the vault is unlocked, asking for the PIN when it is locked: up to three
/// hidden prompts on a terminal, one line of stdin otherwise. Then, once per run, the
/// container synchronizations that are due (set `AUTHENTICATOR_NO_AUTO_SYNC=1` to
/// leave them out).
pub fn ensure_unlocked(auth: &Authenticator) -> anyhow::Result<()> {
    ensure_unlocked_without_sync(auth)?;
    static SYNCED: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("AUTHENTICATOR_NO_AUTO_SYNC").is_none() {
        SYNCED.call_once(|| crate::container::sync_due(auth));
    }
    Ok(())
}

/// [`ensure_unlocked`] without the automatic container synchronization (for
/// `container sync`, which synchronizes anyway and reports what changed).
pub fn ensure_unlocked_without_sync(auth: &Authenticator) -> anyhow::Result<()> {
    let state = auth.lock_state()?;
    if state.wiped {
        return Err(AuthenticatorError::Wiped.into());
    }
    if !state.locked {
        return Ok(());
    }
    if !state.has_pin {
        return Err(AuthenticatorError::Locked.into());
    }
    let tries = if stdin_is_tty() { TTY_PIN_TRIES } else { 1 };
    for attempt in 1..=tries {
        let pin = match read_secret("PIN: ")? {
            Some(p) if !p.is_empty() => p,
            _ => {
                return Err(CliError::with_code(
                    EXIT_LOCKED,
                    "the vault is locked and no PIN was entered",
                )
                .into())
            }
        };
        match auth.unlock(String::clone(&pin)) {
            Ok(()) => {
                retry_token_updates(auth);
                return Ok(());
            }
            Err(AuthenticatorError::WrongPin { attempts_left }) if attempt < tries => {
                eprintln!("wrong PIN, {attempts_left} attempts left");
            }
            Err(e) => return Err(e.into()),
        }
    }
    Err(AuthenticatorError::Locked.into())
}
