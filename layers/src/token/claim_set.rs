//! A JWT claims set read in one pass: the registered claims the validator
//! checks, each noted as absent, of the wrong type, or its value; every other
//! member is parsed as strictly as `serde_json::Value` would parse it (keys
//! and strings decoded, numbers in range) but not kept. So one pass over the
//! JSON text both validates all of it and yields what the checks need, and
//! the text itself can be kept for [`AccessClaims::raw`] to parse on demand.
//!
//! Strings without escapes are borrowed from the text, not copied (see
//! [`Text`](super::text::Text)).
//!
//! Types are judged here but refused later, in the validator's order and
//! after the signature, exactly as when the claims were read from a map. A
//! member named twice keeps its last value, as `serde_json::Map` does.
//!
//! [`AccessClaims::raw`]: super::AccessClaims::raw

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};

use super::text::Strings;

/// A registered claim as found in the claims set.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) enum Claim<T> {
    /// Not in the claims set.
    #[default]
    Absent,
    /// Present with a type (or value) the claim does not allow.
    Invalid,
    /// Present and well-typed.
    Valid(T),
}

impl<T> Claim<T> {
    pub(crate) fn valid(self) -> Option<T> {
        match self {
            Claim::Valid(value) => Some(value),
            Claim::Absent | Claim::Invalid => None,
        }
    }
}

/// What the validator reads from a claims set (RFC 7519 §4.1, RFC 9068 §2.2,
/// RFC 9449 §6), borrowing strings from the JSON text where it can.
#[derive(Debug, Default)]
pub(crate) struct ClaimSet<'a> {
    pub(crate) iss: Claim<Cow<'a, str>>,
    /// A string, or an array of strings (an array with anything else in it
    /// is invalid).
    pub(crate) aud: Claim<Strings<Cow<'a, str>>>,
    pub(crate) exp: Claim<u64>,
    pub(crate) nbf: Claim<u64>,
    pub(crate) iat: Claim<u64>,
    pub(crate) sub: Claim<Cow<'a, str>>,
    pub(crate) client_id: Claim<Cow<'a, str>>,
    /// The space-separated `scope` string.
    pub(crate) scope: Claim<Cow<'a, str>>,
    /// `scp`, read leniently as before: the strings of an array, or a
    /// space-separated string; anything else is no scopes.
    pub(crate) scp: Option<Strings<Cow<'a, str>>>,
    /// `cnf.jkt`: valid when `cnf` is an object with a string `jkt`.
    pub(crate) cnf_jkt: Claim<Cow<'a, str>>,
}

/// The members the validator reads.
enum Name {
    Iss,
    Aud,
    Exp,
    Nbf,
    Iat,
    Sub,
    ClientId,
    Scope,
    Scp,
    Cnf,
    Other,
}

impl<'de> Deserialize<'de> for Name {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct NameVisitor;
        impl Visitor<'_> for NameVisitor {
            type Value = Name;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a claim name")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<Name, E> {
                Ok(match name {
                    "iss" => Name::Iss,
                    "aud" => Name::Aud,
                    "exp" => Name::Exp,
                    "nbf" => Name::Nbf,
                    "iat" => Name::Iat,
                    "sub" => Name::Sub,
                    "client_id" => Name::ClientId,
                    "scope" => Name::Scope,
                    "scp" => Name::Scp,
                    "cnf" => Name::Cnf,
                    _ => Name::Other,
                })
            }
        }
        deserializer.deserialize_str(NameVisitor)
    }
}

impl<'de> Deserialize<'de> for ClaimSet<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct SetVisitor;
        impl<'de> Visitor<'de> for SetVisitor {
            type Value = ClaimSet<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ClaimSet<'de>, A::Error> {
                let mut set = ClaimSet::default();
                while let Some(name) = map.next_key::<Name>()? {
                    match name {
                        Name::Iss => set.iss = map.next_value::<StringClaim>()?.0,
                        Name::Aud => set.aud = map.next_value::<Audience>()?.0,
                        Name::Exp => set.exp = map.next_value::<NumericDate>()?.0,
                        Name::Nbf => set.nbf = map.next_value::<NumericDate>()?.0,
                        Name::Iat => set.iat = map.next_value::<NumericDate>()?.0,
                        Name::Sub => set.sub = map.next_value::<StringClaim>()?.0,
                        Name::ClientId => set.client_id = map.next_value::<StringClaim>()?.0,
                        // Kept whole: split when read.
                        Name::Scope => set.scope = map.next_value::<StringClaim>()?.0,
                        Name::Scp => set.scp = map.next_value::<Scp>()?.0,
                        Name::Cnf => set.cnf_jkt = map.next_value::<Confirmation>()?.0,
                        Name::Other => {
                            map.next_value::<StrictAny>()?;
                        }
                    }
                }
                Ok(set)
            }
        }
        deserializer.deserialize_map(SetVisitor)
    }
}

