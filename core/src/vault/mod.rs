//! The vault: one SQLite database (bundled SQLite, WAL, foreign keys, secure_delete)
//! holding the wrapped vault key, lock state, accounts with encrypted secrets, push
//! tokens and challenges. Only storage here; decisions live in the services.

pub mod schema;

use crate::error::{Error, Result};
use crate::otp::{AccountKind, Algorithm};
use rusqlite::{params, Connection, OptionalExtension, Row, TransactionBehavior};
use std::path::Path;

/// One open database connection (the single writer).
pub struct Db {
    conn: Connection,
}

/// The single row of `vault_state`.
#[derive(Clone)]
pub struct VaultState {
    pub wrapped_vault_key: Option<Vec<u8>>,
    pub kek_salt: Vec<u8>,
    pub pin_salt: Option<Vec<u8>>,
    pub pin_iterations: Option<u32>,
    pub failed_attempts: u32,
    pub app_policy_json: String,
    pub wiped: bool,
    pub biometric_wrapped_vault_key: Option<Vec<u8>>,
    pub push_service_token: Option<String>,
    /// A canary sealed under the device-data key: tells a wrong device key apart from a
    /// wrong PIN, so a keystore mix-up never burns PIN attempts.
    pub device_key_check: Option<Vec<u8>>,
    /// The wipe limit never goes below this (set when a policy changes while wrong PINs
    /// are counted; cleared with the counter).
    pub wipe_floor: Option<u32>,
    /// How the keys come from the device key: [`KEY_SCHEME_LEGACY`] or [`KEY_SCHEME_PRF`].
    pub key_scheme: u32,
}

/// `vault_state.key_scheme` of a vault written before schema 7: keys from the raw device key.
pub const KEY_SCHEME_LEGACY: u32 = 1;
/// `vault_state.key_scheme` of a vault whose keys come from the keystore's PRF.
pub const KEY_SCHEME_PRF: u32 = 2;

impl std::fmt::Debug for VaultState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VaultState")
            .field("has_pin", &self.pin_salt.is_some())
            .field("failed_attempts", &self.failed_attempts)
            .field("wiped", &self.wiped)
            .finish_non_exhaustive()
    }
}

/// An account row (secret still encrypted).
#[derive(Clone)]
pub struct AccountRow {
    pub id: String,
    pub kind: AccountKind,
    pub issuer: String,
    pub name: String,
    pub algorithm: Algorithm,
    pub digits: u8,
    pub period: u32,
    pub counter: u64,
    pub sealed_secret: Vec<u8>,
    pub weak_secret: bool,
    pub serial: Option<String>,
    pub lock_require_pin: bool,
    pub lock_wipe_after: Option<u32>,
    pub lock_idle_seconds: Option<u64>,
    pub lock_min_pin_length: Option<u8>,
    pub lock_background_seconds: Option<u64>,
    pub sort_order: i64,
    pub created_at: i64,
    /// The privacyIDEA container that manages this account (never exported).
    pub container_serial: Option<String>,
}

/// What a screen of codes needs of a time-based (TOTP or Steam) account, borrowed from
/// the row being read (no copy of the sealed secret).
pub struct TimeAccountRow<'row> {
    pub id: &'row str,
    pub kind: AccountKind,
    pub algorithm: Algorithm,
    pub digits: u8,
    pub period: u32,
    pub sealed_secret: &'row [u8],
}

/// A push token row (server key still sealed under the device-data key).
#[derive(Clone, Debug)]
pub struct PushTokenRow {
    pub url: String,
    pub sslverify: bool,
    pub poll_only: bool,
    pub sealed_server_public_key: Vec<u8>,
}

/// A challenge row.
#[derive(Clone, Debug)]
pub struct ChallengeRow {
    pub nonce: String,
    pub account_id: String,
    pub title: String,
    pub question: String,
    pub presence_options: Vec<String>,
    pub decline_reasons: Vec<String>,
    pub url: String,
    pub sslverify: String,
    pub source: String,
    pub received_at: i64,
    pub expires_at: i64,
    pub state: String,
}

/// AAD binding an encrypted account secret to its row.
pub fn secret_aad(account_id: &str) -> Vec<u8> {
    format!("authcore/v1/accounts/{account_id}/secret").into_bytes()
}

