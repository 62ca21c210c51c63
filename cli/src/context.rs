//! Opening the vault for one run: resolves the vault path (its folder private to the
//! user), picks the keystore (OS keystore, or the device-key file with a warning on
//! every run), opens the core and makes the vault's files private.
//! The keystore is wrapped so an existing vault never gets a fresh device key minted
//! for it by the wrong keystore (that would make the right PIN look wrong).

use crate::{CliError, KeystoreKind};
use anyhow::Context as _;
use authenticator_core::{
    Authenticator, DeviceKeyInfo, FileKeystore, Keystore, KeystoreError, OpenOptions, OsKeystore,
};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

const FILE_KEYSTORE_CAVEAT: &str =
    "protects a copied vault file, not against anyone who can read your files";

/// Everything a command needs.
pub struct Context {
    /// The opened vault.
    pub auth: Arc<Authenticator>,
    /// Absolute vault path.
    pub vault: PathBuf,
    /// The keystore in use.
    pub keystore: KeystoreKind,
    guard: Arc<GuardedKeystore>,
}

impl Context {
    /// Resolves the vault path and keystore, prints the keystore warning, and opens.
    pub fn open(vault: Option<PathBuf>, choice: Option<KeystoreKind>) -> anyhow::Result<Self> {
        let vault = vault_path(vault)?;
        let vault_exists = vault.exists();
        let key_file = device_key_path(&vault);
        let vault_id = vault.to_string_lossy().into_owned();

        let (kind, inner, has_key): (KeystoreKind, Arc<dyn Keystore>, HasKey) = match choice {
            Some(KeystoreKind::Os) => {
                let os = OsKeystore::new(&vault_id);
                os.probe().map_err(|e| {
                    CliError::new(format!(
                        "the OS keystore is not available ({}); use --keystore file to keep the device key in a file instead",
                        keystore_reason(&e)
                    ))
                })?;
                os_keystore(os)
            }
            Some(KeystoreKind::File) => {
                eprintln!(
                    "warning: keystore: device-key file {} (chosen with --keystore file); it {FILE_KEYSTORE_CAVEAT}",
                    key_file.display()
                );
                file_keystore(&key_file)
            }
            None => {
                let os = OsKeystore::new(&vault_id);
                match os.probe() {
                    Ok(()) if key_file.exists() && !os.has_key().unwrap_or(false) => {
                        eprintln!(
                            "warning: not using the OS keystore (this vault's device key is already in a file); using device-key file {} ({FILE_KEYSTORE_CAVEAT})",
                            key_file.display()
                        );
                        file_keystore(&key_file)
                    }
                    Ok(()) => os_keystore(os),
                    Err(e) => {
                        eprintln!(
                            "warning: no OS keystore available ({}); using device-key file {} ({FILE_KEYSTORE_CAVEAT})",
                            keystore_reason(&e),
                            key_file.display()
                        );
                        file_keystore(&key_file)
                    }
                }
            }
        };

        if !vault_exists {
            // The device key first, then the vault file: a run killed while the core
            // creates the vault leaves a vault whose key exists (the guard below lets
            // only a vault that does not exist yet have a key minted for it, so the
            // other order could leave a vault no later run can open).
            inner.device_key_info().map_err(|e| {
                CliError::new(format!(
                    "cannot create the device key in {}: {}",
                    describe_keystore(kind, &key_file),
                    keystore_reason(&e)
                ))
            })?;
        }
        let guard = Arc::new(GuardedKeystore {
            inner,
            has_key,
            allow_create: AtomicBool::new(!vault_exists),
            what: describe_keystore(kind, &key_file),
        });
        let keystore: Arc<dyn Keystore> = guard.clone();
        let auth = Authenticator::open_with(vault.clone(), keystore, OpenOptions::default())?;
        // New files are private through the umask (main); these may predate it.
        make_private(&vault, &key_file);
        Ok(Self {
            auth,
            vault,
            keystore: kind,
            guard,
        })
    }

    /// Lets the keystore create a new device key (for `start-over` after a wipe).
    pub fn allow_new_device_key(&self) {
        self.guard.allow_create.store(true, Ordering::SeqCst);
    }
}

type HasKey = Box<dyn Fn() -> Result<bool, KeystoreError> + Send + Sync>;

fn os_keystore(os: OsKeystore) -> (KeystoreKind, Arc<dyn Keystore>, HasKey) {
    let os = Arc::new(os);
    let probe = os.clone();
    (KeystoreKind::Os, os, Box::new(move || probe.has_key()))
}

fn file_keystore(path: &Path) -> (KeystoreKind, Arc<dyn Keystore>, HasKey) {
    let probe = path.to_path_buf();
    (
        KeystoreKind::File,
        Arc::new(FileKeystore::new(path.to_path_buf())),
        Box::new(move || Ok(probe.exists())),
    )
}

fn describe_keystore(kind: KeystoreKind, key_file: &Path) -> String {
    match kind {
        KeystoreKind::Os => "the OS keystore".to_string(),
        KeystoreKind::File => format!("the device-key file {}", key_file.display()),
    }
}