/// Any JSON value, parsed fully (strings decoded, numbers converted) and
/// dropped: what `serde_json::Value` would accept, without building it.
/// (`IgnoredAny` only skips, and so lets through lone surrogate escapes
/// and out-of-range numbers that `Value` refuses.)
struct StrictAny;

impl<'de> Deserialize<'de> for StrictAny {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictAnyVisitor)
    }
}

struct StrictAnyVisitor;

impl<'de> Visitor<'de> for StrictAnyVisitor {
    type Value = StrictAny;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }
    fn visit_bool<E: de::Error>(self, _: bool) -> Result<StrictAny, E> {
        Ok(StrictAny)
    }
    fn visit_i64<E: de::Error>(self, _: i64) -> Result<StrictAny, E> {
        Ok(StrictAny)
    }
    fn visit_u64<E: de::Error>(self, _: u64) -> Result<StrictAny, E> {
        Ok(StrictAny)
    }
    fn visit_f64<E: de::Error>(self, _: f64) -> Result<StrictAny, E> {
        Ok(StrictAny)
    }
    fn visit_str<E: de::Error>(self, _: &str) -> Result<StrictAny, E> {
        Ok(StrictAny)
    }
    fn visit_unit<E: de::Error>(self) -> Result<StrictAny, E> {
        Ok(StrictAny)
    }
    fn visit_none<E: de::Error>(self) -> Result<StrictAny, E> {
        Ok(StrictAny)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<StrictAny, A::Error> {
        while seq.next_element::<StrictAny>()?.is_some() {}
        Ok(StrictAny)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<StrictAny, A::Error> {
        while map.next_entry::<StrictAny, StrictAny>()?.is_some() {}
        Ok(StrictAny)
    }
}

/// Implements `Deserialize` for a claim reader through a visitor whose
/// `seq`, `map` and scalar cases default to "invalid, but parsed fully".
macro_rules! claim_reader {
    ($name:ident, $value:ty, $expecting:literal, { $($body:tt)* }) => {
        claim_reader!($name, $name, $value, $expecting, { $($body)* });
    };
    ($name:ident<'de>, $value:ty, $expecting:literal, { $($body:tt)* }) => {
        claim_reader!($name<'de>, $name<'de>, $value, $expecting, { $($body)* });
    };
    ($name:ident $(<$lt:lifetime>)?, $full:ty, $value:ty, $expecting:literal, { $($body:tt)* }) => {
        struct $name$(<$lt>)?($value);

        impl<'de> Deserialize<'de> for $full {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> Visitor<'de> for V {
                    type Value = $full;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        f.write_str($expecting)
                    }
                    $($body)*
                }
                deserializer.deserialize_any(V)
            }
        }
    };
}

/// The methods a claim reader's visitor answers "invalid" with, for the
/// JSON types it does not take.
macro_rules! invalid_for {
    ($invalid:expr; bool) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Ok($invalid)
        }
    };
    ($invalid:expr; numbers) => {
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Ok($invalid)
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Ok($invalid)
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Ok($invalid)
        }
    };
    ($invalid:expr; str) => {
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Ok($invalid)
        }
    };
    ($invalid:expr; null) => {
        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($invalid)
        }
        fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok($invalid)
        }
    };
    ($invalid:expr; seq) => {
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            while seq.next_element::<StrictAny>()?.is_some() {}
            Ok($invalid)
        }
    };
    ($invalid:expr; map) => {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            while map.next_entry::<StrictAny, StrictAny>()?.is_some() {}
            Ok($invalid)
        }
    };
}

