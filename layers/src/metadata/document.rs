//! The metadata document and its validating builder (RFC 9728 §2, §3.1).

use std::fmt;
use std::sync::Arc;

use http::Uri;
use serde::Serialize;

use super::WELL_KNOWN_PATH;
use super::signed;
use crate::config::ConfigError;
use crate::keys::DpopKey;

/// The members of the document other than `signed_metadata`, in the order of
/// RFC 9728 §2. These are also the claims of the signed metadata.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub(super) struct Members {
    pub(super) resource: String,
    pub(super) authorization_servers: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) jwks_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) scopes_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) bearer_methods_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) resource_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) resource_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) resource_documentation: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) resource_policy_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) resource_tos_uri: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) tls_client_certificate_bound_access_tokens: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) dpop_signing_alg_values_supported: Option<Vec<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(super) dpop_bound_access_tokens_required: Option<bool>,
}

/// Where the document is served (RFC 9728 §3.1).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct WellKnown {
    /// `/.well-known/oauth-protected-resource` followed by the resource's path.
    pub(super) path: String,
    /// The resource's query, which the well-known URL keeps.
    pub(super) query: Option<String>,
    /// The complete URL.
    pub(super) url: String,
}

/// An OAuth 2.0 Protected Resource Metadata document (RFC 9728 §2), valid by
/// construction: build it with [`ProtectedResourceMetadata::builder`].
///
/// It serializes (with serde) to the JSON document: the registered member
/// names, absent members omitted. The JSON text is also computed once, at
/// build time: [`as_json`](Self::as_json).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ProtectedResourceMetadata {
    #[serde(flatten)]
    members: Members,
    #[serde(skip_serializing_if = "Option::is_none")]
    signed_metadata: Option<String>,
    #[serde(skip)]
    well_known: WellKnown,
    #[serde(skip)]
    json: String,
}

impl ProtectedResourceMetadata {
    /// Starts a document for the protected resource identified by `resource`
    /// (RFC 9728 §2): the URL clients use to reach it, for MCP the server's
    /// endpoint (e.g. `https://mcp.example.com/mcp`), compared character for
    /// character by clients (RFC 9728 §3.3).
    pub fn builder(resource: impl Into<String>) -> ProtectedResourceMetadataBuilder {
        ProtectedResourceMetadataBuilder {
            members: Members {
                resource: resource.into(),
                ..Members::default()
            },
            signer: None,
            kid: None,
        }
    }

    /// The URL of this document: the resource's origin, then
    /// `/.well-known/oauth-protected-resource`, then the resource's path and
    /// query (RFC 9728 §3.1). Give it to
    /// [`ChallengeConfig::resource_metadata`](crate::challenge::ChallengeConfig::resource_metadata)
    /// so every 401 points at it (RFC 9728 §5.1).
    pub fn url(&self) -> &str {
        &self.well_known.url
    }

    /// The path part of [`url`](Self::url), where the services answer.
    pub fn well_known_path(&self) -> &str {
        &self.well_known.path
    }

    /// The query of [`url`](Self::url) (the resource's query), if any.
    pub(super) fn well_known_query(&self) -> Option<&str> {
        self.well_known.query.as_deref()
    }

    /// The document as JSON text, as served.
    pub fn as_json(&self) -> &str {
        &self.json
    }

    /// `resource`: the protected resource's identifier.
    pub fn resource(&self) -> &str {
        &self.members.resource
    }

    /// `authorization_servers`: issuer identifiers of the authorization
    /// servers that protect the resource.
    pub fn authorization_servers(&self) -> &[String] {
        &self.members.authorization_servers
    }

    /// `jwks_uri`: the URL of the resource's JWK Set.
    pub fn jwks_uri(&self) -> Option<&str> {
        self.members.jwks_uri.as_deref()
    }

    /// `scopes_supported`.
    pub fn scopes_supported(&self) -> Option<&[String]> {
        self.members.scopes_supported.as_deref()
    }

    /// `bearer_methods_supported`: `header` and/or `body`.
    pub fn bearer_methods_supported(&self) -> Option<&[String]> {
        self.members.bearer_methods_supported.as_deref()
    }

    /// `resource_signing_alg_values_supported`.
    pub fn resource_signing_alg_values_supported(&self) -> Option<&[String]> {
        self.members
            .resource_signing_alg_values_supported
            .as_deref()
    }

    /// `resource_name`: a human-readable name.
    pub fn resource_name(&self) -> Option<&str> {
        self.members.resource_name.as_deref()
    }

    /// `resource_documentation`: a URL of documentation for developers.
    pub fn resource_documentation(&self) -> Option<&str> {
        self.members.resource_documentation.as_deref()
    }

