//! The `authenticator` desktop command line: argument parsing, dispatch to the command
//! modules, and the one place that turns a failure into `error: <message>` on stderr
//! and an exit code (the contract QA scripts rely on).

mod accounts;
mod container;
mod context;
mod lock;
mod output;
mod prompt;
mod push;
mod transfer;
mod watch;

use authenticator_core::AuthenticatorError;
use clap::{Args, Parser, Subcommand, ValueEnum};
use std::path::PathBuf;
use std::process::ExitCode;

/// Exit code for anything that is not a usage error or one of the lock outcomes below.
pub const EXIT_FAILURE: u8 = 1;
/// A wrong PIN was entered.
pub const EXIT_WRONG_PIN: u8 = 3;
/// Too many wrong PINs: all provisioned data was wiped.
pub const EXIT_WIPED: u8 = 4;
/// The vault is locked and no PIN was given.
pub const EXIT_LOCKED: u8 = 5;

const AFTER_HELP: &str = "\
Each run opens the vault afresh: when a PIN is set, every command that reveals a code,
answers a push, polls or deletes asks for it first (on a terminal with a hidden prompt;
otherwise it reads one line from stdin).

Exit codes: 0 ok, 1 failure, 2 usage error, 3 wrong PIN, 4 data wiped, 5 vault locked.";

/// Desktop authenticator: OTP codes and privacyIDEA push approvals from an encrypted vault.
#[derive(Debug, Parser)]
#[command(name = "authenticator", version, after_help = AFTER_HELP)]
struct Cli {
    /// Vault file [default: the platform data directory's authenticator/vault.sqlite3].
    #[arg(long, global = true, env = "AUTHENTICATOR_VAULT", value_name = "PATH")]
    vault: Option<PathBuf>,

    /// Where the device key lives [default: the OS keystore, else a device-key file
    /// next to the vault].
    #[arg(long, global = true, env = "AUTHENTICATOR_KEYSTORE", value_enum)]
    keystore: Option<KeystoreKind>,

    #[command(subcommand)]
    command: Command,
}

/// Which keystore holds the device key.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeystoreKind {
    /// The OS keychain (Secret Service, macOS Keychain, Windows Credential Manager).
    Os,
    /// A user-only file `<vault>.devicekey` (weaker: see the warning it prints).
    File,
}