// A string: borrowed from the text when it has no escapes.
claim_reader!(StringClaim<'de>, Claim<Cow<'de, str>>, "a string", {
    fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<StringClaim<'de>, E> {
        Ok(StringClaim(Claim::Valid(Cow::Borrowed(s))))
    }
    fn visit_str<E: de::Error>(self, s: &str) -> Result<StringClaim<'de>, E> {
        Ok(StringClaim(Claim::Valid(Cow::Owned(s.to_owned()))))
    }
    fn visit_string<E: de::Error>(self, s: String) -> Result<StringClaim<'de>, E> {
        Ok(StringClaim(Claim::Valid(Cow::Owned(s))))
    }
    invalid_for!(StringClaim(Claim::Invalid); bool);
    invalid_for!(StringClaim(Claim::Invalid); numbers);
    invalid_for!(StringClaim(Claim::Invalid); null);
    invalid_for!(StringClaim(Claim::Invalid); seq);
    invalid_for!(StringClaim(Claim::Invalid); map);
});

claim_reader!(
    Audience<'de>,
    Claim<Strings<Cow<'de, str>>>,
    "a string or an array of strings",
    {
        fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Audience<'de>, E> {
            Ok(Audience(Claim::Valid(Strings::One(Cow::Borrowed(s)))))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Audience<'de>, E> {
            Ok(Audience(Claim::Valid(Strings::One(Cow::Owned(
                s.to_owned(),
            )))))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Audience<'de>, A::Error> {
            let mut audiences = Vec::new();
            let mut valid = true;
            while let Some(StringClaim(item)) = seq.next_element()? {
                match item {
                    Claim::Valid(aud) if valid => audiences.push(aud),
                    _ => valid = false,
                }
            }
            Ok(Audience(if valid {
                Claim::Valid(Strings::List(audiences))
            } else {
                Claim::Invalid
            }))
        }
        invalid_for!(Audience(Claim::Invalid); bool);
        invalid_for!(Audience(Claim::Invalid); numbers);
        invalid_for!(Audience(Claim::Invalid); null);
        invalid_for!(Audience(Claim::Invalid); map);
    }
);

/// Two to the 64th: the first `f64` past `u64::MAX`.
const TWO_POW_64: f64 = 18_446_744_073_709_551_616.0;

/// A fractional `NumericDate` (RFC 7519 §2) as whole seconds: fractions
/// dropped; negative, too large or not finite is `None`.
#[allow(
    clippy::cast_possible_truncation,
    clippy::cast_sign_loss,
    reason = "the range is checked first, and in it the cast floors"
)]
pub(crate) fn whole_seconds(seconds: f64) -> Option<u64> {
    (0.0..TWO_POW_64)
        .contains(&seconds)
        .then_some(seconds as u64)
}

// A `NumericDate` (RFC 7519 §2) as whole seconds; fractions are dropped,
// negative values are invalid.
claim_reader!(NumericDate, Claim<u64>, "a NumericDate", {
    fn visit_u64<E: de::Error>(self, seconds: u64) -> Result<NumericDate, E> {
        Ok(NumericDate(Claim::Valid(seconds)))
    }
    fn visit_i64<E: de::Error>(self, seconds: i64) -> Result<NumericDate, E> {
        Ok(NumericDate(
            u64::try_from(seconds).map_or(Claim::Invalid, Claim::Valid),
        ))
    }
    fn visit_f64<E: de::Error>(self, seconds: f64) -> Result<NumericDate, E> {
        Ok(NumericDate(
            whole_seconds(seconds).map_or(Claim::Invalid, Claim::Valid),
        ))
    }
    invalid_for!(NumericDate(Claim::Invalid); bool);
    invalid_for!(NumericDate(Claim::Invalid); str);
    invalid_for!(NumericDate(Claim::Invalid); null);
    invalid_for!(NumericDate(Claim::Invalid); seq);
    invalid_for!(NumericDate(Claim::Invalid); map);
});

