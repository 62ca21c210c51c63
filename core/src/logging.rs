//! One log for the core and the shell: a foreign `Logger` the shell implements (Android
//! `Log`, Apple `os.Logger`, the CLI's stderr) receives the core's records and those of
//! the crates under it (rustls, reqwest) through the `log` facade. Nothing secret is
//! ever logged: records carry ids, serials, kinds and outcomes, never a secret, PIN,
//! code, key, signature or enrollment credential (tested with the most verbose level).

use std::sync::{Arc, RwLock};

/// Severity of a log record, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed.
    Error,
    /// Something the user may need to know (a wrong PIN, a wipe, a refused push).
    Warn,
    /// Milestones (vault opened, unlocked, account added, push answered).
    Info,
    /// Details for QA.
    Debug,
    /// Everything, including the libraries' own records.
    Trace,
}

impl LogLevel {
    fn filter(self) -> log::LevelFilter {
        match self {
            LogLevel::Error => log::LevelFilter::Error,
            LogLevel::Warn => log::LevelFilter::Warn,
            LogLevel::Info => log::LevelFilter::Info,
            LogLevel::Debug => log::LevelFilter::Debug,
            LogLevel::Trace => log::LevelFilter::Trace,
        }
    }

    fn from_log(l: log::Level) -> Self {
        match l {
            log::Level::Error => LogLevel::Error,
            log::Level::Warn => LogLevel::Warn,
            log::Level::Info => LogLevel::Info,
            log::Level::Debug => LogLevel::Debug,
            log::Level::Trace => LogLevel::Trace,
        }
    }
}

/// Where the core's log records go. Called on whatever thread logs, possibly while the
/// core holds its lock: an implementation must return quickly and must not call back
/// into the core.
#[uniffi::export(with_foreign)]
pub trait Logger: Send + Sync {
    /// One record: its level, the Rust module it came from, and the message.
    fn log(&self, level: LogLevel, target: String, message: String);
}

struct Bridge {
    target: RwLock<Option<Arc<dyn Logger>>>,
}

static BRIDGE: Bridge = Bridge {
    target: RwLock::new(None),
};

impl log::Log for Bridge {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::max_level()
    }

    fn log(&self, record: &log::Record<'_>) {
        if !self.enabled(record.metadata()) {
            return;
        }
        let target = self
            .target
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(t) = target {
            t.log(
                LogLevel::from_log(record.level()),
                record.target().to_string(),
                record.args().to_string(),
            );
        }
    }

    fn flush(&self) {}
}

/// Sends the core's log records at `max_level` and above to `logger` (None: nowhere).
/// Process-wide; call it once at start, before opening a vault.
#[uniffi::export]
pub fn set_logger(logger: Option<Arc<dyn Logger>>, max_level: LogLevel) {
    // The facade's logger can be set once per process; later calls swap the target.
    let _ = log::set_logger(&BRIDGE);
    *BRIDGE.target.write().unwrap_or_else(|p| p.into_inner()) = logger;
    log::set_max_level(max_level.filter());
}
