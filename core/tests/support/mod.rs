pub mod privacyidea;
