//! `watch`: live TOTP/Steam codes with a countdown bar, redrawn every second until
//! Ctrl-C or q+Enter. Enter counts as activity for the idle lock; when the vault locks
//! itself, codes disappear until the PIN is entered again. A background thread owns
//! stdin (and the PIN prompt) so the redraw never blocks on input.

use crate::accounts::account_label;
use crate::context::Context;
use crate::output::group_code;
use crate::prompt::{ensure_unlocked, read_line, stdin_is_tty};
use crate::{CliError, EXIT_LOCKED};
use authenticator_core::{AuthenticatorError, Code, LockState};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// Width of the countdown bar in cells.
const BAR_WIDTH: u32 = 20;
/// PIN tries per lock on a terminal (one when the PIN comes from stdin).
const TTY_PIN_TRIES: u32 = 3;

/// What the input thread saw.
enum Input {
    /// Enter (activity).
    Enter,
    /// q + Enter.
    Quit,
    /// A PIN, entered while the vault was locked.
    Pin(Zeroizing<String>),
    /// stdin closed.
    Eof,
}

/// Reads stdin lines; while `locked` is set, a line is the cue to ask for the PIN (on a
/// terminal, hidden) or is the PIN itself (from a pipe).
fn spawn_input(locked: Arc<AtomicBool>, tty: bool) -> Receiver<Input> {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || loop {
        let line = match read_line() {
            Ok(Some(line)) => line,
            _ => {
                let _ = tx.send(Input::Eof);
                return;
            }
        };
        let msg = if line.trim().eq_ignore_ascii_case("q") {
            Input::Quit
        } else if locked.load(Ordering::SeqCst) {
            if tty {
                match rpassword::prompt_password("PIN: ") {
                    Ok(p) => Input::Pin(Zeroizing::new(p)),
                    Err(_) => Input::Eof,
                }
            } else {
                Input::Pin(line)
            }
        } else {
            Input::Enter
        };
        if tx.send(msg).is_err() {
            return;
        }
    });
    rx
}

/// Time to the next whole wall-clock second (codes change on whole seconds).
fn until_next_second() -> Duration {
    let ms = chrono::Utc::now().timestamp_subsec_millis();
    Duration::from_millis(u64::from(1000u32.saturating_sub(ms).max(20)))
}

fn bar(c: &Code) -> String {
    let (Some(left), Some(period)) = (c.seconds_left, c.period) else {
        return String::new();
    };
    let period = period.max(1);
    let filled = (left.min(period) * BAR_WIDTH).div_ceil(period);
    let empty = BAR_WIDTH - filled;
    format!(
        "{}{}",
        "█".repeat(filled as usize),
        "░".repeat(empty as usize)
    )
}

/// The lines of one screen.
fn screen(ctx: &Context, state: &LockState, tty: bool) -> anyhow::Result<Option<Vec<String>>> {
    let codes = match ctx.auth.time_codes() {
        Ok(c) => c,
        // Locked between the state check and now: the next round shows the lock.
        Err(AuthenticatorError::Locked) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let accounts = ctx.auth.list_accounts()?;
    let labels: Vec<String> = codes
        .iter()
        .map(|c| {
            accounts
                .iter()
                .find(|a| a.id == c.account_id)
                .map(account_label)
                .unwrap_or_else(|| c.account_id.clone())
        })
        .collect();
    let width = labels.iter().map(|l| l.chars().count()).max().unwrap_or(0);
    let code_width = codes
        .iter()
        .map(|c| group_code(c.code.expose()).chars().count())
        .max()
        .unwrap_or(0);
    let mut lines = Vec::new();
    let mut header = if tty {
        "authenticator watch: q+Enter quits, Enter keeps the vault unlocked".to_string()
    } else {
        format!(
            "--- {}",
            chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        )
    };
    if let Some(s) = state.seconds_until_auto_lock {
        header.push_str(&format!("  (auto-lock in {s} s)"));
    }
    lines.push(header);
    if codes.is_empty() {
        lines.push("no TOTP or Steam accounts".to_string());
    }
    for (c, l) in codes.iter().zip(&labels) {
        let left = c.seconds_left.unwrap_or(0);
        if tty {
            lines.push(format!(
                "{l:<width$}  {:<code_width$}  {} {left:>2}s",
                group_code(c.code.expose()),
                bar(c)
            ));
        } else {
            lines.push(format!("{l}  {}  ({left}s)", group_code(c.code.expose())));
        }
    }
    let hotp = accounts
        .iter()
        .filter(|a| a.kind == authenticator_core::AccountKind::Hotp)
        .count();
    if hotp > 0 && tty {
        lines.push(format!(
            "({hotp} HOTP account(s) not shown: `authenticator code ACCOUNT` uses the next counter)"
        ));
    }
    Ok(Some(lines))
}

fn draw(lines: &[String], tty: bool) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    if tty {
        // Home, overwrite each line, clear the rest: no flicker.
        write!(out, "\x1b[H")?;
        for l in lines {
            write!(out, "{l}\x1b[K\r\n")?;
        }
        write!(out, "\x1b[J")?;
    } else {
        for l in lines {
            writeln!(out, "{l}")?;
        }
    }
    out.flush()?;
    Ok(())
}