    /// `resource_policy_uri`: a URL of the data usage policy.
    pub fn resource_policy_uri(&self) -> Option<&str> {
        self.members.resource_policy_uri.as_deref()
    }

    /// `resource_tos_uri`: a URL of the terms of service.
    pub fn resource_tos_uri(&self) -> Option<&str> {
        self.members.resource_tos_uri.as_deref()
    }

    /// `tls_client_certificate_bound_access_tokens` (RFC 8705).
    pub fn tls_client_certificate_bound_access_tokens(&self) -> Option<bool> {
        self.members.tls_client_certificate_bound_access_tokens
    }

    /// `dpop_signing_alg_values_supported` (RFC 9449 §5.1).
    pub fn dpop_signing_alg_values_supported(&self) -> Option<&[String]> {
        self.members.dpop_signing_alg_values_supported.as_deref()
    }

    /// `dpop_bound_access_tokens_required` (RFC 9449 §5.1).
    pub fn dpop_bound_access_tokens_required(&self) -> Option<bool> {
        self.members.dpop_bound_access_tokens_required
    }

    /// `signed_metadata` (RFC 9728 §2.2): a compact JWT whose claims are the
    /// other members plus `iss`.
    pub fn signed_metadata(&self) -> Option<&str> {
        self.signed_metadata.as_deref()
    }
}

/// Builds a [`ProtectedResourceMetadata`]; [`build`](Self::build) validates.
///
/// List setters replace any list set before; a list that is set must not be
/// empty nor hold the same entry twice.
#[derive(Debug, Clone)]
pub struct ProtectedResourceMetadataBuilder {
    members: Members,
    signer: Option<(Arc<DpopKey>, String)>,
    kid: Option<String>,
}

fn strings<I>(values: I) -> Vec<String>
where
    I: IntoIterator,
    I::Item: Into<String>,
{
    values.into_iter().map(Into::into).collect()
}

impl ProtectedResourceMetadataBuilder {
    /// Adds one authorization server issuer identifier (an `https` URL
    /// without query or fragment, RFC 8414 §2).
    #[must_use]
    pub fn authorization_server(mut self, issuer: impl Into<String>) -> Self {
        self.members.authorization_servers.push(issuer.into());
        self
    }

    /// `authorization_servers`: the issuer identifiers of the authorization
    /// servers that protect the resource. The MCP authorization specification
    /// requires at least one.
    #[must_use]
    pub fn authorization_servers<I>(mut self, issuers: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.members.authorization_servers = strings(issuers);
        self
    }

    /// `jwks_uri`: the URL of the resource's JWK Set (RFC 9728 §2).
    #[must_use]
    pub fn jwks_uri(mut self, url: impl Into<String>) -> Self {
        self.members.jwks_uri = Some(url.into());
        self
    }

    /// `scopes_supported`: scope values (RFC 6749 §3.3 syntax) used in
    /// requests to the resource.
    #[must_use]
    pub fn scopes_supported<I>(mut self, scopes: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.members.scopes_supported = Some(strings(scopes));
        self
    }

    /// `bearer_methods_supported`: `header` (RFC 6750 §2.1) and/or `body`
    /// (§2.2). `query` (§2.3) is refused: the MCP authorization specification
    /// forbids access tokens in the URI. Note that
    /// [`BearerLayer`](crate::bearer::BearerLayer) reads only the header.
    #[must_use]
    pub fn bearer_methods_supported<I>(mut self, methods: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        self.members.bearer_methods_supported = Some(strings(methods));
        self
    }

