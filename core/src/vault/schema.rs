//! Database schema: the version, the create SQL of every version, and forward
//! migrations (`upgrade_from`), application-services style.

use crate::error::{Error, Result};
use rusqlite::Transaction;

/// Current schema version (`PRAGMA user_version`).
pub const VERSION: u32 = 7;

/// Version 1: vault state and OTP accounts (the foundation).
pub const CREATE_V1: &str = "
CREATE TABLE vault_state (
    id                          INTEGER PRIMARY KEY CHECK (id = 1),
    wrapped_vault_key           BLOB,
    kek_salt                    BLOB NOT NULL,
    pin_salt                    BLOB,
    pin_iterations              INTEGER,
    failed_attempts             INTEGER NOT NULL DEFAULT 0,
    app_policy                  TEXT NOT NULL DEFAULT '{}',
    wiped                       INTEGER NOT NULL DEFAULT 0,
    biometric_wrapped_vault_key BLOB,
    created_at                  INTEGER NOT NULL
);
CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY,
    kind                TEXT NOT NULL,
    issuer              TEXT NOT NULL,
    name                TEXT NOT NULL,
    algorithm           TEXT NOT NULL,
    digits              INTEGER NOT NULL,
    period              INTEGER NOT NULL,
    counter             INTEGER NOT NULL DEFAULT 0,
    secret              BLOB NOT NULL,
    weak_secret         INTEGER NOT NULL DEFAULT 0,
    serial              TEXT,
    lock_require_pin    INTEGER NOT NULL DEFAULT 0,
    lock_wipe_after     INTEGER,
    lock_idle_seconds   INTEGER,
    lock_min_pin_length INTEGER,
    sort_order          INTEGER NOT NULL,
    created_at          INTEGER NOT NULL,
    last_used_at        INTEGER
);
CREATE INDEX accounts_by_sort ON accounts (sort_order, created_at);
";

/// Version 2: push tokens and their challenges.
pub const UPGRADE_V1_TO_V2: &str = "
ALTER TABLE vault_state ADD COLUMN push_service_token TEXT;
ALTER TABLE vault_state ADD COLUMN device_key_check BLOB;
CREATE TABLE push_tokens (
    account_id        TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    url               TEXT NOT NULL,
    sslverify         INTEGER NOT NULL,
    poll_only         INTEGER NOT NULL,
    server_public_key BLOB NOT NULL,
    enrolled_at       INTEGER NOT NULL
);
CREATE TABLE challenges (
    nonce             TEXT PRIMARY KEY,
    account_id        TEXT NOT NULL REFERENCES accounts(id) ON DELETE CASCADE,
    title             TEXT NOT NULL,
    question          TEXT NOT NULL,
    presence_options  TEXT NOT NULL DEFAULT '[]',
    decline_reasons   TEXT NOT NULL DEFAULT '[]',
    url               TEXT NOT NULL,
    sslverify         TEXT NOT NULL,
    source            TEXT NOT NULL,
    received_at       INTEGER NOT NULL,
    expires_at        INTEGER NOT NULL,
    state             TEXT NOT NULL DEFAULT 'pending',
    answered_at       INTEGER
);
CREATE INDEX challenges_by_account ON challenges (account_id, state);
";

/// Version 3: the server's background-lock policy per account, the wipe limit's floor
/// (a lowered limit never takes effect below the failures already counted + 1), and
/// the queue of push token rotations still to deliver to each server.
pub const UPGRADE_V2_TO_V3: &str = "
ALTER TABLE accounts ADD COLUMN lock_background_seconds INTEGER;
ALTER TABLE vault_state ADD COLUMN wipe_floor INTEGER;
CREATE TABLE push_token_updates (
    account_id      TEXT PRIMARY KEY REFERENCES accounts(id) ON DELETE CASCADE,
    token           TEXT NOT NULL,
    queued_at       INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    last_error      TEXT,
    last_attempt_at INTEGER
);
";

/// Version 4: automatic encrypted backups. The backup password's scrypt slot key,
/// sealed under the vault key; a generation that every change to the accounts bumps in
/// its own transaction (triggers, so no change can forget it); and the generation the
/// shell last wrote a backup of.
pub const UPGRADE_V3_TO_V4: &str = "
ALTER TABLE vault_state ADD COLUMN backup_slot BLOB;
ALTER TABLE vault_state ADD COLUMN accounts_generation INTEGER NOT NULL DEFAULT 0;
ALTER TABLE vault_state ADD COLUMN backup_generation INTEGER;
CREATE TRIGGER accounts_generation_insert AFTER INSERT ON accounts BEGIN
    UPDATE vault_state SET accounts_generation = accounts_generation + 1 WHERE id = 1;