/// `watch`.
pub fn watch(ctx: &Context) -> anyhow::Result<()> {
    ensure_unlocked(&ctx.auth)?;
    let tty_in = stdin_is_tty();
    let tty_out = std::io::stdout().is_terminal();
    let locked = Arc::new(AtomicBool::new(false));
    let rx = spawn_input(locked.clone(), tty_in);
    let max_tries = if tty_in { TTY_PIN_TRIES } else { 1 };
    let mut wrong_in_a_row = 0;
    let mut input_open = true;
    let mut lock_shown = false;
    if tty_out {
        print!("\x1b[2J");
    }
    loop {
        let state = ctx.auth.lock_state()?;
        if state.wiped {
            return Err(AuthenticatorError::Wiped.into());
        }
        if state.locked {
            locked.store(true, Ordering::SeqCst);
            if !input_open {
                return Err(CliError::with_code(
                    EXIT_LOCKED,
                    "the vault locked itself (idle timeout) and stdin has no PIN",
                )
                .into());
            }
            if !lock_shown {
                lock_shown = true;
                let msg = if tty_in {
                    "locked: codes are hidden. Press Enter to type the PIN, or q+Enter to quit."
                } else {
                    "locked: codes are hidden; the next line of stdin is taken as the PIN."
                };
                draw(&[msg.to_string()], tty_out)?;
            }
        } else {
            locked.store(false, Ordering::SeqCst);
            lock_shown = false;
            if let Some(lines) = screen(ctx, &state, tty_out)? {
                draw(&lines, tty_out)?;
            }
        }

        if !input_open {
            std::thread::sleep(until_next_second());
            continue;
        }
        match rx.recv_timeout(until_next_second()) {
            Ok(Input::Quit) => return Ok(()),
            Ok(Input::Enter) => ctx.auth.report_activity()?,
            Ok(Input::Pin(pin)) => match ctx.auth.unlock(String::clone(&pin)) {
                Ok(()) => wrong_in_a_row = 0,
                Err(AuthenticatorError::WrongPin { attempts_left }) => {
                    wrong_in_a_row += 1;
                    if wrong_in_a_row >= max_tries {
                        return Err(AuthenticatorError::WrongPin { attempts_left }.into());
                    }
                    eprintln!("wrong PIN, {attempts_left} attempts left; press Enter to try again");
                }
                Err(e) => return Err(e.into()),
            },
            Ok(Input::Eof) | Err(RecvTimeoutError::Disconnected) => input_open = false,
            Err(RecvTimeoutError::Timeout) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(left: u32, period: u32) -> Code {
        Code {
            account_id: "a".into(),
            code: authenticator_core::OtpCode::new("123456".into()),
            valid_until: Some(0),
            seconds_left: Some(left),
            period: Some(period),
            counter: None,
        }
    }

    #[test]
    fn the_bar_shrinks_with_the_time_left() {
        assert_eq!(bar(&code(30, 30)).chars().filter(|&c| c == '█').count(), 20);
        assert_eq!(bar(&code(15, 30)).chars().filter(|&c| c == '█').count(), 10);
        assert_eq!(bar(&code(0, 30)).chars().filter(|&c| c == '█').count(), 0);
        assert_eq!(bar(&code(1, 30)).chars().count(), 20);
    }
}
