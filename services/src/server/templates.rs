//! RFC 6570 URI templates, as far as resource templates need them: simple
//! string expansion `{var}` (level 1) and reserved expansion `{+var}`
//! (level 2), both to expand and to match a URI against a template and
//! extract its variables.
//!
//! Matching reverses expansion, leniently:
//! - `{var}` matches one or more characters up to the next `/`, `?` or `#`
//!   (RFC 6570 §3.2.2 would percent-encode every reserved character, but
//!   clients send `:`, `,` or `@` unencoded too);
//! - `{+var}` matches one or more characters of any kind (§3.2.3);
//! - values are percent-decoded; a value that does not decode to UTF-8 makes
//!   the URI not match.
//!
//! When a URI can match in several ways (`{a}-{b}` against `x-y-z`), earlier
//! variables take as much as they can (`a = "x-y"`).
//!
//! The other level 2–4 forms (`{#var}`, `{/var}`, `{?var}`, lists such as
//! `{a,b}`, the `*` and `:n` modifiers) are refused when the template is
//! parsed, so a template is never silently matched wrongly.

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::fmt::Write as _;

/// Why a string is not a URI template this crate can match.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UriTemplateError {
    /// A `{` without its `}`, or a `}` without its `{`.
    #[error("URI template {template:?}: unbalanced brace at byte {at}")]
    Unbalanced {
        /// The template.
        template: String,
        /// Byte offset of the brace.
        at: usize,
    },
    /// An expression this matcher does not support.
    #[error(
        "URI template {template:?}: {expression:?} is not supported (only {{var}} and {{+var}})"
    )]
    Unsupported {
        /// The template.
        template: String,
        /// The expression, with its braces.
        expression: String,
    },
    /// A variable name with characters RFC 6570 §2.3 does not allow.
    #[error(
        "URI template {template:?}: {name:?} is not a variable name (letters, digits, '_' and inner '.')"
    )]
    InvalidName {
        /// The template.
        template: String,
        /// The name.
        name: String,
    },
    /// A variable used twice.
    #[error("URI template {template:?}: the variable {name:?} appears twice")]
    Repeated {
        /// The template.
        template: String,
        /// The name.
        name: String,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Literal(String),
    Variable { name: String, reserved: bool },
}

/// A parsed URI template (RFC 6570 levels 1 and `{+var}`).
///
/// ```
/// use mcp_tower_services::server::UriTemplate;
///
/// let template = UriTemplate::parse("users://{id}/files/{+path}").unwrap();
/// let vars = template.matches("users://42/files/a/b%20c.txt").unwrap();
/// assert_eq!(vars["id"], "42");
/// assert_eq!(vars["path"], "a/b c.txt");
/// assert!(template.matches("users://42/posts/1").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UriTemplate {
    source: String,
    parts: Vec<Part>,
}

/// Values of a template's variables, by name.
pub type Variables = BTreeMap<String, String>;

fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && !name.starts_with('.')
        && !name.ends_with('.')
        && !name.contains("..")
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
}

