//! The transfer service through the public API: an import stored in one transaction with
//! duplicates skipped and bad entries refused, exports behind a fresh PIN check, managed
//! accounts that never leave, and round trips that give equal codes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use authenticator_core::{
    AccountKind, Authenticator, AuthenticatorError, ExportFormat, ImportFormat,
};
use common::*;
use std::sync::Arc;

const T: i64 = 1_700_000_000;
const GITHUB: &str = "otpauth://totp/GitHub:alice?secret=JBSWY3DPEHPK3PXP&issuer=GitHub";
const BANK: &str =
    "otpauth://hotp/Bank:bob?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=Bank&counter=5";
const CORP: &str =
    "otpauth://totp/Corp:me?secret=MFRGGZDFMZTWQ2LKNNWG23TPOBYXE43U&issuer=Corp&lock_wipe_after=5";

fn open(f: &Fixture) -> Arc<Authenticator> {
    Authenticator::open_with(&f.path, f.keystore.clone(), f.options()).unwrap()
}

fn codes(a: &Authenticator) -> Vec<(String, String)> {
    let accounts = a.list_accounts().unwrap();
    let mut out: Vec<_> = a
        .time_codes_at(T)
        .unwrap()
        .into_iter()
        .map(|c| {
            let acc = accounts.iter().find(|x| x.id == c.account_id).unwrap();
            (
                format!("{}:{}", acc.issuer, acc.name),
                c.code.expose().to_string(),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn an_import_adds_new_accounts_skips_duplicates_and_refuses_bad_entries_naming_them() {
    let f = Fixture::new();
    let a = open(&f);
    a.add(GITHUB.into()).unwrap();
    // GitHub again (in the vault), one account twice in the file, the same secret under
    // another name (kept), a bad line.
    let file = format!(
        "{GITHUB}\n{BANK}\n{BANK}\notpauth://totp/GitHub:alice-2?secret=JBSWY3DPEHPK3PXP&issuer=GitHub\notpauth://totp/Bad:x?secret=JBSWY3DPEHPK3PXP&algorithm=SHA384\n"
    );
    let preview = a
        .preview_import(file.clone().into_bytes(), None, None)
        .unwrap();
    assert_eq!(preview.format, ImportFormat::UriList);
    assert_eq!(preview.accounts.len(), 2);
    assert_eq!(
        a.list_accounts().unwrap().len(),
        1,
        "a preview changes nothing"
    );
    let done = a.import_file(file.into_bytes(), None, None).unwrap();
    let names: Vec<_> = done.imported.iter().map(|x| x.name.as_str()).collect();
    assert_eq!(names, ["bob", "alice-2"]);
    assert_eq!(done.imported[0].counter, 5, "the HOTP counter travels");
    let skipped: Vec<_> = done
        .skipped
        .iter()
        .map(|s| (s.entry.as_str(), s.reason.as_str()))
        .collect();
    assert_eq!(
        skipped,
        [
            ("GitHub: alice", "already in the vault"),
            ("Bank: bob", "appears twice in the file")
        ]
    );
    assert_eq!(done.refused.len(), 1);
    assert_eq!(done.refused[0].entry, "line 5");
    assert!(
        done.refused[0].reason.contains("SHA384"),
        "{}",
        done.refused[0].reason
    );
    assert_eq!(a.list_accounts().unwrap().len(), 3);
}

#[test]
fn a_file_that_is_not_an_export_changes_nothing() {
    let f = Fixture::new();
    let a = open(&f);
    let err = a
        .import_file(b"hello world".to_vec(), None, None)
        .unwrap_err();
    assert!(
        matches!(err, AuthenticatorError::InvalidFile { .. }),
        "{err:?}"
    );
    assert!(a.list_accounts().unwrap().is_empty());
}

#[test]
fn import_needs_the_unlocked_vault() {
    let f = Fixture::new();
    let a = open(&f);
    a.set_pin("2468".into()).unwrap();
    a.lock().unwrap();
    let err = a
        .import_file(GITHUB.as_bytes().to_vec(), None, None)
        .unwrap_err();
    assert!(matches!(err, AuthenticatorError::Locked), "{err:?}");
}

#[test]
fn export_needs_a_fresh_pin_even_when_unlocked_and_keeps_managed_accounts() {
    let f = Fixture::new();
    let a = open(&f);
    a.add(GITHUB.into()).unwrap();
    a.add(BANK.into()).unwrap();
    a.set_pin("2468".into()).unwrap();
    a.add(CORP.into()).unwrap();
    assert!(!a.lock_state().unwrap().locked);
    let err = a
        .export_accounts(ExportFormat::UriList, None, "1111".into())
        .unwrap_err();
    assert!(
        matches!(err, AuthenticatorError::WrongPin { .. }),
        "{err:?}"
    );
    let out = a
        .export_accounts(ExportFormat::UriList, None, "2468".into())
        .unwrap();
    assert_eq!(out.exported, 2);
    assert_eq!(out.skipped.len(), 1);
    assert_eq!(out.skipped[0].entry, "Corp: me");
    let text = String::from_utf8(out.data.clone()).unwrap();
    assert!(!text.contains("Corp"), "a managed account never leaves");
    assert!(text.contains("counter=5"), "{text}");
    assert!(
        !format!("{out:?}").contains("JBSWY3DP"),
        "Debug redacts the file"
    );
    // Plain formats take no password; the encrypted one needs one.
    assert!(a
        .export_accounts(ExportFormat::UriList, Some("pw".into()), "2468".into())
        .is_err());
    assert!(a
        .export_accounts(ExportFormat::Aegis, None, "2468".into())
        .is_err());
    a.lock().unwrap();
    let err = a
        .export_accounts(ExportFormat::UriList, None, "2468".into())
        .unwrap_err();
    assert!(matches!(err, AuthenticatorError::Locked), "{err:?}");
}

#[test]
fn uri_list_and_google_exports_import_back_with_equal_codes() {
    let f = Fixture::new();
    let a = open(&f);
    a.add(GITHUB.into()).unwrap();
    a.add(BANK.into()).unwrap();
    a.add("otpauth://totp/Odd:p?secret=JBSWY3DPEHPK3PXQ&issuer=Odd&period=60".into())
        .unwrap();
    a.add("otpauth://steam/Steam:s?secret=JBSWY3DPEHPK3PXR&issuer=Steam".into())
        .unwrap();
    let want = codes(&a);
    for format in [ExportFormat::UriList, ExportFormat::Google] {
        let out = a.export_accounts(format, None, String::new()).unwrap();
        let g = Fixture::new();
        let b = open(&g);
        let done = b.import_file(out.data.clone(), None, None).unwrap();
        assert!(done.refused.is_empty(), "{:?}", done.refused);
        if format == ExportFormat::Google {
            let left: Vec<_> = out.left_out.iter().map(|l| l.entry.as_str()).collect();
            assert_eq!(left, ["Odd: p", "Steam: s"]);
            assert_eq!(out.links.len(), 1);
            let mut expected = want.clone();
            expected.retain(|(n, _)| n.starts_with("GitHub"));
            assert_eq!(codes(&b), expected);
        } else {
            assert_eq!(codes(&b), want);
        }
        let bank = b
            .list_accounts()
            .unwrap()
            .into_iter()
            .find(|x| x.kind == AccountKind::Hotp)
            .unwrap();
        assert_eq!(bank.counter, 5);
    }
}

#[test]
fn an_encrypted_aegis_export_imports_back_with_equal_codes_and_counters() {
    let f = Fixture::new();
    let a = open(&f);
    a.add(GITHUB.into()).unwrap();
    a.add(BANK.into()).unwrap();
    a.add("otpauth://steam/Steam:s?secret=JBSWY3DPEHPK3PXR&issuer=Steam".into())
        .unwrap();
    a.add("otpauth://totp/Odd:p?secret=JBSWY3DPEHPK3PXQ&issuer=Odd&period=60&digits=8&algorithm=SHA512".into())
        .unwrap();
    let want = codes(&a);
    for (format, password) in [
        (ExportFormat::Aegis, Some("correct horse")),
        (ExportFormat::AegisPlain, None),
    ] {
        let out = a
            .export_accounts(format, password.map(String::from), String::new())
            .unwrap();
        assert_eq!(out.exported, 4);
        let g = Fixture::new();
        let b = open(&g);
        if let Some(p) = password {
            let err = b.import_file(out.data.clone(), None, None).unwrap_err();
            assert!(
                matches!(err, AuthenticatorError::PasswordRequired),
                "{err:?}"
            );
            let err = b
                .import_file(out.data.clone(), None, Some("wrong".into()))
                .unwrap_err();
            assert!(matches!(err, AuthenticatorError::WrongPassword), "{err:?}");
            assert!(
                !b.lock_state().unwrap().locked,
                "a wrong file password is not a wrong PIN"
            );
            let done = b
                .import_file(out.data.clone(), None, Some(p.into()))
                .unwrap();
            assert_eq!(done.format, ImportFormat::Aegis);
        } else {
            b.import_file(out.data.clone(), None, None).unwrap();
        }
        assert_eq!(codes(&b), want);
        let bank = b
            .list_accounts()
            .unwrap()
            .into_iter()
            .find(|x| x.kind == AccountKind::Hotp)
            .unwrap();
        assert_eq!(bank.counter, 5);
    }
}

#[test]
fn automatic_backups_follow_every_change_to_the_accounts() {
    let f = Fixture::new();
    let a = open(&f);
    a.add(GITHUB.into()).unwrap();
    a.set_pin("2468".into()).unwrap();
    assert!(!a.backup_status().unwrap().enabled);
    assert!(
        a.pending_backup().unwrap().is_none(),
        "off: nothing to write"
    );
    let err = a
        .set_backup_password(Some("backup pw".into()), "1111".into())
        .unwrap_err();
    assert!(
        matches!(err, AuthenticatorError::WrongPin { .. }),
        "{err:?}"
    );
    a.set_backup_password(Some("backup pw".into()), "2468".into())
        .unwrap();
    let status = a.backup_status().unwrap();
    assert!(status.enabled && status.due);

    let first = a.pending_backup().unwrap().expect("due at once");
    assert!(
        first.file_name.starts_with("authenticator-backup-"),
        "{}",
        first.file_name
    );
    assert!(!format!("{first:?}").contains("JBSWY"));
    // It is an encrypted Aegis vault under the backup password.
    let g = Fixture::new();
    let b = open(&g);
    b.import_file(
        first.data.clone(),
        Some(ImportFormat::Aegis),
        Some("backup pw".into()),
    )
    .unwrap();
    assert_eq!(codes(&b), codes(&a));

    a.backup_written(first.generation).unwrap();
    assert!(a.pending_backup().unwrap().is_none(), "nothing changed");
    // Any change to the accounts makes one due: an add, a HOTP code, a rename, a delete.
    a.add(BANK.into()).unwrap();
    let second = a.pending_backup().unwrap().expect("due after an add");
    assert!(second.generation > first.generation);
    assert_ne!(second.data, first.data);
    a.backup_written(second.generation).unwrap();
    let bank = a
        .list_accounts()
        .unwrap()
        .into_iter()
        .find(|x| x.kind == AccountKind::Hotp)
        .unwrap();
    a.code(bank.id.clone()).unwrap();
    assert!(a.backup_status().unwrap().due, "the HOTP counter moved");
    let third = a.pending_backup().unwrap().unwrap();
    a.backup_written(third.generation).unwrap();
    a.rename_account(bank.id.clone(), "renamed".into()).unwrap();
    assert!(a.backup_status().unwrap().due);
    // A stale generation does not clear a newer change.
    a.backup_written(third.generation).unwrap();
    assert!(a.backup_status().unwrap().due);

    // Locked: the status is readable, the file is not made.
    a.lock().unwrap();
    assert!(a.backup_status().unwrap().due);
    assert!(matches!(
        a.pending_backup().unwrap_err(),
        AuthenticatorError::Locked
    ));
    a.unlock("2468".into()).unwrap();
    a.set_backup_password(None, "2468".into()).unwrap();
    assert!(!a.backup_status().unwrap().enabled);
    assert!(a.pending_backup().unwrap().is_none());
}