END;
CREATE TRIGGER accounts_generation_update AFTER UPDATE OF kind, issuer, name, algorithm,
    digits, period, counter, secret, sort_order, lock_require_pin, lock_wipe_after,
    lock_idle_seconds, lock_min_pin_length, lock_background_seconds ON accounts BEGIN
    UPDATE vault_state SET accounts_generation = accounts_generation + 1 WHERE id = 1;
END;
CREATE TRIGGER accounts_generation_delete AFTER DELETE ON accounts BEGIN
    UPDATE vault_state SET accounts_generation = accounts_generation + 1 WHERE id = 1;
END;
";

/// Version 5: privacyIDEA smartphone containers (issue 11). One row per registered
/// container: its server, TLS setting, the P-384 phone key sealed under the vault key
/// (AAD `container_key_aad`), the client policies of the last answer, and its state
/// (`transferred` once the container moved to another phone). Accounts the container
/// manages name it in `accounts.container_serial`.
pub const UPGRADE_V4_TO_V5: &str = "
CREATE TABLE containers (
    serial        TEXT PRIMARY KEY,
    server_url    TEXT NOT NULL,
    tls_verify    INTEGER NOT NULL,
    phone_key     BLOB NOT NULL,
    policies      TEXT NOT NULL DEFAULT '{}',
    state         TEXT NOT NULL DEFAULT 'registered' CHECK (state IN ('registered', 'transferred')),
    registered_at INTEGER NOT NULL,
    last_sync_at  INTEGER
);
ALTER TABLE accounts ADD COLUMN container_serial TEXT REFERENCES containers(serial) ON DELETE SET NULL;
";

/// Version 6: automatic container synchronization (issue 11). `sync_requested` is set
/// by a trigger, in the transaction that stores a pushed challenge for one of the
/// container's tokens (possibly while the vault is locked), and cleared by the next
/// successful synchronization; the vault-wide interval
/// is how old the last synchronization may be before an unlock synchronizes again
/// (NULL: the default, 0: never automatically).
pub const UPGRADE_V5_TO_V6: &str = "
ALTER TABLE containers ADD COLUMN sync_requested INTEGER NOT NULL DEFAULT 0;
ALTER TABLE vault_state ADD COLUMN container_sync_interval INTEGER;
CREATE TRIGGER push_requests_container_sync AFTER INSERT ON challenges
WHEN NEW.source = 'push'
BEGIN
    UPDATE containers SET sync_requested = 1
    WHERE serial = (SELECT container_serial FROM accounts WHERE id = NEW.account_id);
END;
";

/// Version 7: how the vault's keys come from the device key. 1 (every vault written
/// before): from the raw device key's bytes; 2: from the keystore's PRF, which never
/// hands out its key (issue 12). An old vault is re-keyed to 2 in one transaction at its
/// next successful PIN unlock, or at open when it has no PIN.
pub const UPGRADE_V6_TO_V7: &str = "
ALTER TABLE vault_state ADD COLUMN key_scheme INTEGER NOT NULL DEFAULT 1;
";

/// Brings a database at `from` (0 = empty) to [`VERSION`], inside `tx`.
pub fn upgrade_from(tx: &Transaction<'_>, from: u32) -> Result<()> {
    if from > VERSION {
        return Err(Error::Storage(format!(
            "the vault was written by a newer version (schema {from}, this build knows {VERSION})"
        )));
    }
    if from < 1 {
        tx.execute_batch(CREATE_V1)?;
    }
    if from < 2 {
        tx.execute_batch(UPGRADE_V1_TO_V2)?;
    }
    if from < 3 {
        tx.execute_batch(UPGRADE_V2_TO_V3)?;
    }
    if from < 4 {
        tx.execute_batch(UPGRADE_V3_TO_V4)?;
    }
    if from < 5 {
        tx.execute_batch(UPGRADE_V4_TO_V5)?;
    }
    if from < 6 {
        tx.execute_batch(UPGRADE_V5_TO_V6)?;
    }
    if from < 7 {
        tx.execute_batch(UPGRADE_V6_TO_V7)?;
    }
    tx.pragma_update(None, "user_version", VERSION)?;
    Ok(())
}