fn keystore_reason(e: &KeystoreError) -> String {
    match e {
        KeystoreError::Unavailable { reason } | KeystoreError::KeyInvalidated { reason } => {
            reason.lines().next().unwrap_or_default().to_string()
        }
        KeystoreError::Cancelled => "cancelled".to_string(),
    }
}

/// Owner-only permissions on what the CLI keeps next to the vault: the vault file, its
/// WAL, shared-memory and journal files, and the device-key file. Best effort with a
/// warning: a file someone else owns cannot be changed, and the run goes on.
fn make_private(vault: &Path, key_file: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mut files = vec![vault.to_path_buf(), key_file.to_path_buf()];
        for suffix in ["-wal", "-shm", "-journal"] {
            let mut s = vault.as_os_str().to_owned();
            s.push(suffix);
            files.push(PathBuf::from(s));
        }
        for f in files {
            let Ok(meta) = std::fs::metadata(&f) else {
                continue;
            };
            if meta.permissions().mode() & 0o077 != 0 {
                if let Err(e) = std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600))
                {
                    eprintln!(
                        "warning: {} is readable by others and cannot be made private: {e}",
                        f.display()
                    );
                }
            }
        }
    }
    #[cfg(not(unix))]
    let _ = (vault, key_file);
}

/// Creates `dir` (and missing parents) for the user alone (0700 on unix).
fn create_private_dir(dir: &Path) -> std::io::Result<()> {
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir)
}

/// Owner-only permissions on the CLI's own data folder (the default vault location),
/// also when it already existed.
fn make_dir_private(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)?.permissions().mode();
        if mode & 0o077 != 0 {
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(mode & 0o700))?;
        }
    }
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// The vault path, absolute, with its parent directory created (private to the user)
/// and canonicalised (the canonical path is also the OS keystore entry's id).
fn vault_path(given: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    let own_folder = given.is_none();
    let path = match given {
        Some(p) => p,
        None => directories::ProjectDirs::from("org", "authcore", "authenticator")
            .map(|d| d.data_dir().join("vault.sqlite3"))
            .ok_or_else(|| {
                CliError::new("cannot find a data directory for the vault; pass --vault PATH")
            })?,
    };
    let path = std::path::absolute(&path)
        .with_context(|| format!("invalid vault path {}", path.display()))?;
    let file_name = path
        .file_name()
        .ok_or_else(|| CliError::new(format!("the vault path {} is not a file", path.display())))?
        .to_owned();
    let parent = path.parent().unwrap_or_else(|| Path::new("/"));
    create_private_dir(parent)
        .with_context(|| format!("cannot create the vault directory {}", parent.display()))?;
    if own_folder {
        make_dir_private(parent).with_context(|| {
            format!(
                "cannot make the vault directory {} private",
                parent.display()
            )
        })?;
    }
    let parent = parent
        .canonicalize()
        .with_context(|| format!("cannot resolve the vault directory {}", parent.display()))?;
    let path = parent.join(file_name);
    // A symlinked vault file: use its target, so both names share one keystore entry.
    Ok(path.canonicalize().unwrap_or(path))
}

/// `<vault path>.devicekey`.
fn device_key_path(vault: &Path) -> PathBuf {
    let mut s = vault.as_os_str().to_owned();
    s.push(".devicekey");
    PathBuf::from(s)
}

/// A keystore that refuses to mint a device key for a vault that already exists.
struct GuardedKeystore {
    inner: Arc<dyn Keystore>,
    has_key: HasKey,
    allow_create: AtomicBool,
    what: String,
}

impl GuardedKeystore {
    fn check(&self) -> Result<(), KeystoreError> {
        if !self.allow_create.load(Ordering::SeqCst) && !(self.has_key)()? {
            return Err(KeystoreError::Unavailable {
                reason: format!(
                    "{} has no device key for this existing vault (was it created with the other --keystore?)",
                    self.what
                ),
            });
        }
        Ok(())
    }
}

impl Keystore for GuardedKeystore {
    fn device_key_info(&self) -> Result<DeviceKeyInfo, KeystoreError> {
        self.check()?;
        self.inner.device_key_info()
    }

    fn prf(&self, input: Vec<u8>) -> Result<Vec<u8>, KeystoreError> {
        self.check()?;
        self.inner.prf(input)
    }

    fn delete_device_key(&self) -> Result<(), KeystoreError> {
        self.inner.delete_device_key()
    }

    fn legacy_device_key(&self) -> Result<Option<Vec<u8>>, KeystoreError> {
        self.inner.legacy_device_key()
    }

    fn delete_legacy_device_key(&self) -> Result<(), KeystoreError> {
        self.inner.delete_legacy_device_key()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_device_key_file_sits_next_to_the_vault() {
        assert_eq!(
            device_key_path(Path::new("/tmp/x/vault.sqlite3")),
            PathBuf::from("/tmp/x/vault.sqlite3.devicekey")
        );
    }

    #[test]
    fn vault_paths_are_absolute_and_their_directory_is_created() -> anyhow::Result<()> {
        let dir = tempfile::tempdir()?;
        let p = vault_path(Some(dir.path().join("a/b/v.db")))?;
        assert!(p.is_absolute());
        assert!(dir.path().join("a/b").is_dir());
        assert_eq!(p.file_name().and_then(|s| s.to_str()), Some("v.db"));
        Ok(())
    }
}