impl KeystoreKind {
    /// The name used in `status`.
    pub fn as_str(self) -> &'static str {
        match self {
            KeystoreKind::Os => "os",
            KeystoreKind::File => "file",
        }
    }
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Adds the account(s) of an otpauth://, otpauth-migration:// or push link, or of a
    /// QR code image; a pia://container/ link registers a privacyIDEA container (its
    /// passphrase is asked, or read as a line of stdin after the PIN line). Shows what will be added (and the current code) first.
    Add(AddArgs),
    /// Lists the accounts.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Shows codes: every TOTP/Steam account, or one account (HOTP: uses the next
    /// counter value).
    Code {
        /// Account id, or a case-insensitive part of "issuer:name" matching one account.
        account: Option<String>,
        /// Code at this time instead of now: unix seconds or RFC 3339.
        #[arg(long, value_name = "TIME", value_parser = parse_time)]
        at: Option<i64>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Live codes with a countdown per account, until Ctrl-C or q+Enter (Enter counts
    /// as activity for the idle lock).
    Watch,
    /// Renames an account.
    Rename {
        /// Account id or part of its name.
        account: String,
        /// The new name.
        new_name: String,
    },
    /// Deletes an account (asks for confirmation on a terminal).
    Remove {
        /// Account id or part of its name.
        account: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Sets, changes or removes the app PIN.
    Pin {
        #[command(subcommand)]
        action: PinAction,
    },
    /// Locks the vault. The unlocked state lives only inside one run: every run starts
    /// locked when a PIN is set, so this mostly matters inside `watch` / `push listen`,
    /// which also relock by themselves after the policy's idle timeout.
    Lock,
    /// Lock state, policy, account count, keystore and vault path.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// privacyIDEA smartphone containers: list, synchronize, remove (register one with
    /// `add 'pia://container/...'`).
    Container {
        #[command(subcommand)]
        action: ContainerAction,
    },
    /// privacyIDEA push: poll, approve, decline, listen, token rotation.
    Push {
        #[command(subcommand)]
        action: PushAction,
    },
    /// After too many wrong PINs wiped the vault: start again with an empty one.
    StartOver,
    /// Imports another app's export file (Aegis, 2FAS, Bitwarden, andOTP, FreeOTP+, Ente,
    /// otpauth lists): shows what it will add, skip and refuse, then stores it in one
    /// transaction. An encrypted file's password is asked (or read as one line of stdin,
    /// after the PIN line).
    Import {
        /// The export file.
        file: PathBuf,
        /// The file's format [default: detected from its content].
        #[arg(long, value_parser = transfer::parse_import_format)]
        format: Option<authenticator_core::ImportFormat>,
        /// Print the result as JSON (the preview goes to stderr).
        #[arg(long)]
        json: bool,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
    /// Exports the accounts that may leave this phone (never push tokens or accounts
    /// under a server's lock policy). Asks for the PIN even when unlocked; `aegis` asks
    /// for a file password (twice on a terminal).
    Export {
        /// aegis (encrypted), aegis-plain, uri-list or google (migration QR codes).
        #[arg(long, value_parser = transfer::parse_export_format)]
        format: authenticator_core::ExportFormat,
        /// The file to write; for google, a folder for links.txt and one PNG per QR code.
        #[arg(long, value_name = "PATH")]
        out: PathBuf,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// Overwrite an existing file.
        #[arg(long)]
        force: bool,
    },
}

/// Arguments of `add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The link (`-` reads it from stdin, which keeps it out of the shell history).
    #[arg(required_unless_present = "qr", conflicts_with = "qr")]
    pub link: Option<String>,
    /// A PNG or JPEG image of the QR code.
    #[arg(long, value_name = "IMAGE")]
    pub qr: Option<PathBuf>,
    /// Print the result as JSON (the preview goes to stderr).
    #[arg(long)]
    pub json: bool,
    /// Do not ask for confirmation.
    #[arg(long)]
    pub yes: bool,
    /// Container links whose server adopts local tokens at the first synchronization
    /// (`initially_add_tokens_to_container`): `all`, `none`, or account ids separated
    /// by commas. Without it a terminal is asked; a script leaves the offer open
    /// (`container sync CONTAINER --adopt ...` answers it).
    #[arg(long, value_name = "all|none|IDS")]
    pub adopt: Option<String>,
}

#[derive(Debug, Subcommand)]
enum PinAction {
    /// Sets the first PIN (twice on a terminal; one line from stdin otherwise).
    Set,
    /// Changes the PIN (old then new; from stdin: two lines).
    Change,
    /// Removes the PIN (refused while a policy requires one).
    Remove,
}

#[derive(Debug, Subcommand)]
enum ContainerAction {
    /// Lists the registered containers.
    List {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Synchronizes one container (by serial), or every registered one.
    Sync {
        /// Container serial (SMPH...).
        container: Option<String>,
        /// Print JSON: {"added":[ids],"updated":[ids],"removed":[ids]}.
        #[arg(long)]
        json: bool,
        /// Answers an open initial-transfer offer: `all`, `none`, or account ids
        /// separated by commas (needs CONTAINER).
        #[arg(long, value_name = "all|none|IDS", requires = "container")]
        adopt: Option<String>,
    },
    /// Asks the server for a link that moves a container to a new phone; prints the
    /// link and writes its QR code.
    Transfer {
        /// Container serial.
        container: String,
        /// Protect the link with a passphrase you choose (asked twice on a terminal,
        /// else one stdin line after the PIN line); the new phone must type it.
        #[arg(long)]
        passphrase: bool,
        /// Write the QR code as a PNG.
        #[arg(long, value_name = "QR.png")]
        out: Option<PathBuf>,
        /// Overwrite the --out file if it exists.
        #[arg(long)]
        force: bool,
        /// Print JSON: {"link":"pia://container/...","expires_at":...,"passphrase_protected":...,"qr":PATH|null}.
        #[arg(long)]
        json: bool,
    },
    /// Shows or sets how old the last synchronization may be before an unlock
    /// synchronizes a container again (seconds; 0: only on demand and after pushes).
    SyncInterval {
        /// New interval in seconds (at most 604800).
        seconds: Option<u64>,
        /// Print JSON: {"seconds":N}.
        #[arg(long)]
        json: bool,
    },
    /// Unregisters a container on its server and removes it and its accounts here.
    Remove {
        /// Container serial.
        container: String,
        /// Do not ask for confirmation.
        #[arg(long)]
        yes: bool,
    },
}

#[derive(Debug, Subcommand)]
enum PushAction {
    /// Polls every push token's server and lists the pending challenges.
    Poll {
        /// Print a JSON array.
        #[arg(long)]
        json: bool,
    },
    /// Approves a challenge.
    Approve {
        /// Challenge id, or a unique prefix of it.
        challenge: String,
        /// The option shown on the login screen (number matching).
        #[arg(long, value_name = "OPTION")]
        answer: Option<String>,
    },
    /// Declines a challenge.
    Decline {
        /// Challenge id, or a unique prefix of it.
        challenge: String,
        /// One of the challenge's decline reasons.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Polls periodically and asks about each new challenge, until Ctrl-C or end of input.
    Listen {
        /// Seconds between polls.
        #[arg(long, value_name = "SECONDS", default_value_t = 5,
              value_parser = clap::value_parser!(u64).range(1..))]
        interval: u64,
    },
    /// Rotation: stores a new FCM/APNs token and updates it on every push server; a
    /// server that misses it stays queued in the vault. `--retry` sends the queue again.
    Token {
        /// The new push service token.
        #[arg(required_unless_present = "retry")]
        new_token: Option<String>,
        /// Send the queued updates again instead of a new token.
        #[arg(long, conflicts_with = "new_token")]
        retry: bool,
    },
}

/// Parses `--at`: unix seconds or an RFC 3339 date-time.
fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(secs) = s.trim().parse::<i64>() {
        return Ok(secs);
    }
    chrono::DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.timestamp())
        .map_err(|_| {
            "expected unix seconds or an RFC 3339 time such as 2020-01-01T00:00:00Z".into()
        })
}

