//! Single-byte edits of a compact JWS (a DPoP proof, a JWT access token), for
//! the property tests that check every such edit is refused.

use proptest::prelude::*;
use proptest::sample::Index;

/// What a [`Mutation`] does at its position.
#[derive(Debug, Clone, Copy)]
pub enum Edit {
    /// Replaces the byte there.
    Change,
    /// Inserts a byte before it (or at the end).
    Insert,
    /// Removes it.
    Delete,
}

/// One edit of one byte somewhere in a text.
#[derive(Debug, Clone)]
pub struct Mutation {
    edit: Edit,
    at: Index,
    byte: u8,
}

impl Mutation {
    /// The text's bytes after the edit (not always UTF-8).
    pub fn apply(&self, text: &str) -> Vec<u8> {
        let mut bytes = text.as_bytes().to_vec();
        match self.edit {
            Edit::Change => {
                let i = self.at.index(bytes.len());
                bytes[i] = self.byte;
            }
            Edit::Insert => bytes.insert(self.at.index(bytes.len() + 1), self.byte),
            Edit::Delete => {
                bytes.remove(self.at.index(bytes.len()));
            }
        }
        bytes
    }

    /// The edit applied to `text`, as the string a verifier would be handed
    /// (bytes that are not UTF-8 can only reach it as some string), or
    /// `None` when the edit changed nothing.
    pub fn apply_lossy(&self, text: &str) -> Option<String> {
        let bytes = self.apply(text);
        (bytes != text.as_bytes()).then(|| String::from_utf8_lossy(&bytes).into_owned())
    }
}

/// Any edit, anywhere, with a byte that is mostly from the base64url
/// alphabet and '.', where an edit is most likely to survive decoding, and
/// sometimes anything.
pub fn mutation() -> impl Strategy<Value = Mutation> {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.";
    let edit = prop_oneof![Just(Edit::Change), Just(Edit::Insert), Just(Edit::Delete)];
    let byte = prop_oneof![
        3 => proptest::sample::select(ALPHABET),
        1 => any::<u8>(),
    ];
    (edit, any::<Index>(), byte).prop_map(|(edit, at, byte)| Mutation { edit, at, byte })
}