claim_reader!(
    Scp<'de>,
    Option<Strings<Cow<'de, str>>>,
    "an array of strings",
    {
        fn visit_borrowed_str<E: de::Error>(self, s: &'de str) -> Result<Scp<'de>, E> {
            Ok(Scp(Some(Strings::Spaced(Cow::Borrowed(s)))))
        }
        fn visit_str<E: de::Error>(self, s: &str) -> Result<Scp<'de>, E> {
            Ok(Scp(Some(Strings::Spaced(Cow::Owned(s.to_owned())))))
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Scp<'de>, A::Error> {
            let mut scopes = Vec::new();
            while let Some(StringClaim(item)) = seq.next_element()? {
                scopes.extend(item.valid());
            }
            Ok(Scp(Some(Strings::List(scopes))))
        }
        invalid_for!(Scp(None); bool);
        invalid_for!(Scp(None); numbers);
        invalid_for!(Scp(None); null);
        invalid_for!(Scp(None); map);
    }
);

/// A member name inside `cnf`.
struct CnfMember(bool);

impl<'de> Deserialize<'de> for CnfMember {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = CnfMember;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a confirmation method")
            }
            fn visit_str<E: de::Error>(self, name: &str) -> Result<CnfMember, E> {
                Ok(CnfMember(name == "jkt"))
            }
        }
        deserializer.deserialize_str(V)
    }
}

// RFC 7800 §3.1 / RFC 9449 §6.1: `cnf` is an object; its `jkt` must be a
// string for the token to count as bound to a key this resource can check.
claim_reader!(
    Confirmation<'de>,
    Claim<Cow<'de, str>>,
    "a confirmation object",
    {
        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Confirmation<'de>, A::Error> {
            let mut jkt = Claim::Invalid;
            while let Some(CnfMember(is_jkt)) = map.next_key()? {
                if is_jkt {
                    jkt = match map.next_value::<StringClaim>()?.0 {
                        Claim::Valid(jkt) => Claim::Valid(jkt),
                        Claim::Absent | Claim::Invalid => Claim::Invalid,
                    };
                } else {
                    map.next_value::<StrictAny>()?;
                }
            }
            Ok(Confirmation(jkt))
        }
        invalid_for!(Confirmation(Claim::Invalid); bool);
        invalid_for!(Confirmation(Claim::Invalid); numbers);
        invalid_for!(Confirmation(Claim::Invalid); str);
        invalid_for!(Confirmation(Claim::Invalid); null);
        invalid_for!(Confirmation(Claim::Invalid); seq);
    }
);

/// Judges a `cnf` member already read into a JSON value (an introspection
/// response, RFC 7662 §2.2) by the rule of [`ClaimSet::cnf_jkt`]: valid only
/// as an object with a string `jkt`.
#[cfg(feature = "fetch")]
pub(crate) fn confirmation(cnf: &serde_json::Value) -> Claim<Cow<'_, str>> {
    Confirmation::deserialize(cnf).map_or(Claim::Invalid, |c| c.0)
}

/// Reads a claims set's JSON text.
pub(crate) fn parse(json: &str) -> Result<ClaimSet<'_>, serde_json::Error> {
    serde_json::from_str(json)
}

#[cfg(test)]
mod tests {
    use serde_json::{Map, Value, json};

    use super::*;