/// AAD binding a sealed server public key to its push token row.
pub fn server_key_aad(account_id: &str) -> Vec<u8> {
    format!("authcore/v1/push_tokens/{account_id}/server_public_key").into_bytes()
}

/// AAD binding a sealed container phone key (P-384 PKCS#8) to its container row.
pub fn container_key_aad(serial: &str) -> Vec<u8> {
    format!("authcore/v1/containers/{serial}/phone_key").into_bytes()
}

/// AAD of the wrapped vault key (KEK wrap).
pub const VAULT_KEY_AAD: &[u8] = b"authcore/v1/vault_state/wrapped_vault_key";
/// AAD of the device-key check value.
pub const DEVICE_KEY_CHECK_AAD: &[u8] = b"authcore/v1/vault_state/device_key_check";
/// Plaintext of the device-key check value.
pub const DEVICE_KEY_CHECK: &[u8] = b"authcore-device-key-check";
/// AAD of the biometric wrap of the vault key (applied before the platform wrap).
pub const BIOMETRIC_AAD: &[u8] = b"authcore/v1/vault_state/biometric_wrapped_vault_key";

const ACCOUNT_COLUMNS: &str = "id, kind, issuer, name, algorithm, digits, period, counter, secret, weak_secret, serial, lock_require_pin, lock_wipe_after, lock_idle_seconds, lock_min_pin_length, sort_order, created_at, lock_background_seconds, container_serial";

fn account_from_row(r: &Row<'_>) -> rusqlite::Result<AccountRow> {
    let kind: String = r.get(1)?;
    let alg: String = r.get(4)?;
    let bad = |col: usize, what: &str| {
        rusqlite::Error::FromSqlConversionFailure(
            col,
            rusqlite::types::Type::Text,
            format!("unknown {what}").into(),
        )
    };
    Ok(AccountRow {
        id: r.get(0)?,
        kind: AccountKind::parse(&kind).ok_or_else(|| bad(1, "account kind"))?,
        issuer: r.get(2)?,
        name: r.get(3)?,
        algorithm: Algorithm::parse(&alg).ok_or_else(|| bad(4, "algorithm"))?,
        digits: r.get(5)?,
        period: r.get(6)?,
        counter: r.get::<_, i64>(7)? as u64,
        sealed_secret: r.get(8)?,
        weak_secret: r.get(9)?,
        serial: r.get(10)?,
        lock_require_pin: r.get(11)?,
        lock_wipe_after: r.get(12)?,
        lock_idle_seconds: r.get::<_, Option<i64>>(13)?.map(|v| v as u64),
        lock_min_pin_length: r.get(14)?,
        sort_order: r.get(15)?,
        created_at: r.get(16)?,
        lock_background_seconds: r.get::<_, Option<i64>>(17)?.map(|v| v as u64),
        container_serial: r.get(18)?,
    })
}

fn challenge_from_row(r: &Row<'_>) -> rusqlite::Result<ChallengeRow> {
    let presence: String = r.get(4)?;
    let reasons: String = r.get(5)?;
    Ok(ChallengeRow {
        nonce: r.get(0)?,
        account_id: r.get(1)?,
        title: r.get(2)?,
        question: r.get(3)?,
        presence_options: serde_json::from_str(&presence).unwrap_or_default(),
        decline_reasons: serde_json::from_str(&reasons).unwrap_or_default(),
        url: r.get(6)?,
        sslverify: r.get(7)?,
        source: r.get(8)?,
        received_at: r.get(9)?,
        expires_at: r.get(10)?,
        state: r.get(11)?,
    })
}

const CHALLENGE_COLUMNS: &str = "nonce, account_id, title, question, presence_options, decline_reasons, url, sslverify, source, received_at, expires_at, state";

/// Reads the vault state row through `conn` (a connection or an open transaction).
pub fn read_state(conn: &Connection) -> Result<Option<VaultState>> {
    Ok(conn
        .query_row(
            "SELECT wrapped_vault_key, kek_salt, pin_salt, pin_iterations, failed_attempts,
                    app_policy, wiped, biometric_wrapped_vault_key, push_service_token,
                    device_key_check, wipe_floor, key_scheme
             FROM vault_state WHERE id = 1",
            [],
            |r| {
                Ok(VaultState {
                    wrapped_vault_key: r.get(0)?,
                    kek_salt: r.get(1)?,
                    pin_salt: r.get(2)?,
                    pin_iterations: r.get(3)?,
                    failed_attempts: r.get(4)?,
                    app_policy_json: r.get(5)?,
                    wiped: r.get(6)?,
                    biometric_wrapped_vault_key: r.get(7)?,
                    push_service_token: r.get(8)?,
                    device_key_check: r.get(9)?,
                    wipe_floor: r.get(10)?,
                    key_scheme: r.get(11)?,
                })
            },
        )
        .optional()?)
}