    /// `resource_signing_alg_values_supported`: JWS algorithms the resource
    /// signs responses with, such as `"ES256"` or an
    /// [`Algorithm`](crate::jose::Algorithm); `none` is refused (RFC 9728 §2).
    #[must_use]
    pub fn resource_signing_alg_values_supported<I>(mut self, algs: I) -> Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        self.members.resource_signing_alg_values_supported =
            Some(algs.into_iter().map(|a| a.to_string()).collect());
        self
    }

    /// `resource_name`: a human-readable name for end users.
    #[must_use]
    pub fn resource_name(mut self, name: impl Into<String>) -> Self {
        self.members.resource_name = Some(name.into());
        self
    }

    /// `resource_documentation`: a URL of documentation for developers.
    #[must_use]
    pub fn resource_documentation(mut self, url: impl Into<String>) -> Self {
        self.members.resource_documentation = Some(url.into());
        self
    }

    /// `resource_policy_uri`: a URL of the resource's data usage policy.
    #[must_use]
    pub fn resource_policy_uri(mut self, url: impl Into<String>) -> Self {
        self.members.resource_policy_uri = Some(url.into());
        self
    }

    /// `resource_tos_uri`: a URL of the resource's terms of service.
    #[must_use]
    pub fn resource_tos_uri(mut self, url: impl Into<String>) -> Self {
        self.members.resource_tos_uri = Some(url.into());
        self
    }

    /// `tls_client_certificate_bound_access_tokens`: whether the resource
    /// supports mutual-TLS bound access tokens (RFC 8705).
    #[must_use]
    pub fn tls_client_certificate_bound_access_tokens(mut self, supported: bool) -> Self {
        self.members.tls_client_certificate_bound_access_tokens = Some(supported);
        self
    }

    /// `dpop_signing_alg_values_supported`: the algorithms accepted for DPoP
    /// proofs (RFC 9449 §5.1), such as [`Algorithm`](crate::jose::Algorithm)
    /// values or `"ES256"`; `none` and symmetric algorithms are refused
    /// (RFC 9449 §4.2).
    #[must_use]
    pub fn dpop_signing_alg_values_supported<I>(mut self, algs: I) -> Self
    where
        I: IntoIterator,
        I::Item: fmt::Display,
    {
        self.members.dpop_signing_alg_values_supported =
            Some(algs.into_iter().map(|a| a.to_string()).collect());
        self
    }

    /// `dpop_bound_access_tokens_required`: whether the resource always
    /// requires DPoP-bound access tokens (RFC 9449 §5.1).
    #[must_use]
    pub fn dpop_bound_access_tokens_required(mut self, required: bool) -> Self {
        self.members.dpop_bound_access_tokens_required = Some(required);
        self
    }

    /// Adds `signed_metadata` (RFC 9728 §2.2): a JWT signed with `key`, header
    /// `{"alg":..,"typ":"JWT"}`, whose claims are the other members plus
    /// `iss` = `issuer`, the party attesting to them. Signed at
    /// [`build`](Self::build) time, over the final members.
    #[must_use]
    pub fn sign_with(mut self, key: impl Into<Arc<DpopKey>>, issuer: impl Into<String>) -> Self {
        self.signer = Some((key.into(), issuer.into()));
        self
    }

    /// A `kid` header for the signed metadata, so verifiers can pick the key
    /// from the issuer's JWK Set. Needs [`sign_with`](Self::sign_with).
    #[must_use]
    pub fn signing_key_id(mut self, kid: impl Into<String>) -> Self {
        self.kid = Some(kid.into());
        self
    }

    /// Validates the document, signs it if asked, and computes its JSON.
    ///
    /// Refused: a `resource` that is not an absolute `https` URL (plain
    /// `http` only on loopback hosts) or that has a fragment (RFC 9728 §2);
    /// no authorization server (MCP); URLs that are not absolute `https`
    /// (or loopback `http`), carry user info (RFC 9110 §4.2.4), or, for
    /// authorization servers, a query or fragment (RFC 8414 §2); empty lists
    /// and duplicate entries; scopes outside RFC 6749 §3.3 syntax; bearer
    /// methods other than `header`/`body`; the `none` algorithm, and
    /// symmetric algorithms for DPoP; an empty `resource_name`; a `kid` or
    /// an empty issuer for the signature; a signing failure.
    pub fn build(self) -> Result<ProtectedResourceMetadata, ConfigError> {
        let m = &self.members;
        let resource = check_url(
            "resource",
            &m.resource,
            UrlRules {
                fragment: false,
                query: true,
            },
        )?;
        if resource.query().is_some() {
            tracing::warn!(
                target: "mcp_tower::metadata",
                "the resource identifier has a query component, which RFC 9728 §2 discourages"
            );
        }

        if m.authorization_servers.is_empty() {
            return Err(ConfigError::new(
                "authorization_servers",
                "at least one authorization server is required (MCP authorization: the protected resource metadata must list its authorization servers)",
            ));
        }
        check_unique("authorization_servers", &m.authorization_servers)?;
        for issuer in &m.authorization_servers {
            check_url("authorization_servers", issuer, UrlRules::ISSUER)?;
        }

        if let Some(url) = &m.jwks_uri {
            check_url("jwks_uri", url, UrlRules::FETCHED)?;
        }
        if let Some(scopes) = &m.scopes_supported {
            check_list("scopes_supported", scopes)?;
            for scope in scopes {
                check_scope(scope)?;
            }
        }
        if let Some(methods) = &m.bearer_methods_supported {
            check_list("bearer_methods_supported", methods)?;
            for method in methods {
                check_bearer_method(method)?;
            }
        }
        if let Some(algs) = &m.resource_signing_alg_values_supported {
            check_algs("resource_signing_alg_values_supported", algs, false)?;
        }
        if let Some(name) = &m.resource_name {
            if name.trim().is_empty() || name.chars().any(char::is_control) {
                return Err(ConfigError::new(
                    "resource_name",
                    "must be a non-empty human-readable name without control characters",
                ));
            }
        }
        for (setting, url) in [
            ("resource_documentation", &m.resource_documentation),
            ("resource_policy_uri", &m.resource_policy_uri),
            ("resource_tos_uri", &m.resource_tos_uri),
        ] {
            if let Some(url) = url {
                check_url(setting, url, UrlRules::PAGE)?;
            }
        }
        if let Some(algs) = &m.dpop_signing_alg_values_supported {
            check_algs("dpop_signing_alg_values_supported", algs, true)?;
        }

        let signed_metadata = match (&self.signer, &self.kid) {
            (Some((key, issuer)), kid) => {
                if issuer.trim().is_empty() || issuer.chars().any(char::is_control) {
                    return Err(ConfigError::new(
                        "signed_metadata",
                        "the issuer (iss) must be a non-empty identifier without control characters",
                    ));
                }
                if kid.as_ref().is_some_and(String::is_empty) {
                    return Err(ConfigError::new(
                        "signed_metadata",
                        "the key id (kid) must not be empty",
                    ));
                }
                Some(signed::sign(&self.members, key, issuer, kid.as_deref())?)
            }
            (None, Some(_)) => {
                return Err(ConfigError::new(
                    "signed_metadata",
                    "a key id (kid) was given without a signing key: call sign_with",
                ));
            }
            (None, None) => None,
        };

        let well_known = well_known(&resource);
        let mut document = ProtectedResourceMetadata {
            members: self.members,
            signed_metadata,
            well_known,
            json: String::new(),
        };
        document.json = serde_json::to_string(&document).map_err(|e| {
            ConfigError::new("metadata", format!("cannot serialize the document: {e}"))
        })?;
        Ok(document)
    }
}