/// A failure of the CLI itself (not the core), with its exit code.
#[derive(Debug)]
pub struct CliError {
    /// Process exit code.
    pub code: u8,
    /// One-line message.
    pub message: String,
}

impl CliError {
    /// A failure with exit code 1.
    pub fn new(message: impl Into<String>) -> Self {
        Self {
            code: EXIT_FAILURE,
            message: message.into(),
        }
    }

    /// A failure with a specific exit code.
    pub fn with_code(code: u8, message: impl Into<String>) -> Self {
        Self {
            code,
            message: message.into(),
        }
    }
}

impl std::fmt::Display for CliError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CliError {}

fn run(cli: Cli) -> anyhow::Result<()> {
    let ctx = context::Context::open(cli.vault, cli.keystore)?;
    match cli.command {
        Command::Add(args) => accounts::add(&ctx, args),
        Command::List { json } => accounts::list(&ctx, json),
        Command::Code { account, at, json } => accounts::code(&ctx, account.as_deref(), at, json),
        Command::Watch => watch::watch(&ctx),
        Command::Rename { account, new_name } => accounts::rename(&ctx, &account, &new_name),
        Command::Remove { account, yes } => accounts::remove(&ctx, &account, yes),
        Command::Pin { action } => match action {
            PinAction::Set => lock::pin_set(&ctx),
            PinAction::Change => lock::pin_change(&ctx),
            PinAction::Remove => lock::pin_remove(&ctx),
        },
        Command::Lock => lock::lock(&ctx),
        Command::Status { json } => lock::status(&ctx, json),
        Command::StartOver => lock::start_over(&ctx),
        Command::Import {
            file,
            format,
            json,
            yes,
        } => transfer::import(&ctx, &file, format, json, yes),
        Command::Export {
            format,
            out,
            json,
            force,
        } => transfer::export(&ctx, format, &out, json, force),
        Command::Container { action } => match action {
            ContainerAction::List { json } => container::list(&ctx, json),
            ContainerAction::Sync {
                container,
                json,
                adopt,
            } => container::sync(&ctx, container.as_deref(), json, adopt.as_deref()),
            ContainerAction::Transfer {
                container,
                passphrase,
                out,
                force,
                json,
            } => container::transfer(&ctx, &container, passphrase, out.as_deref(), force, json),
            ContainerAction::SyncInterval { seconds, json } => {
                container::sync_interval(&ctx, seconds, json)
            }
            ContainerAction::Remove { container, yes } => container::remove(&ctx, &container, yes),
        },
        Command::Push { action } => match action {
            PushAction::Poll { json } => push::poll(&ctx, json),
            PushAction::Approve { challenge, answer } => push::approve(&ctx, &challenge, answer),
            PushAction::Decline { challenge, reason } => push::decline(&ctx, &challenge, reason),
            PushAction::Listen { interval } => push::listen(&ctx, interval),
            PushAction::Token { new_token, .. } => push::token(&ctx, new_token),
        },
    }
}

