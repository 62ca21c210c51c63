//! privacyIDEA smartphone containers (issue 11): a phone registers once from a
//! `pia://container/...` link, then the server adds, renews and removes its tokens through
//! signed, encrypted synchronizations, and the container can move to a new phone.
//!
//! Layout, as in `push/`:
//! - [`protocol`]: the pure part. Link parsing, the P-384 phone key, the signed strings,
//!   the request fields, the X25519 / AES-256-GCM decryption of the synchronization answer
//!   and the typed reading of the server's answers. No I/O; the vectors of
//!   `../shared/docs/privacyidea-container-protocol.md` (Appendix A) are its unit tests.
//! - [`service`]: storage of the container and its sealed key, the HTTP calls through
//!   `push::transport::Transport`, and applying a synchronization to the vault in one
//!   transaction.

pub mod protocol;
pub mod service;