impl UriTemplate {
    /// Parses `template`.
    pub fn parse(template: &str) -> Result<Self, UriTemplateError> {
        let mut parts = Vec::new();
        let mut names = HashSet::new();
        let mut rest = template;
        let mut offset = 0;
        while !rest.is_empty() {
            let brace = rest.find(['{', '}']).unwrap_or(rest.len());
            if brace > 0 {
                parts.push(Part::Literal(rest[..brace].to_owned()));
            }
            rest = &rest[brace..];
            offset += brace;
            if rest.is_empty() {
                break;
            }
            let unbalanced = || UriTemplateError::Unbalanced {
                template: template.to_owned(),
                at: offset,
            };
            if rest.starts_with('}') {
                return Err(unbalanced());
            }
            let close = rest.find('}').ok_or_else(unbalanced)?;
            let expression = &rest[1..close];
            if expression.contains('{') {
                return Err(unbalanced());
            }
            let (reserved, name) = match expression.strip_prefix('+') {
                Some(name) => (true, name),
                None => (false, expression),
            };
            if name.starts_with(['#', '.', '/', ';', '?', '&', '=', ',', '!', '@', '|'])
                || name.contains([',', '*', ':'])
            {
                return Err(UriTemplateError::Unsupported {
                    template: template.to_owned(),
                    expression: rest[..=close].to_owned(),
                });
            }
            if !valid_name(name) {
                return Err(UriTemplateError::InvalidName {
                    template: template.to_owned(),
                    name: name.to_owned(),
                });
            }
            if !names.insert(name) {
                return Err(UriTemplateError::Repeated {
                    template: template.to_owned(),
                    name: name.to_owned(),
                });
            }
            parts.push(Part::Variable {
                name: name.to_owned(),
                reserved,
            });
            rest = &rest[close + 1..];
            offset += close + 1;
        }
        Ok(Self {
            source: template.to_owned(),
            parts,
        })
    }

    /// The template as written.
    pub fn as_str(&self) -> &str {
        &self.source
    }

    /// The names of the template's variables, in order.
    pub fn variables(&self) -> impl Iterator<Item = &str> {
        self.parts.iter().filter_map(|part| match part {
            Part::Variable { name, .. } => Some(name.as_str()),
            Part::Literal(_) => None,
        })
    }

    /// Whether the template has no variables.
    pub fn is_literal(&self) -> bool {
        self.variables().next().is_none()
    }

    /// Expands the template: `{var}` percent-encodes everything but
    /// unreserved characters, `{+var}` keeps reserved characters and
    /// percent-encoded triplets too (RFC 6570 §3.2.2, §3.2.3). Missing
    /// variables expand to nothing.
    pub fn expand(&self, values: &Variables) -> String {
        let mut uri = String::with_capacity(self.source.len());
        for part in &self.parts {
            match part {
                Part::Literal(text) => uri.push_str(text),
                Part::Variable { name, reserved } => {
                    if let Some(value) = values.get(name) {
                        encode_into(&mut uri, value, *reserved);
                    }
                }
            }
        }
        uri
    }

    /// The variables of `uri` if it matches the template.
    pub fn matches(&self, uri: &str) -> Option<Variables> {
        let mut matcher = Matcher {
            parts: &self.parts,
            uri,
            failed: HashSet::new(),
            spans: Vec::with_capacity(self.parts.len()),
        };
        if !matcher.at(0, 0) {
            return None;
        }
        let mut variables = Variables::new();
        for (name, start, end) in matcher.spans {
            variables.insert(name.to_owned(), percent_decode(&uri[start..end])?);
        }
        Some(variables)
    }
}

impl fmt::Display for UriTemplate {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.source)
    }
}

impl std::str::FromStr for UriTemplate {
    type Err = UriTemplateError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

/// A backtracking matcher that remembers the (part, position) pairs that
/// failed, so every pair is tried once: at most parts × URI length states.
struct Matcher<'a> {
    parts: &'a [Part],
    uri: &'a str,
    failed: HashSet<(usize, usize)>,
    spans: Vec<(&'a str, usize, usize)>,
}

impl<'a> Matcher<'a> {
    fn at(&mut self, index: usize, pos: usize) -> bool {
        let Some(part) = self.parts.get(index) else {
            return pos == self.uri.len();
        };
        if self.failed.contains(&(index, pos)) {
            return false;
        }
        let found = match part {
            Part::Literal(text) => {
                self.uri[pos..].starts_with(text.as_str()) && self.at(index + 1, pos + text.len())
            }
            Part::Variable { name, reserved } => self.variable(index, name, *reserved, pos),
        };
        if !found {
            self.failed.insert((index, pos));
        }
        found
    }