/// Exit code and one-line message for a failure.
fn describe(e: &anyhow::Error) -> (u8, String) {
    if let Some(core) = e.downcast_ref::<AuthenticatorError>() {
        return match core {
            AuthenticatorError::WrongPin { .. } => (EXIT_WRONG_PIN, core.to_string()),
            AuthenticatorError::Wiped => (
                EXIT_WIPED,
                format!(
                    "{core}; run `authenticator start-over` to begin again with an empty vault"
                ),
            ),
            AuthenticatorError::Locked => (EXIT_LOCKED, core.to_string()),
            _ => (EXIT_FAILURE, format!("{e:#}")),
        };
    }
    if let Some(cli) = e.downcast_ref::<CliError>() {
        return (cli.code, cli.message.clone());
    }
    (EXIT_FAILURE, format!("{e:#}"))
}

/// `AUTHENTICATOR_LOG=error|warn|info|debug|trace`: the core's log records on stderr
/// (secret-free by design).
fn install_log() {
    use authenticator_core::LogLevel;
    let level = match std::env::var("AUTHENTICATOR_LOG").ok().as_deref() {
        Some("error") => LogLevel::Error,
        Some("warn") => LogLevel::Warn,
        Some("info") => LogLevel::Info,
        Some("debug") => LogLevel::Debug,
        Some("trace") => LogLevel::Trace,
        _ => return,
    };
    struct Stderr;
    impl authenticator_core::Logger for Stderr {
        fn log(&self, level: LogLevel, target: String, message: String) {
            eprintln!("log: {level:?} {target}: {}", output::sanitize(&message));
        }
    }
    authenticator_core::set_logger(Some(std::sync::Arc::new(Stderr)), level);
}

fn main() -> ExitCode {
    // Everything this process creates (the vault, its -wal and -shm, the device-key
    // file, the vault's folder) is for the user alone. Set before any file is created
    // and before any thread starts.
    #[cfg(unix)]
    // SAFETY: umask only replaces the process's file-mode creation mask.
    unsafe {
        libc::umask(0o077);
    }
    let cli = Cli::parse();
    install_log();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let (code, message) = describe(&e);
            // Errors can quote a server or a link (and the ACCOUNT argument).
            let one_line: Vec<&str> = message.lines().map(str::trim).collect();
            eprintln!("error: {}", output::sanitize(&one_line.join(" ")));
            ExitCode::from(code)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_argument_definitions_are_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn at_accepts_unix_seconds_and_rfc3339() {
        assert_eq!(parse_time("1577836800"), Ok(1_577_836_800));
        assert_eq!(parse_time("2020-01-01T00:00:00Z"), Ok(1_577_836_800));
        assert_eq!(parse_time("2020-01-01T01:00:00+01:00"), Ok(1_577_836_800));
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn lock_outcomes_have_their_own_exit_codes() {
        let code = |e: AuthenticatorError| describe(&anyhow::Error::from(e)).0;
        assert_eq!(code(AuthenticatorError::WrongPin { attempts_left: 2 }), 3);
        assert_eq!(code(AuthenticatorError::Wiped), 4);
        assert_eq!(code(AuthenticatorError::Locked), 5);
        assert_eq!(code(AuthenticatorError::AlreadyEnrolled), 1);
        assert_eq!(describe(&CliError::with_code(5, "x").into()).0, 5);
    }
}
