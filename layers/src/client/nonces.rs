//! The last `DPoP-Nonce` each server origin sent (RFC 9449 §8.2, §9).

use std::collections::HashMap;
use std::sync::{Mutex, PoisonError};

use super::proof::split_url;

/// Most origins remembered; beyond this the book starts over (a forgotten
/// nonce only costs one extra round trip).
const MAX_ORIGINS: usize = 1024;

/// Nonces by origin (`scheme://host[:port]`, lower-case).
#[derive(Debug, Default)]
pub(crate) struct NonceBook {
    nonces: Mutex<HashMap<String, String>>,
}

impl NonceBook {
    pub(crate) fn get(&self, origin: &str) -> Option<String> {
        self.lock().get(origin).cloned()
    }

    /// Stores `nonce`; says whether it differs from what was stored.
    pub(crate) fn put(&self, origin: &str, nonce: &str) -> bool {
        let mut nonces = self.lock();
        if nonces.get(origin).is_some_and(|n| n == nonce) {
            return false;
        }
        if nonces.len() >= MAX_ORIGINS && !nonces.contains_key(origin) {
            nonces.clear();
        }
        nonces.insert(origin.to_owned(), nonce.to_owned());
        true
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, String>> {
        self.nonces.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// The origin of an absolute URL: scheme and `host[:port]`, lower-cased,
/// without user information (so credentials in a URL never become a key of
/// the book or appear in logs); `None` without a host.
pub(crate) fn origin_of(url: &str) -> Option<String> {
    let parts = split_url(url)?;
    (!parts.host.is_empty()).then(|| format!("{}{}", parts.scheme, parts.host).to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        assert_eq!(
            origin_of("https://A.example:8443/x?y").as_deref(),
            Some("https://a.example:8443")
        );
        assert_eq!(origin_of("http://h").as_deref(), Some("http://h"));
        assert_eq!(origin_of("/relative"), None);
        assert_eq!(origin_of("http:///x"), None);
    }

    #[test]
    fn origins_have_no_userinfo() {
        assert_eq!(
            origin_of("https://alice:s3cret@A.example:8443/x?y").as_deref(),
            Some("https://a.example:8443")
        );
        assert_eq!(origin_of("https://a@b:c@h").as_deref(), Some("https://h"));
        assert_eq!(origin_of("https://h/a@b").as_deref(), Some("https://h"));
        assert_eq!(origin_of("https://user@/x"), None);
    }

    #[test]
    fn book_reports_changes() {
        let book = NonceBook::default();
        assert!(book.put("https://h", "n1"));
        assert!(!book.put("https://h", "n1"));
        assert!(book.put("https://h", "n2"));
        assert_eq!(book.get("https://h").as_deref(), Some("n2"));
        assert_eq!(book.get("https://other"), None);
    }
}
