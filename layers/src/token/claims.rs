//! What a validated access token says: [`AccessClaims`], and the
//! [`Principal`] handlers usually want.

use std::borrow::Cow;
use std::fmt;
use std::sync::{Arc, OnceLock};

use serde_json::{Map, Value};

use super::claim_set::{ClaimSet, whole_seconds};
use super::text::{Strings, Text};

/// The claims of a validated access token (RFC 9068 §2.2, RFC 7662 §2.2).
///
/// The registered claims have accessors; every claim, as received, is
/// behind [`raw`](Self::raw). For a JWT access token the claims set is kept
/// as its JSON text ([`raw_json`](Self::raw_json)), the registered claims
/// are read from it where they stand, and it is parsed into a map only when
/// [`raw`](Self::raw) is first called.
///
/// Cheap to clone: the claims are shared, as they are with the
/// [`Principal`] made from them.
#[derive(Clone, Default)]
pub struct AccessClaims {
    inner: Arc<Claims>,
}

#[derive(Default)]
struct Claims {
    /// The JWT claims set's JSON text, which the spans of `Text`s point
    /// into (empty for claims given as a map).
    json: String,
    subject: Option<Text>,
    client_id: Option<Text>,
    scopes: Strings<Text>,
    audience: Strings<Text>,
    issuer: Option<Text>,
    expires_at: Option<u64>,
    cnf_jkt: Option<Text>,
    /// Every claim: parsed from `json` on first use, or given as such.
    raw: OnceLock<Map<String, Value>>,
}

/// A `NumericDate` (RFC 7519 §2) as whole seconds: fractions dropped,
/// negative values and other types `None`.
pub(crate) fn numeric_date(value: &Value) -> Option<u64> {
    let Value::Number(number) = value else {
        return None;
    };
    number
        .as_u64()
        .or_else(|| number.as_f64().and_then(whole_seconds))
}

impl AccessClaims {
    /// Reads the registered claims out of a JSON claims set. Members of the
    /// wrong type are ignored here; validators check what they require.
    /// `exp` is read as a `NumericDate` (RFC 7519 §2: fractions dropped).
    pub fn from_claims(raw: Map<String, Value>) -> Self {
        let owned = |value: &Value| value.as_str().map(|s| Text::Owned(s.into()));
        let string = |name: &str| raw.get(name).and_then(owned);
        let list = |items: &[Value]| Strings::List(items.iter().filter_map(owned).collect());
        let scopes = match (raw.get("scope"), raw.get("scp")) {
            (Some(Value::String(s)), _) | (_, Some(Value::String(s))) => {
                Strings::Spaced(Text::Owned(s.as_str().into()))
            }
            (_, Some(Value::Array(items))) => list(items),
            _ => Strings::default(),
        };
        let audience = match raw.get("aud") {
            Some(Value::String(a)) => Strings::One(Text::Owned(a.as_str().into())),
            Some(Value::Array(items)) => list(items),
            _ => Strings::default(),
        };
        let cnf_jkt = raw.get("cnf").and_then(|c| c.get("jkt")).and_then(owned);
        Self {
            inner: Arc::new(Claims {
                json: String::new(),
                subject: string("sub"),
                client_id: string("client_id"),
                scopes,
                audience,
                issuer: string("iss"),
                expires_at: raw.get("exp").and_then(numeric_date),
                cnf_jkt,
                raw: OnceLock::from(raw),
            }),
        }
    }

    fn claims(&self) -> &Claims {
        &self.inner
    }

    fn text<'a>(&'a self, text: Option<&'a Text>) -> Option<&'a str> {
        text.map(|text| text.get(&self.inner.json))
    }

    /// `sub`: the resource owner or client the token is about.
    pub fn subject(&self) -> Option<&str> {
        self.text(self.claims().subject.as_ref())
    }

    /// `client_id`: the client the token was issued to.
    pub fn client_id(&self) -> Option<&str> {
        self.text(self.claims().client_id.as_ref())
    }