/// Inside a transaction that may lower the wipe limit (a policy change, new accounts):
/// while wrong PINs are counted, the limit never drops below that count + 1, so a
/// scanned link or a settings change can never wipe the vault by itself.
pub fn protect_counted_attempts(tx: &Connection) -> Result<()> {
    tx.execute(
        "UPDATE vault_state SET wipe_floor = MAX(COALESCE(wipe_floor, 0), failed_attempts + 1)
         WHERE id = 1 AND failed_attempts > 0",
        [],
    )?;
    Ok(())
}

/// Whether provisioned data is still in the vault (a wipe interrupted before its
/// transaction committed leaves the `wiped` flag unset; one after it leaves nothing).
pub fn has_provisioned_data(conn: &Connection) -> Result<bool> {
    Ok(conn.query_row(
        "SELECT EXISTS (SELECT 1 FROM accounts) OR EXISTS (SELECT 1 FROM challenges)
             OR EXISTS (SELECT 1 FROM vault_state WHERE wrapped_vault_key IS NOT NULL)",
        [],
        |r| r.get(0),
    )?)
}

impl Db {
    /// Opens (creating if needed) and migrates the database at `path`.
    pub fn open(path: &Path) -> Result<Self> {
        let mut conn = Connection::open(path)?;
        Self::configure(&conn)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let version: u32 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if version != schema::VERSION {
            schema::upgrade_from(&tx, version)?;
        }
        tx.commit()?;
        Ok(Self { conn })
    }

    fn configure(conn: &Connection) -> Result<()> {
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        // secure_delete zeroes deleted content in the main file and WAL frames.
        conn.pragma_update(None, "secure_delete", "ON")?;
        let mode: String =
            conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
        if !mode.eq_ignore_ascii_case("wal") {
            return Err(Error::Storage(format!(
                "journal mode {mode} instead of WAL"
            )));
        }
        conn.pragma_update(None, "foreign_keys", "ON")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        Ok(())
    }

