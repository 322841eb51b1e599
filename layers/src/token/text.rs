//! Claim strings without copies: [`Text`] is a span of the claims set's JSON
//! text (a string with no escapes, the usual case) or its own copy, and
//! [`Strings`] is a claim holding one string, a space-separated list, or an
//! array of strings.

use std::borrow::Cow;

/// A string claim, resolved against the claims set's JSON text by
/// [`get`](Self::get).
#[derive(Clone, Debug)]
pub(crate) enum Text {
    /// `json[start..end]`.
    Span { start: usize, end: usize },
    /// A string that is not a slice of the text (it had escapes, or came
    /// from a map).
    Owned(Box<str>),
}

impl Text {
    /// `value`, as a span when it is a slice of `json`.
    pub(crate) fn new(value: Cow<'_, str>, json: &str) -> Self {
        match value {
            Cow::Borrowed(slice) => match offset_within(json.as_bytes(), slice.as_bytes()) {
                Some(start) => Text::Span {
                    start,
                    end: start + slice.len(),
                },
                None => Text::Owned(slice.into()),
            },
            Cow::Owned(owned) => Text::Owned(owned.into_boxed_str()),
        }
    }

    /// The string, from `json` when it is a span of it.
    pub(crate) fn get<'a>(&'a self, json: &'a str) -> &'a str {
        match self {
            Text::Span { start, end } => json.get(*start..*end).unwrap_or_default(),
            Text::Owned(owned) => owned,
        }
    }
}

/// Where `inner` starts within `outer`, when it is a slice of it.
fn offset_within(outer: &[u8], inner: &[u8]) -> Option<usize> {
    let start = (inner.as_ptr() as usize).checked_sub(outer.as_ptr() as usize)?;
    (start.checked_add(inner.len())? <= outer.len()).then_some(start)
}

/// The strings of a claim such as `aud`, `scope` or `scp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Strings<T> {
    /// One string (`aud` as a string).
    One(T),
    /// A space-separated list (`scope`, RFC 6749 §3.3); empty items skipped.
    Spaced(T),
    /// An array of strings.
    List(Vec<T>),
}

impl<T> Default for Strings<T> {
    fn default() -> Self {
        Strings::List(Vec::new())
    }
}

impl<T> Strings<T> {
    /// The same strings in another form.
    pub(crate) fn map<U>(self, mut f: impl FnMut(T) -> U) -> Strings<U> {
        match self {
            Strings::One(one) => Strings::One(f(one)),
            Strings::Spaced(spaced) => Strings::Spaced(f(spaced)),
            Strings::List(list) => Strings::List(list.into_iter().map(f).collect()),
        }
    }

    /// Each string, read through `get`.
    pub(crate) fn iter<'a>(
        &'a self,
        get: impl Fn(&'a T) -> &'a str + Copy + 'a,
    ) -> impl Iterator<Item = &'a str> + Clone + 'a {
        let (one, spaced, list): (Option<&T>, Option<&T>, &[T]) = match self {
            Strings::One(one) => (Some(one), None, &[]),
            Strings::Spaced(spaced) => (None, Some(spaced), &[]),
            Strings::List(list) => (None, None, list),
        };
        one.map(get)
            .into_iter()
            .chain(
                spaced
                    .map(get)
                    .into_iter()
                    .flat_map(|s| s.split(' ').filter(|item| !item.is_empty())),
            )
            .chain(list.iter().map(get))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spans_slices_of_the_text_and_copies_the_rest() {
        let json = String::from(r#"{"sub":"alice"}"#);
        let sub = Text::new(Cow::Borrowed(&json[8..13]), &json);
        assert!(matches!(sub, Text::Span { start: 8, end: 13 }));
        assert_eq!(sub.get(&json), "alice");
        let other = Text::new(Cow::Borrowed("alice"), &json);
        assert!(matches!(other, Text::Owned(_)));
        assert_eq!(other.get(&json), "alice");
        assert_eq!(Text::new(Cow::Owned("é".into()), &json).get(&json), "é");
        let buf = b"abcdef";
        assert_eq!(offset_within(&buf[..4], &buf[2..4]), Some(2));
        assert_eq!(offset_within(&buf[..4], &buf[3..5]), None);
        assert_eq!(offset_within(&buf[2..], &buf[..3]), None);
    }

    #[test]
    fn iterates_each_form() {
        fn all(strings: &Strings<String>) -> Vec<&str> {
            strings.iter(String::as_str).collect()
        }
        assert_eq!(all(&Strings::Spaced(String::from(" a  b "))), ["a", "b"]);
        assert_eq!(all(&Strings::One(String::from("a b"))), ["a b"]);
        let list = Strings::List(vec![String::from("x"), String::from("y z")]);
        assert_eq!(all(&list), ["x", "y z"]);
        assert!(all(&Strings::default()).is_empty());
        assert_eq!(list.map(|s| s.len()), Strings::List(vec![1, 3]));
    }
}