    /// The granted scopes: `scope` split at spaces (RFC 6749 §3.3), or
    /// else `scp` (an array of strings, or a space-separated string).
    pub fn scopes(&self) -> impl Iterator<Item = &str> + Clone + '_ {
        let json = self.inner.json.as_str();
        self.inner.scopes.iter(move |text| text.get(json))
    }

    /// `aud`, a string or each string of an array.
    pub fn audience(&self) -> impl Iterator<Item = &str> + Clone + '_ {
        let json = self.inner.json.as_str();
        self.inner.audience.iter(move |text| text.get(json))
    }

    /// `iss`.
    pub fn issuer(&self) -> Option<&str> {
        self.text(self.claims().issuer.as_ref())
    }

    /// `exp`, Unix seconds.
    pub fn expires_at(&self) -> Option<u64> {
        self.claims().expires_at
    }

    /// `cnf.jkt`: the thumbprint of the DPoP key the token is bound to
    /// (RFC 9449 §6).
    pub fn cnf_jkt(&self) -> Option<&str> {
        self.text(self.claims().cnf_jkt.as_ref())
    }

    /// Every claim, as received.
    ///
    /// For a JWT access token this parses the claims set's JSON text on the
    /// first call and keeps the map for later calls (validation only reads
    /// the registered claims, so a request that never asks pays nothing). The
    /// validator has already checked that the text is a JSON object whose
    /// strings and numbers all parse; should it not parse anyway, the map is
    /// empty. A member that appears twice has its last value, as in
    /// [`serde_json::Map`].
    pub fn raw(&self) -> &Map<String, Value> {
        let claims = self.claims();
        claims
            .raw
            .get_or_init(|| serde_json::from_str(&claims.json).unwrap_or_default())
    }

    /// The claims set as the JSON text it was signed as, for claims from a
    /// JWT access token (`None` for claims from introspection or API keys).
    /// Deserialize your own typed struct from it to read private claims
    /// without building a map.
    pub fn raw_json(&self) -> Option<&str> {
        Some(self.inner.json.as_str()).filter(|json| !json.is_empty())
    }

    /// Whether the token grants `scope`.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.scopes().any(|s| s == scope)
    }

    /// The identity handlers see: these claims, shared.
    pub fn principal(&self) -> Principal {
        Principal {
            claims: self.clone(),
        }
    }
}

/// Claims read from a JWT claims set while its text is still borrowed;
/// [`with_text`](Self::with_text) hands them the text.
pub(crate) struct JwtClaims(Claims);

impl JwtClaims {
    /// The claims a JWT validator read and checked, from `set`, whose
    /// borrowed strings are slices of `json`, the claims set's JSON text,
    /// which it has checked parses as a JSON object.
    pub(crate) fn new(set: ClaimSet<'_>, json: &str) -> Self {
        let text = |value: Cow<'_, str>| Text::new(value, json);
        // `scope` wins over `scp`, as in `from_claims`.
        let scopes = match set.scope.valid() {
            Some(scope) => Strings::Spaced(text(scope)),
            None => set.scp.map(|scp| scp.map(text)).unwrap_or_default(),
        };
        Self(Claims {
            json: String::new(),
            subject: set.sub.valid().map(text),
            client_id: set.client_id.valid().map(text),
            scopes,
            audience: set.aud.valid().map(|aud| aud.map(text)).unwrap_or_default(),
            issuer: set.iss.valid().map(text),
            expires_at: set.exp.valid(),
            cnf_jkt: set.cnf_jkt.valid().map(text),
            raw: OnceLock::new(),
        })
    }

    /// The claims, with `json`: the text given to [`new`](Self::new).
    pub(crate) fn with_text(mut self, json: String) -> AccessClaims {
        self.0.json = json;
        AccessClaims {
            inner: Arc::new(self.0),
        }
    }
}

impl PartialEq for AccessClaims {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
            || (self.subject() == other.subject()
                && self.client_id() == other.client_id()
                && self.scopes().eq(other.scopes())
                && self.audience().eq(other.audience())
                && self.issuer() == other.issuer()
                && self.expires_at() == other.expires_at()
                && self.cnf_jkt() == other.cnf_jkt()
                && self.raw() == other.raw())
    }
}

impl Eq for AccessClaims {}

/// Lists the strings of an iterator in `Debug` output.
struct DebugList<I>(I);

impl<I: Iterator<Item = T> + Clone, T: fmt::Debug> fmt::Debug for DebugList<I> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list().entries(self.0.clone()).finish()
    }
}

impl fmt::Debug for AccessClaims {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AccessClaims")
            .field("subject", &self.subject())
            .field("client_id", &self.client_id())
            .field("scopes", &DebugList(self.scopes()))
            .field("audience", &DebugList(self.audience()))
            .field("issuer", &self.issuer())
            .field("expires_at", &self.expires_at())
            .field("cnf_jkt", &self.cnf_jkt())
            .field("raw", self.raw())
            .finish()
    }
}