    /// The connection, for transactions spanning several statements.
    pub fn conn(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The connection for reads.
    pub fn conn_ref(&self) -> &Connection {
        &self.conn
    }

    /// Reads the vault state row, if the vault was initialised.
    pub fn state(&self) -> Result<Option<VaultState>> {
        read_state(&self.conn)
    }

    /// Accounts in display order.
    pub fn accounts(&self) -> Result<Vec<AccountRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {ACCOUNT_COLUMNS} FROM accounts ORDER BY sort_order, created_at, id"
        ))?;
        let rows = stmt.query_map([], account_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// `build` applied to every time-based account, the results paired with the account
    /// ids in display order (that of [`Db::accounts`]), reading only the columns codes need. Each row is handed over
    /// borrowed, straight from SQLite, and the order is sorted here: no SQL sorter and no
    /// owned copy of every row.
    pub fn time_accounts<T>(
        &self,
        mut build: impl FnMut(TimeAccountRow<'_>) -> Result<T>,
    ) -> Result<Vec<(String, T)>> {
        let mut stmt = self.conn.prepare_cached(
            "SELECT id, kind, algorithm, digits, period, secret, sort_order, created_at
             FROM accounts WHERE kind IN ('totp', 'steam')",
        )?;
        let bad = |col: usize, what: &str| {
            Error::Storage(format!("unknown {what} in column {col} of an account"))
        };
        let mut keyed = Vec::new();
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            let order: (i64, i64) = (r.get(6)?, r.get(7)?);
            let id = r.get_ref(0)?.as_str().map_err(|_| bad(0, "id"))?;
            let kind = r.get_ref(1)?.as_str().ok().and_then(AccountKind::parse);
            let alg = r.get_ref(2)?.as_str().ok().and_then(Algorithm::parse);
            let row = TimeAccountRow {
                id,
                kind: kind.ok_or_else(|| bad(1, "account kind"))?,
                algorithm: alg.ok_or_else(|| bad(2, "algorithm"))?,
                digits: r.get(3)?,
                period: r.get(4)?,
                sealed_secret: r.get_ref(5)?.as_blob().map_err(|_| bad(5, "secret"))?,
            };
            let built = build(row)?;
            keyed.push((order, (id.to_owned(), built)));
        }
        keyed.sort_unstable_by(|(a, (x, _)), (b, (y, _))| a.cmp(b).then_with(|| x.cmp(y)));
        Ok(keyed.into_iter().map(|(_, entry)| entry).collect())
    }

    /// One account.
    pub fn account(&self, id: &str) -> Result<AccountRow> {
        self.conn
            .query_row(
                &format!("SELECT {ACCOUNT_COLUMNS} FROM accounts WHERE id = ?1"),
                [id],
                account_from_row,
            )
            .optional()?
            .ok_or_else(|| Error::NotFound(format!("account {id}")))
    }

    /// Inserts an account inside `tx`.
    pub fn insert_account(tx: &rusqlite::Transaction<'_>, a: &AccountRow) -> Result<()> {
        tx.execute(
            &format!(
                "INSERT INTO accounts ({ACCOUNT_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19)"
            ),
            params![
                a.id,
                a.kind.as_str(),
                a.issuer,
                a.name,
                a.algorithm.as_str(),
                a.digits,
                a.period,
                a.counter as i64,
                a.sealed_secret,
                a.weak_secret,
                a.serial,
                a.lock_require_pin,
                a.lock_wipe_after,
                a.lock_idle_seconds.map(|v| v as i64),
                a.lock_min_pin_length,
                a.sort_order,
                a.created_at,
                a.lock_background_seconds.map(|v| v as i64),
                a.container_serial,
            ],
        )?;
        Ok(())
    }

    /// Next sort position (after every existing account).
    pub fn next_sort_order(tx: &rusqlite::Transaction<'_>) -> Result<i64> {
        Ok(tx.query_row(
            "SELECT COALESCE(MAX(sort_order), -1) + 1 FROM accounts",
            [],
            |r| r.get(0),
        )?)
    }

    /// Push token of an account.
    pub fn push_token(&self, account_id: &str) -> Result<Option<PushTokenRow>> {
        Ok(self
            .conn
            .query_row(
                "SELECT url, sslverify, poll_only, server_public_key FROM push_tokens WHERE account_id = ?1",
                [account_id],
                |r| {
                    Ok(PushTokenRow {
                        url: r.get(0)?,
                        sslverify: r.get(1)?,
                        poll_only: r.get(2)?,
                        sealed_server_public_key: r.get(3)?,
                    })
                },
            )
            .optional()?)
    }

    /// Challenges of `state` ('pending', ...), oldest first.
    pub fn challenges(&self, state: &str) -> Result<Vec<ChallengeRow>> {
        let mut stmt = self.conn.prepare_cached(&format!(
            "SELECT {CHALLENGE_COLUMNS} FROM challenges WHERE state = ?1 ORDER BY received_at, nonce"
        ))?;
        let rows = stmt.query_map([state], challenge_from_row)?;
        Ok(rows.collect::<rusqlite::Result<Vec<_>>>()?)
    }

    /// One challenge by nonce.
    pub fn challenge(&self, nonce: &str) -> Result<Option<ChallengeRow>> {
        Ok(self
            .conn
            .query_row(
                &format!("SELECT {CHALLENGE_COLUMNS} FROM challenges WHERE nonce = ?1"),
                [nonce],
                challenge_from_row,
            )
            .optional()?)
    }

    /// Inserts a challenge unless its nonce is known; returns whether it was new.
    pub fn insert_challenge(&mut self, c: &ChallengeRow) -> Result<bool> {
        let n = self.conn.execute(
            &format!(
                "INSERT OR IGNORE INTO challenges ({CHALLENGE_COLUMNS}) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)"
            ),
            params![
                c.nonce,
                c.account_id,
                c.title,
                c.question,
                serde_json::to_string(&c.presence_options).unwrap_or_else(|_| "[]".into()),
                serde_json::to_string(&c.decline_reasons).unwrap_or_else(|_| "[]".into()),
                c.url,
                c.sslverify,
                c.source,
                c.received_at,
                c.expires_at,
                c.state,
            ],
        )?;
        Ok(n == 1)
    }

    /// Marks a challenge answered; fails if it was not pending (answered elsewhere).
    pub fn mark_challenge(&mut self, nonce: &str, state: &str, now: i64) -> Result<()> {
        let n = self.conn.execute(
            "UPDATE challenges SET state = ?2, answered_at = ?3 WHERE nonce = ?1 AND state = 'pending'",
            params![nonce, state, now],
        )?;
        if n == 1 {
            Ok(())
        } else {
            Err(Error::AlreadyAnswered)
        }
    }

    /// Forgets answered and expired challenges whose expiry is before `before`, and
    /// beyond the newest `keep` of them (pending ones are never dropped here).
    pub fn prune_challenges(&mut self, before: i64, keep: u32) -> Result<()> {
        self.conn.execute(
            "DELETE FROM challenges WHERE expires_at < ?1 AND state != 'pending'",
            [before],
        )?;
        self.conn.execute(
            "DELETE FROM challenges WHERE state != 'pending' AND nonce NOT IN (
                 SELECT nonce FROM challenges WHERE state != 'pending'
                 ORDER BY expires_at DESC, nonce LIMIT ?1)",
            [keep],
        )?;
        // Pending ones nobody answered: once expired for the retention time, they go too.
        self.conn.execute(
            "DELETE FROM challenges WHERE expires_at < ?1 AND state = 'pending'",
            [before],
        )?;
        Ok(())
    }

    /// Wipes every provisioned row and the wrapped keys, then VACUUMs and truncates the
    /// WAL so no former secret remains in the files.
    pub fn wipe(&mut self) -> Result<()> {
        let tx = self
            .conn
            .transaction_with_behavior(TransactionBehavior::Immediate)?;
        tx.execute_batch(
            "DELETE FROM push_token_updates;
             DELETE FROM challenges;
             DELETE FROM push_tokens;
             DELETE FROM accounts;
             DELETE FROM containers;
             UPDATE vault_state SET wrapped_vault_key = NULL, pin_salt = NULL, pin_iterations = NULL,
                 biometric_wrapped_vault_key = NULL, push_service_token = NULL, failed_attempts = 0,
                 device_key_check = NULL, wipe_floor = NULL,
                 app_policy = '{}', wiped = 1
             WHERE id = 1;",
        )?;
        tx.commit()?;
        self.scrub_files()
    }

    /// VACUUM (rewrites the file without free pages) and truncates the WAL.
    pub fn scrub_files(&mut self) -> Result<()> {
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        self.conn.execute_batch("VACUUM;")?;
        self.conn
            .execute_batch("PRAGMA wal_checkpoint(TRUNCATE);")?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn schema_of(conn: &Connection) -> Vec<(String, String)> {
        let mut stmt = conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY name")
            .unwrap();
        stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?)))
            .unwrap()
            .collect::<rusqlite::Result<Vec<_>>>()
            .unwrap()
    }

    fn normalize(s: &str) -> String {
        s.split_whitespace().collect::<Vec<_>>().join(" ")
    }

    #[test]
    fn upgrade_from_v1_matches_fresh_schema() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("v1.db");
        {
            let conn = Connection::open(&old).unwrap();
            conn.execute_batch(schema::CREATE_V1).unwrap();
            conn.pragma_update(None, "user_version", 1).unwrap();
            conn.execute(
                "INSERT INTO vault_state (id, kek_salt, created_at) VALUES (1, x'00', 0)",
                [],
            )
            .unwrap();
        }
        let upgraded = Db::open(&old).unwrap();
        let fresh = Db::open(&dir.path().join("fresh.db")).unwrap();
        let a: Vec<_> = schema_of(&upgraded.conn)
            .into_iter()
            .map(|(n, s)| (n, normalize(&s)))
            .collect();
        let b: Vec<_> = schema_of(&fresh.conn)
            .into_iter()
            .map(|(n, s)| (n, normalize(&s)))
            .collect();
        let names_a: Vec<_> = a.iter().map(|(n, _)| n.clone()).collect();
        let names_b: Vec<_> = b.iter().map(|(n, _)| n.clone()).collect();
        assert_eq!(names_a, names_b);
        // Columns of every table agree (ALTER TABLE text differs from CREATE text).
        for name in &names_a {
            let cols = |c: &Connection| -> Vec<(String, String)> {
                let mut st = c.prepare(&format!("PRAGMA table_info({name})")).unwrap();
                st.query_map([], |r| Ok((r.get(1)?, r.get(2)?)))
                    .unwrap()
                    .collect::<rusqlite::Result<Vec<_>>>()
                    .unwrap()
            };
            assert_eq!(cols(&upgraded.conn), cols(&fresh.conn), "table {name}");
        }
        let v: u32 = upgraded
            .conn
            .pragma_query_value(None, "user_version", |r| r.get(0))
            .unwrap();
        assert_eq!(v, schema::VERSION);
        // The old row survived the upgrade.
        assert!(upgraded.state().unwrap().is_some());
    }

    /// A pending challenge row for `account` received via `source`.
    fn challenge_row(nonce: &str, account: &str, source: &str) -> ChallengeRow {
        ChallengeRow {
            nonce: nonce.into(),
            account_id: account.into(),
            title: String::new(),
            question: String::new(),
            presence_options: vec![],
            decline_reasons: vec![],
            url: String::new(),
            sslverify: "1".into(),
            source: source.into(),
            received_at: 0,
            expires_at: 100,
            state: "pending".into(),
        }
    }

    #[test]
    fn remembered_nonces_are_bounded_and_pending_ones_kept() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("v.db")).unwrap();
        db.conn
            .execute_batch(
                "INSERT INTO accounts (id, kind, issuer, name, algorithm, digits, period, secret, sort_order, created_at)
                 VALUES ('a', 'push', '', '', 'SHA256', 0, 0, x'00', 0, 0);",
            )
            .unwrap();
        for i in 0..6 {
            let mut row = challenge_row(&format!("N{i}"), "a", "push");
            row.state = if i == 5 { "pending" } else { "approved" }.into();
            row.received_at = i;
            row.expires_at = 100 + i;
            db.insert_challenge(&row).unwrap();
        }
        db.prune_challenges(0, 3).unwrap();
        let left: Vec<String> = db
            .conn
            .prepare("SELECT nonce FROM challenges ORDER BY nonce")
            .unwrap()
            .query_map([], |r| r.get(0))
            .unwrap()
            .collect::<rusqlite::Result<_>>()
            .unwrap();
        assert_eq!(
            left,
            ["N2", "N3", "N4", "N5"],
            "the newest 3 answered, and the pending one"
        );
        db.prune_challenges(104, 3).unwrap();
        assert!(
            db.challenge("N3").unwrap().is_none(),
            "older than the retention"
        );
        assert!(db.challenge("N4").unwrap().is_some());
    }

    #[test]
    fn a_pushed_challenge_for_a_container_token_asks_for_a_sync() {
        let dir = tempfile::tempdir().unwrap();
        let mut db = Db::open(&dir.path().join("v.db")).unwrap();
        db.conn
            .execute_batch(
                "INSERT INTO containers (serial, server_url, tls_verify, phone_key, registered_at)
                 VALUES ('SMPH1', 'https://pi.example/', 1, x'00', 0);
                 INSERT INTO accounts (id, kind, issuer, name, algorithm, digits, period, secret, sort_order, created_at, container_serial)
                 VALUES ('in', 'push', '', '', 'SHA256', 0, 0, x'00', 0, 0, 'SMPH1'),
                        ('out', 'push', '', '', 'SHA256', 0, 0, x'00', 1, 0, NULL);",
            )
            .unwrap();
        let requested = |db: &Db| -> bool {
            db.conn
                .query_row(
                    "SELECT sync_requested FROM containers WHERE serial = 'SMPH1'",
                    [],
                    |r| r.get(0),
                )
                .unwrap()
        };
        db.insert_challenge(&challenge_row("N1", "out", "push"))
            .unwrap();
        assert!(!requested(&db), "a push for a token outside the container");
        db.insert_challenge(&challenge_row("N2", "in", "poll"))
            .unwrap();
        assert!(!requested(&db), "a poll is not a push");
        db.insert_challenge(&challenge_row("N3", "in", "push"))
            .unwrap();
        assert!(requested(&db), "a push for a container token");
    }

    #[test]
    fn refuses_a_newer_schema() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("future.db");
        {
            let conn = Connection::open(&p).unwrap();
            conn.pragma_update(None, "user_version", schema::VERSION + 1)
                .unwrap();
        }
        assert!(matches!(Db::open(&p), Err(Error::Storage(_))));
    }
}
