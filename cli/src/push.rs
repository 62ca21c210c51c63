//! Push commands (privacyIDEA): `poll`, `approve`, `decline`, the interactive `listen`
//! loop, and `token` (push service token rotation).

use crate::accounts::account_label;
use crate::context::Context;
use crate::output::{print_json, sanitize, sanitize_all, ChallengeJson};
use crate::prompt::{ask, ensure_unlocked, stdin_is_tty};
use crate::CliError;
use authenticator_core::{
    Account, Authenticator, AuthenticatorError, PushAnswerResult, PushChallenge,
};
use std::collections::HashSet;
use std::time::Duration;

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Finds a pending challenge by id or unique id prefix.
fn resolve_challenge(auth: &Authenticator, query: &str) -> anyhow::Result<PushChallenge> {
    let pending = auth.pending_challenges()?;
    if let Some(c) = pending.iter().find(|c| c.id == query) {
        return Ok(c.clone());
    }
    let mut matches: Vec<PushChallenge> = pending
        .into_iter()
        .filter(|c| !query.is_empty() && c.id.starts_with(query))
        .collect();
    match matches.len() {
        1 => Ok(matches.remove(0)),
        0 => Err(CliError::new(format!(
            "no pending challenge starts with '{query}' (expired or answered? run `authenticator push poll`)"
        ))
        .into()),
        n => Err(CliError::new(format!(
            "'{query}' matches {n} pending challenges: {}; give more of the id",
            matches
                .iter()
                .map(|c| c.id.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        ))
        .into()),
    }
}

fn account_name(accounts: &[Account], c: &PushChallenge) -> String {
    accounts
        .iter()
        .find(|a| a.id == c.account_id)
        .map(account_label)
        .unwrap_or_else(|| sanitize(&c.serial))
}

/// One line per challenge; the id comes first so it can be copied.
fn challenge_line(accounts: &[Account], c: &PushChallenge) -> String {
    let mut line = format!(
        "{}  {}  {}: {}",
        sanitize(&c.id),
        account_name(accounts, c),
        sanitize(&c.title),
        sanitize(&c.question)
    );
    if !c.presence_options.is_empty() {
        line.push_str(&format!(
            "  [pick the number shown at the login: {}]",
            sanitize_all(&c.presence_options).join(" / ")
        ));
    }
    line.push_str(&format!(
        "  (expires in {}s, via {})",
        (c.expires_at - now()).max(0),
        match c.received_via {
            authenticator_core::ChallengeSource::Push => "push",
            authenticator_core::ChallengeSource::Poll => "poll",
        }
    ));
    if !c.tls_verify {
        line.push_str("  WARNING: TLS checks are off for this server");
    }
    line
}

/// `push poll`.
pub fn poll(ctx: &Context, json: bool) -> anyhow::Result<()> {
    ensure_unlocked(&ctx.auth)?;
    let challenges = ctx.auth.poll_challenges()?;
    if json {
        let v: Vec<ChallengeJson> = challenges.iter().map(ChallengeJson::from).collect();
        return print_json(&v);
    }
    if challenges.is_empty() {
        println!("no pending challenges");
        return Ok(());
    }
    let accounts = ctx.auth.list_accounts()?;
    for c in &challenges {
        println!("{}", challenge_line(&accounts, c));
    }
    Ok(())
}

/// Prints the server's verdict; an error when it did not accept the answer.
fn report(result: &PushAnswerResult, done: &str) -> anyhow::Result<()> {
    if result.accepted {
        println!("{done}");
        if let Some(code) = &result.display_code {
            println!("code to type at the login: {}", sanitize(code.expose()));
        }
    } else {
        println!("refused by the server");
    }
    if let Some(m) = &result.message {
        println!("{}", sanitize(m));
    }
    if result.accepted {
        Ok(())
    } else {
        Err(CliError::new("the server did not accept the answer").into())
    }
}

/// The option (or reason) as the server sent it, for what the user typed after seeing
/// it sanitised: an exact match, else the one option that sanitises to it.
fn as_sent(offered: &[String], typed: String) -> String {
    if offered.contains(&typed) {
        return typed;
    }
    let mut shown_as = offered.iter().filter(|o| sanitize(o) == typed);
    match (shown_as.next(), shown_as.next()) {
        (Some(one), None) => one.clone(),
        _ => typed,
    }
}

/// Asks which presence option the login screen shows (terminal only).
fn ask_option(c: &PushChallenge) -> anyhow::Result<Option<String>> {
    let question = format!(
        "Which of {} is shown at the login? ",
        sanitize_all(&c.presence_options).join(" / ")
    );
    Ok(ask(&question)?.map(|a| as_sent(&c.presence_options, a.trim().to_string())))
}

/// `push approve CHALLENGE [--answer OPTION]`.
pub fn approve(ctx: &Context, challenge: &str, answer: Option<String>) -> anyhow::Result<()> {
    let c = resolve_challenge(&ctx.auth, challenge)?;
    let answer = match answer {
        Some(a) => Some(as_sent(&c.presence_options, a)),
        None if c.presence_options.is_empty() => None,
        None if stdin_is_tty() => ask_option(&c)?,
        None => {
            return Err(CliError::new(format!(
                "this challenge needs --answer with the option shown at the login (one of: {})",
                sanitize_all(&c.presence_options).join(", ")
            ))
            .into())
        }
    };
    ensure_unlocked(&ctx.auth)?;
    let result = ctx.auth.approve(c.id, answer)?;
    report(&result, "approved")
}

/// `push decline CHALLENGE [--reason REASON]`.
pub fn decline(ctx: &Context, challenge: &str, reason: Option<String>) -> anyhow::Result<()> {
    let c = resolve_challenge(&ctx.auth, challenge)?;
    let reason = reason.map(|r| as_sent(&c.decline_reasons, r));
    ensure_unlocked(&ctx.auth)?;
    let result = ctx.auth.decline(c.id, reason)?;
    report(&result, "declined")
}

/// What the user chose in `listen`.
enum Choice {
    Approve(Option<String>),
    Decline(Option<String>),
    Skip,
    Quit,
}

fn ask_choice(c: &PushChallenge) -> anyhow::Result<Choice> {
    loop {
        let Some(a) = ask("Approve, decline or skip? [a/d/s] ")? else {
            return Ok(Choice::Quit);
        };
        match a.trim().to_ascii_lowercase().as_str() {
            "a" | "approve" | "y" | "yes" => {
                if c.presence_options.is_empty() {
                    return Ok(Choice::Approve(None));
                }
                return match ask_option(c)? {
                    Some(o) if !o.is_empty() => Ok(Choice::Approve(Some(o))),
                    Some(_) => continue,
                    None => Ok(Choice::Quit),
                };
            }
            "d" | "decline" | "n" | "no" => {
                if c.decline_reasons.is_empty() {
                    return Ok(Choice::Decline(None));
                }
                let q = format!(
                    "Reason ({}; Enter for none): ",
                    sanitize_all(&c.decline_reasons).join(" / ")
                );
                return match ask(&q)? {
                    Some(r) if !r.trim().is_empty() => Ok(Choice::Decline(Some(as_sent(
                        &c.decline_reasons,
                        r.trim().to_string(),
                    )))),
                    Some(_) => Ok(Choice::Decline(None)),
                    None => Ok(Choice::Quit),
                };
            }
            "s" | "skip" | "" => return Ok(Choice::Skip),
            "q" | "quit" => return Ok(Choice::Quit),
            _ => eprintln!("answer a, d or s (q quits)"),
        }
    }
}

/// `push listen`: poll, ask about each new challenge, repeat.
pub fn listen(ctx: &Context, interval: u64) -> anyhow::Result<()> {
    ensure_unlocked(&ctx.auth)?;
    eprintln!("listening for push challenges every {interval} s (Ctrl-C to stop)");
    let mut seen: HashSet<String> = HashSet::new();
    loop {
        // The idle timeout may have locked the vault while we slept.
        ensure_unlocked(&ctx.auth)?;
        let challenges = match ctx.auth.poll_challenges() {
            Ok(c) => c,
            Err(e @ (AuthenticatorError::Locked | AuthenticatorError::Wiped)) => {
                return Err(e.into())
            }
            Err(e) => {
                eprintln!("warning: poll failed: {}", sanitize(&e.to_string()));
                Vec::new()
            }
        };
        let accounts = ctx.auth.list_accounts()?;
        for c in challenges {
            if !seen.insert(c.id.clone()) || c.expires_at < now() {
                continue;
            }
            println!("new challenge: {}", challenge_line(&accounts, &c));
            let choice = ask_choice(&c)?;
            ctx.auth.report_activity()?;
            ensure_unlocked(&ctx.auth)?;
            let outcome = match choice {
                Choice::Quit => return Ok(()),
                Choice::Skip => continue,
                Choice::Approve(option) => ctx
                    .auth
                    .approve(c.id.clone(), option)
                    .map(|r| (r, "approved")),
                Choice::Decline(reason) => ctx
                    .auth
                    .decline(c.id.clone(), reason)
                    .map(|r| (r, "declined")),
            };
            match outcome {
                Ok((r, done)) => {
                    if let Err(e) = report(&r, done) {
                        eprintln!("{e}");
                    }
                }
                Err(e @ AuthenticatorError::Wiped) => return Err(e.into()),
                Err(e) => eprintln!("error: {}", sanitize(&e.to_string())),
            }
        }
        std::thread::sleep(Duration::from_secs(interval));
    }
}

/// `push token NEW_TOKEN` and `push token --retry` (`new_token` None).
pub fn token(ctx: &Context, new_token: Option<String>) -> anyhow::Result<()> {
    ensure_unlocked(&ctx.auth)?;
    let results = match new_token {
        Some(t) => ctx.auth.update_push_service_token(t)?,
        None => ctx.auth.retry_push_token_updates()?,
    };
    if results.is_empty() {
        println!("no push token needs an update; a new token is stored for future enrollments");
        return Ok(());
    }
    let failed = results.iter().filter(|r| !r.ok).count();
    for r in &results {
        if r.ok {
            println!("{}: updated", sanitize(&r.serial));
        } else {
            println!(
                "{}: FAILED: {} (queued: sent again after the next unlock, or with `push token --retry`)",
                sanitize(&r.serial),
                sanitize(r.error.as_deref().unwrap_or("unknown error"))
            );
        }
    }
    if failed > 0 {
        return Err(CliError::new(format!(
            "{failed} of {} push tokens were not updated",
            results.len()
        ))
        .into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use authenticator_core::ChallengeSource;

    fn challenge() -> PushChallenge {
        PushChallenge {
            id: "NONCE1".into(),
            account_id: "acc".into(),
            serial: "PIPU\u{1b}[2J0001".into(),
            title: "\u{1b}]0;owned\u{07}Fake PI".into(),
            question: "Login \u{202e}for\nalice?\u{1b}[8m".into(),
            presence_options: vec!["1\u{1b}[5m2".into(), "34".into()],
            decline_reasons: vec![],
            expires_at: 0,
            received_via: ChallengeSource::Poll,
            tls_verify: true,
            requires_unlock: false,
        }
    }

    #[test]
    fn challenge_lines_show_no_control_characters() {
        let line = challenge_line(&[], &challenge());
        assert!(
            line.starts_with("NONCE1  PIPU0001  Fake PI: Login for alice?  [pick the number shown at the login: 12 / 34]"),
            "{line}"
        );
        assert!(
            !line.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{line:?}"
        );
    }

    #[test]
    fn a_typed_option_maps_back_to_what_the_server_sent() {
        let c = challenge();
        assert_eq!(as_sent(&c.presence_options, "12".into()), "1\u{1b}[5m2");
        assert_eq!(as_sent(&c.presence_options, "34".into()), "34");
        assert_eq!(as_sent(&c.presence_options, "99".into()), "99");
    }
}