    fn read(value: &Value) -> ClaimSet<'static> {
        parse(Box::leak(value.to_string().into_boxed_str())).unwrap()
    }

    fn strings<'a>(strings: &'a Strings<Cow<'a, str>>) -> Vec<&'a str> {
        strings.iter(|s| &**s).collect()
    }

    #[test]
    fn reads_registered_claims_and_judges_types() {
        let set = read(&json!({
            "iss": "https://as", "aud": ["a", "b"], "exp": 10, "nbf": 1.5, "iat": 0,
            "sub": "alice", "client_id": "app", "scope": "read  write",
            "scp": ["x"], "cnf": {"jkt": "k", "x5t#S256": "t"}, "other": [1, {"a": null}]
        }));
        assert_eq!(set.iss, Claim::Valid("https://as".into()));
        assert_eq!(strings(&set.aud.clone().valid().unwrap()), ["a", "b"]);
        assert_eq!(set.exp, Claim::Valid(10));
        assert_eq!(set.nbf, Claim::Valid(1));
        assert_eq!(set.iat, Claim::Valid(0));
        assert_eq!(set.sub, Claim::Valid("alice".into()));
        assert_eq!(set.client_id, Claim::Valid("app".into()));
        assert_eq!(set.scope, Claim::Valid("read  write".into()));
        assert_eq!(strings(set.scp.as_ref().unwrap()), ["x"]);
        assert_eq!(set.cnf_jkt, Claim::Valid("k".into()));

        let set = read(&json!({
            "iss": 1, "aud": ["a", 2], "exp": -1, "nbf": null, "iat": "0",
            "sub": {}, "client_id": ["a"], "scope": ["read"], "scp": 5, "cnf": {"jkt": 1}
        }));
        assert_eq!(set.iss, Claim::Invalid);
        assert_eq!(set.aud, Claim::Invalid);
        assert_eq!(set.exp, Claim::Invalid);
        assert_eq!(set.nbf, Claim::Invalid);
        assert_eq!(set.iat, Claim::Invalid);
        assert_eq!(set.sub, Claim::Invalid);
        assert_eq!(set.client_id, Claim::Invalid);
        assert_eq!(set.scope, Claim::Invalid);
        assert_eq!(set.scp, None);
        assert_eq!(set.cnf_jkt, Claim::Invalid);

        for cnf in [
            json!("jkt"),
            json!({}),
            json!({"x5t#S256": "t"}),
            json!(null),
        ] {
            assert_eq!(
                read(&json!({ "cnf": cnf })).cnf_jkt,
                Claim::Invalid,
                "{cnf}"
            );
        }
        let set = read(&json!({}));
        assert_eq!(set.iss, Claim::Absent);
        assert_eq!(set.cnf_jkt, Claim::Absent);
        assert_eq!(
            read(&json!({"exp": 1e19})).exp,
            Claim::Valid(10_000_000_000_000_000_000)
        );
        assert_eq!(read(&json!({"exp": 2e19})).exp, Claim::Invalid);
        let scp = read(&json!({"scp": "a b"})).scp.unwrap();
        assert_eq!(strings(&scp), ["a", "b"]);
        let scp = read(&json!({"scp": ["a", 1, "b"]})).scp.unwrap();
        assert_eq!(strings(&scp), ["a", "b"]);
        // Strings without escapes are borrowed from the text.
        let set = parse(r#"{"iss":"plain","sub":"esc\u0061ped"}"#).unwrap();
        assert!(matches!(set.iss, Claim::Valid(Cow::Borrowed("plain"))));
        assert!(matches!(set.sub, Claim::Valid(Cow::Owned(ref s)) if s == "escaped"));
    }

    #[test]
    fn the_last_of_a_repeated_member_counts_as_in_a_map() {
        let text = r#"{"iss":"a","sub":"x","iss":"b","cnf":{"jkt":"k1","jkt":"k2"}}"#;
        let set = parse(text).unwrap();
        let map: Map<String, Value> = serde_json::from_str(text).unwrap();
        assert_eq!(set.iss, Claim::Valid("b".into()));
        assert_eq!(map["iss"], "b");
        assert_eq!(set.cnf_jkt, Claim::Valid("k2".into()));
        assert_eq!(map["cnf"]["jkt"], "k2");
    }

    #[test]
    fn refuses_what_a_json_value_refuses() {
        // Everything `Map<String, Value>` refuses, this refuses too, also in
        // members it does not read, so the kept text always parses later.
        for text in [
            "[1]",
            "\"s\"",
            "not json",
            "{",
            r#"{"a":1}x"#,
            r#"{"other":"\ud800"}"#,
            r#"{"other":1e999}"#,
            r#"{"other":[1,]}"#,
            r#"{"other":{"a":"\q"}}"#,
            r#"{"\udc00":1}"#,
            r#"{"iss":"\ud800"}"#,
        ] {
            assert!(parse(text).is_err(), "{text}");
            if text.starts_with('{') {
                assert!(
                    serde_json::from_str::<Map<String, Value>>(text).is_err(),
                    "{text}"
                );
            }
        }
        let escaped = r#"{"iss":"a\u00e9\n","x":"\ud83d\ude00"}"#;
        assert_eq!(
            parse(escaped).unwrap().iss,
            Claim::Valid("a\u{e9}\n".into())
        );
    }
}