    fn variable(&mut self, index: usize, name: &'a str, reserved: bool, pos: usize) -> bool {
        let rest = &self.uri[pos..];
        let limit = if reserved {
            rest.len()
        } else {
            rest.find(['/', '?', '#']).unwrap_or(rest.len())
        };
        // Longest first, at character boundaries; one character at least.
        let ends = rest[..limit]
            .char_indices()
            .map(|(i, c)| i + c.len_utf8())
            .rev();
        let next_literal = match self.parts.get(index + 1) {
            Some(Part::Literal(text)) => Some(text.as_str()),
            _ => None,
        };
        for end in ends {
            if next_literal.is_some_and(|text| !rest[end..].starts_with(text)) {
                continue;
            }
            self.spans.push((name, pos, pos + end));
            if self.at(index + 1, pos + end) {
                return true;
            }
            self.spans.pop();
        }
        false
    }
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_reserved(b: u8) -> bool {
    matches!(
        b,
        b':' | b'/'
            | b'?'
            | b'#'
            | b'['
            | b']'
            | b'@'
            | b'!'
            | b'$'
            | b'&'
            | b'\''
            | b'('
            | b')'
            | b'*'
            | b'+'
            | b','
            | b';'
            | b'='
    )
}

fn encode_into(out: &mut String, value: &str, reserved: bool) {
    let bytes = value.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        let triplet = reserved
            && b == b'%'
            && bytes.get(i + 1).is_some_and(u8::is_ascii_hexdigit)
            && bytes.get(i + 2).is_some_and(u8::is_ascii_hexdigit);
        if triplet {
            out.push_str(&value[i..i + 3]);
            i += 3;
            continue;
        }
        if is_unreserved(b) || (reserved && is_reserved(b)) {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
        i += 1;
    }
}

/// Decodes `%XX` triplets; a `%` not followed by two hex digits stays as it
/// is. `None` when the result is not UTF-8.
fn percent_decode(text: &str) -> Option<String> {
    if !text.contains('%') {
        return Some(text.to_owned());
    }
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |j: usize| bytes.get(j).and_then(|&b| char::from(b).to_digit(16));
        match (bytes[i], hex(i + 1), hex(i + 2)) {
            (b'%', Some(high), Some(low)) => {
                // Two hex digits make a value below 256.
                out.push(u8::try_from(high * 16 + low).ok()?);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use proptest::prelude::*;

    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Variables {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn simple_variables_stop_at_slashes() {
        let t = UriTemplate::parse("users://{id}/profile").unwrap();
        assert_eq!(t.matches("users://42/profile"), Some(vars(&[("id", "42")])));
        assert_eq!(t.matches("users://4/2/profile"), None);
        assert_eq!(t.matches("users:///profile"), None, "values are not empty");
        assert_eq!(t.matches("users://42/profile/x"), None);
        assert_eq!(t.matches("other://42/profile"), None);
        assert_eq!(t.variables().collect::<Vec<_>>(), ["id"]);
    }

    #[test]
    fn reserved_variables_take_slashes() {
        let t = UriTemplate::parse("file:///{+path}").unwrap();
        assert_eq!(
            t.matches("file:///etc/hosts"),
            Some(vars(&[("path", "etc/hosts")]))
        );
        let t = UriTemplate::parse("repo://{owner}/{+path}/raw").unwrap();
        assert_eq!(
            t.matches("repo://me/src/lib.rs/raw"),
            Some(vars(&[("owner", "me"), ("path", "src/lib.rs")]))
        );
    }

    #[test]
    fn values_are_percent_decoded() {
        let t = UriTemplate::parse("notes://{name}").unwrap();
        assert_eq!(
            t.matches("notes://hello%20w%C3%B6rld"),
            Some(vars(&[("name", "hello wörld")]))
        );
        assert_eq!(t.matches("notes://100%"), Some(vars(&[("name", "100%")])));
        assert_eq!(t.matches("notes://%FF"), None, "not UTF-8");
    }

    #[test]
    fn earlier_variables_are_greedy() {
        let t = UriTemplate::parse("x://{a}-{b}").unwrap();
        assert_eq!(
            t.matches("x://p-q-r"),
            Some(vars(&[("a", "p-q"), ("b", "r")]))
        );
        let t = UriTemplate::parse("x://{a}{b}").unwrap();
        assert_eq!(t.matches("x://pq"), Some(vars(&[("a", "p"), ("b", "q")])));
        assert_eq!(t.matches("x://p"), None);
    }

    #[test]
    fn literal_templates_match_themselves() {
        let t = UriTemplate::parse("memo://readme").unwrap();
        assert!(t.is_literal());
        assert_eq!(t.matches("memo://readme"), Some(Variables::new()));
        assert_eq!(t.matches("memo://readme2"), None);
    }

    #[test]
    fn unsupported_and_malformed_templates_are_refused() {
        for bad in ["x://{a", "x://a}", "x://{a{b}}"] {
            assert!(
                matches!(
                    UriTemplate::parse(bad),
                    Err(UriTemplateError::Unbalanced { .. })
                ),
                "{bad}"
            );
        }
        for unsupported in [
            "x://{#a}",
            "x://{/a}",
            "x://{?a}",
            "x://{a,b}",
            "x://{a*}",
            "x://{a:3}",
            "x://{.a}",
        ] {
            assert!(
                matches!(
                    UriTemplate::parse(unsupported),
                    Err(UriTemplateError::Unsupported { .. })
                ),
                "{unsupported}"
            );
        }
        for name in ["x://{}", "x://{+}", "x://{a-b}", "x://{a..b}", "x://{a.}"] {
            assert!(
                matches!(
                    UriTemplate::parse(name),
                    Err(UriTemplateError::InvalidName { .. })
                ),
                "{name}"
            );
        }
        assert!(matches!(
            UriTemplate::parse("x://{a}/{a}"),
            Err(UriTemplateError::Repeated { .. })
        ));
    }

    #[test]
    fn expansion_follows_rfc_6570() {
        // RFC 6570 §3.2.2 and §3.2.3 examples.
        let values = vars(&[
            ("var", "value"),
            ("hello", "Hello World!"),
            ("path", "/foo/bar"),
        ]);
        let expand = |t: &str| UriTemplate::parse(t).unwrap().expand(&values);
        assert_eq!(expand("{var}"), "value");
        assert_eq!(expand("{hello}"), "Hello%20World%21");
        assert_eq!(expand("{+hello}"), "Hello%20World!");
        assert_eq!(expand("{+path}/here"), "/foo/bar/here");
        assert_eq!(expand("here?ref={+path}"), "here?ref=/foo/bar");
        assert_eq!(expand("x{undefined}y"), "xy");
    }

    #[test]
    fn adjacent_variables_do_not_explode() {
        let t = UriTemplate::parse("x://{a}{b}{c}{d}{e}!").unwrap();
        let uri = format!("x://{}", "a".repeat(300));
        assert_eq!(t.matches(&uri), None);
    }

    proptest! {
        #[test]
        fn expanded_values_match_back(
            a in "[^/?#]{1,12}",
            b in ".{1,12}",
            c in "[a-z]{1,4}",
        ) {
            let t = UriTemplate::parse("t://{a}/x/{+b}.{c}").unwrap();
            let values = vars(&[("a", &a), ("b", &b), ("c", &c)]);
            let uri = t.expand(&values);
            let found = t.matches(&uri);
            prop_assert!(found.is_some(), "{uri}");
            let found = found.unwrap();
            prop_assert_eq!(&found["a"], &a);
            prop_assert_eq!(&found["c"], &c);
            // Reserved expansion keeps `%XX` triplets as they are, so only
            // values without them come back unchanged.
            if !b.contains('%') {
                prop_assert_eq!(&found["b"], &b);
            }
        }
    }
}