/// Who is calling: inserted beside [`AccessClaims`] by the token validation
/// layer. It shares the token's claims, so it costs no copy.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Principal {
    claims: AccessClaims,
}

impl Principal {
    /// `sub`, or the client id for client-credentials tokens without one
    /// (empty when the token has neither).
    pub fn subject(&self) -> &str {
        self.claims
            .subject()
            .or_else(|| self.claims.client_id())
            .unwrap_or_default()
    }

    /// The OAuth client.
    pub fn client_id(&self) -> Option<&str> {
        self.claims.client_id()
    }

    /// The issuer that vouched for it.
    pub fn issuer(&self) -> Option<&str> {
        self.claims.issuer()
    }

    /// Granted scopes.
    pub fn scopes(&self) -> impl Iterator<Item = &str> + Clone + '_ {
        self.claims.scopes()
    }

    /// Whether `scope` was granted.
    pub fn has_scope(&self, scope: &str) -> bool {
        self.claims.has_scope(scope)
    }

    /// The claims of the token it came from.
    pub fn claims(&self) -> &AccessClaims {
        &self.claims
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Principal")
            .field("subject", &self.subject())
            .field("client_id", &self.client_id())
            .field("issuer", &self.issuer())
            .field("scopes", &DebugList(self.scopes()))
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn claims(json: serde_json::Value) -> AccessClaims {
        let Value::Object(map) = json else {
            unreachable!()
        };
        AccessClaims::from_claims(map)
    }

    fn from_jwt(json: &str) -> AccessClaims {
        let set = super::super::claim_set::parse(json).unwrap();
        JwtClaims::new(set, json).with_text(json.to_owned())
    }

    #[test]
    fn reads_registered_claims() {
        let c = claims(serde_json::json!({
            "sub": "alice", "client_id": "app", "scope": "read  write", "aud": "https://r",
            "iss": "https://as", "exp": 1_700_000_000u64, "cnf": {"jkt": "abc"}
        }));
        assert_eq!(c.subject(), Some("alice"));
        assert!(c.scopes().eq(["read", "write"]));
        assert!(c.audience().eq(["https://r"]));
        assert_eq!(c.cnf_jkt(), Some("abc"));
        assert_eq!(c.expires_at(), Some(1_700_000_000));
        assert!(c.has_scope("write"));
        assert_eq!(c.principal().subject(), "alice");
        assert_eq!(c.raw_json(), None);
    }

    #[test]
    fn reads_scp_arrays_and_audience_lists() {
        let c =
            claims(serde_json::json!({"scp": ["a", "b"], "aud": ["x", "y"], "client_id": "svc"}));
        assert!(c.scopes().eq(["a", "b"]));
        assert!(c.audience().eq(["x", "y"]));
        assert_eq!(c.principal().subject(), "svc");
        assert_eq!(c.principal().client_id(), Some("svc"));
        assert_eq!(
            claims(serde_json::json!({"exp": 10.9})).expires_at(),
            Some(10)
        );
        assert_eq!(claims(serde_json::json!({"exp": -1})).expires_at(), None);
    }

    #[test]
    fn jwt_claims_read_from_the_text_as_from_a_map() {
        for json in [
            r#"{"sub":"alice","client_id":"app","scope":"read  write","aud":"https://r","iss":"https://as","exp":1700000000,"cnf":{"jkt":"abc"}}"#,
            r#"{"sub":"al\u0069ce","scp":["a","b\n"],"aud":["x","y"],"iss":"\u00e9"}"#,
            r#"{"scp":"a b","scope":5}"#,
            r#"{"scope":"s","scp":["t"],"aud":[]}"#,
            "{}",
        ] {
            let map: Map<String, Value> = serde_json::from_str(json).unwrap();
            let from_map = AccessClaims::from_claims(map);
            let from_jwt = from_jwt(json);
            assert_eq!(from_jwt, from_map, "{json}");
            assert_eq!(from_jwt.raw_json(), Some(json));
            assert_eq!(format!("{from_jwt:?}"), format!("{from_map:?}"));
            assert_eq!(from_jwt.principal(), from_map.principal());
        }
        let c = from_jwt(r#"{"sub":"al\u0069ce","aud":"a b"}"#);
        assert_eq!(c.subject(), Some("alice"));
        assert!(c.audience().eq(["a b"]));
    }

    /// A claim string: ASCII, quotes, backslashes, control characters and
    /// non-ASCII, so serialized claims have escapes as well as plain text.
    fn claim_string() -> impl proptest::strategy::Strategy<Value = String> {
        proptest::prop_oneof![
            "[a-z:/. ]{0,12}",
            proptest::collection::vec(
                proptest::prop_oneof![
                    proptest::char::range('a', 'z'),
                    proptest::sample::select(vec![' ', '"', '\\', '\n', '\u{1}', 'é', '😀']),
                ],
                0..12
            )
            .prop_map(|chars| chars.into_iter().collect()),
        ]
    }

    fn strings_value() -> impl proptest::strategy::Strategy<Value = Value> {
        proptest::prop_oneof![
            claim_string().prop_map(Value::from),
            proptest::collection::vec(claim_string(), 0..4).prop_map(Value::from),
        ]
    }

    fn any_value() -> impl proptest::strategy::Strategy<Value = Value> {
        proptest::prop_oneof![
            strings_value(),
            proptest::num::u32::ANY.prop_map(Value::from),
            proptest::bool::ANY.prop_map(Value::from),
            proptest::strategy::Just(Value::Null),
        ]
    }

    use proptest::strategy::Strategy as _;

    proptest::proptest! {
        /// Claims a validator accepts read the same from the JWT text
        /// (spans of it where strings have no escapes) as from a map.
        #[test]
        fn jwt_text_and_map_agree(
            sub in proptest::option::of(claim_string()),
            client_id in proptest::option::of(claim_string()),
            iss in proptest::option::of(claim_string()),
            scope in proptest::option::of(claim_string()),
            scp in proptest::option::of(strings_value()),
            aud in proptest::option::of(strings_value()),
            jkt in proptest::option::of(claim_string()),
            exp in proptest::option::of(proptest::num::u32::ANY),
            other in proptest::collection::btree_map("[a-z_]{1,6}", any_value(), 0..4),
        ) {
            let mut map = Map::new();
            for (name, value) in other {
                map.insert(name, value);
            }
            let registered = [
                ("sub", sub.map(Value::from)),
                ("client_id", client_id.map(Value::from)),
                ("iss", iss.map(Value::from)),
                ("scope", scope.map(Value::from)),
                ("scp", scp),
                ("aud", aud),
                ("cnf", jkt.map(|jkt| serde_json::json!({ "jkt": jkt }))),
                ("exp", exp.map(Value::from)),
            ];
            for (name, value) in registered {
                match value {
                    Some(value) => map.insert(name.to_owned(), value),
                    None => map.remove(name),
                };
            }
            let json = Value::Object(map.clone()).to_string();
            let from_jwt = from_jwt(&json);
            let from_map = AccessClaims::from_claims(map);
            proptest::prop_assert_eq!(from_jwt.subject(), from_map.subject());
            proptest::prop_assert_eq!(from_jwt.client_id(), from_map.client_id());
            proptest::prop_assert_eq!(from_jwt.issuer(), from_map.issuer());
            proptest::prop_assert_eq!(from_jwt.cnf_jkt(), from_map.cnf_jkt());
            proptest::prop_assert_eq!(from_jwt.expires_at(), from_map.expires_at());
            proptest::prop_assert!(from_jwt.scopes().eq(from_map.scopes()));
            proptest::prop_assert!(from_jwt.audience().eq(from_map.audience()));
            proptest::prop_assert_eq!(&from_jwt, &from_map);
            proptest::prop_assert_eq!(from_jwt.principal(), from_map.principal());
        }
    }

    #[test]
    fn principals_share_the_claims() {
        let c = from_jwt(r#"{"sub":"alice","iss":"https://as","scope":"a"}"#);
        let p = c.principal();
        assert!(std::ptr::eq(p.claims(), p.claims()));
        assert!(Arc::ptr_eq(&p.claims().inner, &c.inner));
        assert_eq!(p.issuer(), Some("https://as"));
        assert!(p.has_scope("a"));
        assert_eq!(
            format!("{p:?}"),
            r#"Principal { subject: "alice", client_id: None, issuer: Some("https://as"), scopes: ["a"] }"#
        );
        assert_eq!(Principal::default().subject(), "");
    }
}