/// Which URL components a member may have.
#[derive(Clone, Copy)]
struct UrlRules {
    fragment: bool,
    query: bool,
}

impl UrlRules {
    /// Issuer identifiers: no query, no fragment (RFC 8414 §2).
    const ISSUER: Self = Self {
        fragment: false,
        query: false,
    };
    /// Documents fetched by programs (`jwks_uri`): a fragment means nothing.
    const FETCHED: Self = Self {
        fragment: false,
        query: true,
    };
    /// Pages for people: anything.
    const PAGE: Self = Self {
        fragment: true,
        query: true,
    };
}

/// Parses and checks a URL member: absolute, `https` (or `http` on a
/// loopback host), a host, no user info, and the components `rules` allow.
fn check_url(setting: &'static str, url: &str, rules: UrlRules) -> Result<Uri, ConfigError> {
    // `http::Uri` drops a fragment silently, so look for it first.
    if url.contains('#') && !rules.fragment {
        return Err(ConfigError::new(
            setting,
            format!(
                "{url:?} must not have a fragment (RFC 9728 §2 for the resource, RFC 8414 §2 for issuers)"
            ),
        ));
    }
    let uri: Uri = url
        .parse()
        .map_err(|_| ConfigError::new(setting, format!("{url:?} is not a valid absolute URL")))?;
    let host = uri.host().unwrap_or_default();
    match uri.scheme_str() {
        Some("https") if !host.is_empty() => {}
        Some("http") if is_loopback(host) => {}
        Some("http") => {
            return Err(ConfigError::new(
                setting,
                format!("{url:?} must use https (plain http is allowed only for loopback hosts)"),
            ));
        }
        _ => {
            return Err(ConfigError::new(
                setting,
                format!("{url:?} must be an absolute https URL"),
            ));
        }
    }
    if uri.authority().is_some_and(|a| a.as_str().contains('@')) {
        return Err(ConfigError::new(
            setting,
            format!("{url:?} must not carry user info (RFC 9110 §4.2.4)"),
        ));
    }
    if uri.query().is_some() && !rules.query {
        return Err(ConfigError::new(
            setting,
            format!("{url:?} must not have a query (RFC 8414 §2)"),
        ));
    }
    Ok(uri)
}

/// Whether `host` (as in a URL, IPv6 in brackets) is `localhost`,
/// 127.0.0.0/8 or `::1`.
fn is_loopback(host: &str) -> bool {
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// The well-known URL of `resource` (RFC 9728 §3.1): the well-known path goes
/// between the host and the path; a path that is just `/` is dropped.
fn well_known(resource: &Uri) -> WellKnown {
    let path = match resource.path() {
        "/" | "" => WELL_KNOWN_PATH.to_owned(),
        p => format!("{WELL_KNOWN_PATH}{p}"),
    };
    let query = resource.query().map(str::to_owned);
    let mut url = format!(
        "{}://{}{path}",
        resource.scheme_str().unwrap_or("https"),
        resource.authority().map_or("", |a| a.as_str()),
    );
    if let Some(q) = &query {
        url.push('?');
        url.push_str(q);
    }
    WellKnown { path, query, url }
}

/// A list that is present must not be empty nor repeat an entry.
fn check_list(setting: &'static str, values: &[String]) -> Result<(), ConfigError> {
    if values.is_empty() {
        return Err(ConfigError::new(
            setting,
            "must not be an empty list: leave it unset instead",
        ));
    }
    check_unique(setting, values)
}

fn check_unique(setting: &'static str, values: &[String]) -> Result<(), ConfigError> {
    for (i, value) in values.iter().enumerate() {
        if values[..i].contains(value) {
            return Err(ConfigError::new(
                setting,
                format!("{value:?} is listed twice"),
            ));
        }
    }
    Ok(())
}

/// RFC 6749 §3.3: `scope-token = 1*( %x21 / %x23-5B / %x5D-7E )`.
fn check_scope(scope: &str) -> Result<(), ConfigError> {
    let valid = !scope.is_empty()
        && scope
            .bytes()
            .all(|b| matches!(b, 0x21 | 0x23..=0x5B | 0x5D..=0x7E));
    if valid {
        Ok(())
    } else {
        Err(ConfigError::new(
            "scopes_supported",
            format!(
                "{scope:?} is not a scope token (RFC 6749 §3.3: printable ASCII without spaces, '\"' or '\\')"
            ),
        ))
    }
}

/// RFC 9728 §2 defines `header`, `body` and `query`; MCP forbids `query`.
fn check_bearer_method(method: &str) -> Result<(), ConfigError> {
    match method {
        "header" | "body" => Ok(()),
        "query" => Err(ConfigError::new(
            "bearer_methods_supported",
            "\"query\" is not allowed: the MCP authorization specification forbids access tokens in the URI query string; use \"header\"",
        )),
        other => Err(ConfigError::new(
            "bearer_methods_supported",
            format!(
                "{other:?} is not a bearer method: expected \"header\" or \"body\" (RFC 9728 §2)"
            ),
        )),
    }
}

/// JWS `alg` names: non-empty tokens, never `none` (RFC 9728 §2); for DPoP
/// never a MAC algorithm either (RFC 9449 §4.2).
fn check_algs(setting: &'static str, algs: &[String], dpop: bool) -> Result<(), ConfigError> {
    check_list(setting, algs)?;
    for alg in algs {
        if alg.is_empty() || !alg.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ConfigError::new(
                setting,
                format!("{alg:?} is not a JWS algorithm name"),
            ));
        }
        if alg.eq_ignore_ascii_case("none") {
            return Err(ConfigError::new(
                setting,
                "\"none\" is not allowed: the JWS must be signed (RFC 9728 §2, RFC 9449 §4.2)",
            ));
        }
        if dpop && matches!(alg.as_str(), "HS256" | "HS384" | "HS512") {
            return Err(ConfigError::new(
                setting,
                format!(
                    "{alg:?} is symmetric: DPoP proofs need an asymmetric algorithm (RFC 9449 §4.2)"
                ),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::jose::{Algorithm, b64};

    const RESOURCE: &str = "https://r.example/mcp";
    const AS: &str = "https://as.example";

    fn base() -> ProtectedResourceMetadataBuilder {
        ProtectedResourceMetadata::builder(RESOURCE).authorization_server(AS)
    }

    fn refused(builder: ProtectedResourceMetadataBuilder, setting: &str) -> String {
        let error = builder.build().unwrap_err();
        assert_eq!(error.setting(), setting, "{error}");
        error.to_string()
    }

    #[test]
    fn minimal_document_golden_json() {
        let metadata = base().build().unwrap();
        assert_eq!(
            metadata.as_json(),
            r#"{"resource":"https://r.example/mcp","authorization_servers":["https://as.example"]}"#
        );
        assert_eq!(
            serde_json::to_string(&metadata).unwrap(),
            metadata.as_json()
        );
        assert_eq!(metadata.signed_metadata(), None);
    }

    #[test]
    fn full_document_golden_json() {
        let metadata = base()
            .authorization_server("https://as2.example/tenant")
            .jwks_uri("https://r.example/jwks.json")
            .scopes_supported(["tools:read", "tools:call"])
            .bearer_methods_supported(["header"])
            .resource_signing_alg_values_supported(["RS256", "ES256"])
            .resource_name("Example MCP server")
            .resource_documentation("https://r.example/docs#auth")
            .resource_policy_uri("https://r.example/policy")
            .resource_tos_uri("https://r.example/tos")
            .tls_client_certificate_bound_access_tokens(false)
            .dpop_signing_alg_values_supported([Algorithm::ES256, Algorithm::PS256])
            .dpop_bound_access_tokens_required(true)
            .build()
            .unwrap();
        let expected = concat!(
            r#"{"resource":"https://r.example/mcp","#,
            r#""authorization_servers":["https://as.example","https://as2.example/tenant"],"#,
            r#""jwks_uri":"https://r.example/jwks.json","#,
            r#""scopes_supported":["tools:read","tools:call"],"#,
            r#""bearer_methods_supported":["header"],"#,
            r#""resource_signing_alg_values_supported":["RS256","ES256"],"#,
            r#""resource_name":"Example MCP server","#,
            r#""resource_documentation":"https://r.example/docs#auth","#,
            r#""resource_policy_uri":"https://r.example/policy","#,
            r#""resource_tos_uri":"https://r.example/tos","#,
            r#""tls_client_certificate_bound_access_tokens":false,"#,
            r#""dpop_signing_alg_values_supported":["ES256","PS256"],"#,
            r#""dpop_bound_access_tokens_required":true}"#,
        );
        assert_eq!(metadata.as_json(), expected);
        assert_eq!(metadata.scopes_supported().unwrap().len(), 2);
        assert_eq!(metadata.dpop_bound_access_tokens_required(), Some(true));
        assert_eq!(metadata.resource_name(), Some("Example MCP server"));
    }

    fn url_of(resource: &str) -> String {
        ProtectedResourceMetadata::builder(resource)
            .authorization_server(AS)
            .build()
            .unwrap()
            .url()
            .to_owned()
    }

    #[test]
    fn well_known_url_inserts_the_path_rfc9728_3_1() {
        // RFC 9728 §3.1 example.
        assert_eq!(
            url_of("https://resource.example.com/resource1"),
            "https://resource.example.com/.well-known/oauth-protected-resource/resource1"
        );
        assert_eq!(
            url_of("https://r.example/mcp"),
            "https://r.example/.well-known/oauth-protected-resource/mcp"
        );
        // Root resource, with and without the terminating slash.
        assert_eq!(
            url_of("https://r.example"),
            "https://r.example/.well-known/oauth-protected-resource"
        );
        assert_eq!(
            url_of("https://r.example/"),
            "https://r.example/.well-known/oauth-protected-resource"
        );
        // A trailing slash after a path is part of the path.
        assert_eq!(
            url_of("https://r.example/mcp/"),
            "https://r.example/.well-known/oauth-protected-resource/mcp/"
        );
        assert_eq!(
            url_of("https://r.example/a/b"),
            "https://r.example/.well-known/oauth-protected-resource/a/b"
        );
        // Port and query are kept; the slash before a query is dropped.
        assert_eq!(
            url_of("https://r.example:8443/mcp?tenant=1"),
            "https://r.example:8443/.well-known/oauth-protected-resource/mcp?tenant=1"
        );
        assert_eq!(
            url_of("https://r.example/?tenant=1"),
            "https://r.example/.well-known/oauth-protected-resource?tenant=1"
        );
        assert_eq!(
            url_of("http://127.0.0.1:8080/mcp"),
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"
        );
        let metadata = base().build().unwrap();
        assert_eq!(
            metadata.well_known_path(),
            "/.well-known/oauth-protected-resource/mcp"
        );
    }

    #[test]
    fn resource_must_be_https_or_loopback_http() {
        refused(
            ProtectedResourceMetadata::builder("http://r.example/mcp").authorization_server(AS),
            "resource",
        );
        refused(
            ProtectedResourceMetadata::builder("/mcp").authorization_server(AS),
            "resource",
        );
        refused(
            ProtectedResourceMetadata::builder("ftp://r.example/mcp").authorization_server(AS),
            "resource",
        );
        refused(
            ProtectedResourceMetadata::builder("r.example").authorization_server(AS),
            "resource",
        );
        refused(
            ProtectedResourceMetadata::builder("").authorization_server(AS),
            "resource",
        );
        refused(
            ProtectedResourceMetadata::builder("https://r.example/a b").authorization_server(AS),
            "resource",
        );
        for loopback in [
            "http://localhost/mcp",
            "http://LOCALHOST:3000/mcp",
            "http://127.0.0.1:8080/mcp",
            "http://127.8.9.10/mcp",
            "http://[::1]:8080/mcp",
        ] {
            ProtectedResourceMetadata::builder(loopback)
                .authorization_server(AS)
                .build()
                .unwrap();
        }
        for not_loopback in [
            "http://128.0.0.1/mcp",
            "http://[::2]/mcp",
            "http://localhost.evil/mcp",
        ] {
            refused(
                ProtectedResourceMetadata::builder(not_loopback).authorization_server(AS),
                "resource",
            );
        }
    }

    #[test]
    fn resource_must_not_have_a_fragment() {
        let message = refused(
            ProtectedResourceMetadata::builder("https://r.example/mcp#x").authorization_server(AS),
            "resource",
        );
        assert!(message.contains("fragment"), "{message}");
        refused(
            ProtectedResourceMetadata::builder("https://r.example/mcp#").authorization_server(AS),
            "resource",
        );
    }

    #[test]
    fn resource_may_have_a_query() {
        let metadata = ProtectedResourceMetadata::builder("https://r.example/mcp?t=1")
            .authorization_server(AS)
            .build()
            .unwrap();
        assert_eq!(metadata.resource(), "https://r.example/mcp?t=1");
    }

    #[test]
    fn urls_must_not_carry_user_info() {
        let message = refused(
            ProtectedResourceMetadata::builder("https://user:pw@r.example/mcp")
                .authorization_server(AS),
            "resource",
        );
        assert!(message.contains("user info"), "{message}");
        refused(base().jwks_uri("https://u@r.example/jwks"), "jwks_uri");
    }

    #[test]
    fn an_authorization_server_is_required() {
        let message = refused(
            ProtectedResourceMetadata::builder(RESOURCE),
            "authorization_servers",
        );
        assert!(message.contains("at least one"), "{message}");
        refused(
            base().authorization_servers(Vec::<String>::new()),
            "authorization_servers",
        );
    }

    #[test]
    fn authorization_servers_are_issuer_urls() {
        refused(
            base().authorization_server("http://as.example"),
            "authorization_servers",
        );
        refused(
            base().authorization_server("as.example"),
            "authorization_servers",
        );
        let query = refused(
            base().authorization_server("https://as.example/?x=1"),
            "authorization_servers",
        );
        assert!(query.contains("query"), "{query}");
        refused(
            base().authorization_server("https://as.example/#x"),
            "authorization_servers",
        );
        base()
            .authorization_server("http://localhost:9000/realms/mcp")
            .build()
            .unwrap();
    }

    #[test]
    fn authorization_servers_must_not_repeat() {
        let message = refused(base().authorization_server(AS), "authorization_servers");
        assert!(message.contains("twice"), "{message}");
    }

    #[test]
    fn other_urls_must_be_https() {
        refused(base().jwks_uri("http://r.example/jwks"), "jwks_uri");
        refused(base().jwks_uri("https://r.example/jwks#k"), "jwks_uri");
        refused(base().jwks_uri("jwks.json"), "jwks_uri");
        refused(
            base().resource_documentation("http://docs.example"),
            "resource_documentation",
        );
        refused(base().resource_policy_uri("policy"), "resource_policy_uri");
        refused(
            base().resource_tos_uri("http://tos.example"),
            "resource_tos_uri",
        );
        base()
            .jwks_uri("http://127.0.0.1:1/jwks?v=2")
            .resource_tos_uri("https://r.example/tos#section-2")
            .build()
            .unwrap();
    }

    #[test]
    fn lists_must_not_be_empty() {
        let none: [&str; 0] = [];
        let message = refused(base().scopes_supported(none), "scopes_supported");
        assert!(message.contains("empty"), "{message}");
        refused(
            base().bearer_methods_supported(none),
            "bearer_methods_supported",
        );
        refused(
            base().resource_signing_alg_values_supported(none),
            "resource_signing_alg_values_supported",
        );
        refused(
            base().dpop_signing_alg_values_supported(none),
            "dpop_signing_alg_values_supported",
        );
    }

    #[test]
    fn lists_must_not_repeat() {
        refused(base().scopes_supported(["a", "b", "a"]), "scopes_supported");
        refused(
            base().bearer_methods_supported(["header", "header"]),
            "bearer_methods_supported",
        );
        refused(
            base().resource_signing_alg_values_supported(["ES256", "ES256"]),
            "resource_signing_alg_values_supported",
        );
        refused(
            base().dpop_signing_alg_values_supported([Algorithm::ES256, Algorithm::ES256]),
            "dpop_signing_alg_values_supported",
        );
    }

    #[test]
    fn scopes_follow_rfc6749_syntax() {
        refused(base().scopes_supported(["tools read"]), "scopes_supported");
        refused(base().scopes_supported([""]), "scopes_supported");
        refused(base().scopes_supported(["a\"b"]), "scopes_supported");
        refused(base().scopes_supported(["a\\b"]), "scopes_supported");
        refused(base().scopes_supported(["é"]), "scopes_supported");
        base()
            .scopes_supported(["openid", "https://r.example/tools:call", "a!#[]~"])
            .build()
            .unwrap();
    }

    #[test]
    fn bearer_method_query_is_refused_for_mcp() {
        let message = refused(
            base().bearer_methods_supported(["header", "query"]),
            "bearer_methods_supported",
        );
        assert!(message.contains("\"query\" is not allowed"), "{message}");
        assert!(message.contains("MCP"), "{message}");
    }

    #[test]
    fn bearer_methods_are_header_or_body() {
        refused(
            base().bearer_methods_supported(["cookie"]),
            "bearer_methods_supported",
        );
        refused(
            base().bearer_methods_supported(["Header"]),
            "bearer_methods_supported",
        );
        base()
            .bearer_methods_supported(["header", "body"])
            .build()
            .unwrap();
    }

    #[test]
    fn alg_none_is_refused() {
        for none in ["none", "None"] {
            let message = refused(
                base().resource_signing_alg_values_supported(["ES256", none]),
                "resource_signing_alg_values_supported",
            );
            assert!(message.contains("none"), "{message}");
            refused(
                base().dpop_signing_alg_values_supported([none]),
                "dpop_signing_alg_values_supported",
            );
        }
        refused(
            base().resource_signing_alg_values_supported([""]),
            "resource_signing_alg_values_supported",
        );
        refused(
            base().resource_signing_alg_values_supported(["ES 256"]),
            "resource_signing_alg_values_supported",
        );
    }

    #[test]
    fn dpop_algs_must_be_asymmetric() {
        let message = refused(
            base().dpop_signing_alg_values_supported(["HS256"]),
            "dpop_signing_alg_values_supported",
        );
        assert!(message.contains("asymmetric"), "{message}");
        // Signed responses may use any algorithm but none.
        base()
            .resource_signing_alg_values_supported(["HS256", "EdDSA"])
            .dpop_signing_alg_values_supported(["ES256", "EdDSA"])
            .build()
            .unwrap();
    }

    #[test]
    fn resource_name_must_not_be_blank() {
        refused(base().resource_name(" "), "resource_name");
        refused(base().resource_name("a\nb"), "resource_name");
    }

    #[test]
    fn signing_needs_an_issuer_and_a_key_for_the_kid() {
        let key = Arc::new(DpopKey::generate(Algorithm::ES256).unwrap());
        refused(base().sign_with(Arc::clone(&key), ""), "signed_metadata");
        refused(
            base()
                .sign_with(Arc::clone(&key), "https://r.example")
                .signing_key_id(""),
            "signed_metadata",
        );
        let message = refused(base().signing_key_id("k1"), "signed_metadata");
        assert!(message.contains("sign_with"), "{message}");
    }

    #[test]
    fn signed_metadata_verifies_and_carries_the_members() {
        for alg in [Algorithm::ES256, Algorithm::PS256] {
            let key = DpopKey::generate(alg).unwrap();
            let jwk = key.jwk().clone();
            let metadata = base()
                .scopes_supported(["tools:call"])
                .sign_with(key, "https://r.example")
                .signing_key_id("key-1")
                .build()
                .unwrap();
            let jwt = metadata.signed_metadata().unwrap();
            let parts: Vec<&str> = jwt.split('.').collect();
            assert_eq!(parts.len(), 3);
            let header: serde_json::Value =
                serde_json::from_slice(&b64::decode(parts[0]).unwrap()).unwrap();
            assert_eq!(
                header,
                serde_json::json!({"alg": alg.as_str(), "typ": "JWT", "kid": "key-1"})
            );
            let signing_input = format!("{}.{}", parts[0], parts[1]);
            jwk.verify(
                alg,
                signing_input.as_bytes(),
                &b64::decode(parts[2]).unwrap(),
            )
            .unwrap();
            let mut claims: serde_json::Value =
                serde_json::from_slice(&b64::decode(parts[1]).unwrap()).unwrap();
            assert_eq!(claims["iss"], "https://r.example");
            claims.as_object_mut().unwrap().remove("iss");
            let mut document: serde_json::Value = serde_json::from_str(metadata.as_json()).unwrap();
            assert_eq!(document["signed_metadata"], jwt);
            document.as_object_mut().unwrap().remove("signed_metadata");
            assert_eq!(claims, document);
        }
    }

    #[test]
    fn signed_metadata_without_kid_has_a_two_member_header() {
        let key = DpopKey::generate(Algorithm::ES256).unwrap();
        let metadata = base().sign_with(key, "https://r.example").build().unwrap();
        let jwt = metadata.signed_metadata().unwrap();
        let header = b64::decode(jwt.split('.').next().unwrap()).unwrap();
        assert_eq!(header, br#"{"alg":"ES256","typ":"JWT"}"#);
        assert!(
            metadata
                .as_json()
                .ends_with(&format!(r#","signed_metadata":"{jwt}"}}"#))
        );
    }
}
