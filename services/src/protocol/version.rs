//! Protocol revisions, their negotiation, and the features each one has.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A published MCP protocol revision.
///
/// Revisions are ordered by date, so `a < b` means `a` is older.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum ProtocolVersion {
    /// `2024-11-05`, the first published revision.
    V2024_11_05,
    /// `2025-03-26`: Streamable HTTP, batches, tool annotations, audio, completions.
    V2025_03_26,
    /// `2025-06-18`: structured tool output, elicitation, resource links, titles;
    /// batches removed.
    V2025_06_18,
    /// `2025-11-25`: icons, URL-mode elicitation, tools in sampling, tasks.
    V2025_11_25,
    /// `2026-07-28`: stateless (no `initialize`), `server/discover`,
    /// `subscriptions/listen`, multi round-trip requests, `resultType`.
    V2026_07_28,
}

/// The error [`ProtocolVersion::from_str`] returns for a revision this crate
/// does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown MCP protocol version {0:?}; expected one of 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25, 2026-07-28"
)]
pub struct UnknownProtocolVersion(pub String);

impl ProtocolVersion {
    /// The newest revision this crate supports.
    pub const LATEST: ProtocolVersion = ProtocolVersion::V2026_07_28;

    /// The newest revision that opens with the `initialize` handshake
    /// (a "legacy" revision in the 2026-07-28 versioning page).
    pub const LATEST_LEGACY: ProtocolVersion = ProtocolVersion::V2025_11_25;

    /// Every supported revision, oldest first.
    pub const SUPPORTED: &'static [ProtocolVersion] = &[
        ProtocolVersion::V2024_11_05,
        ProtocolVersion::V2025_03_26,
        ProtocolVersion::V2025_06_18,
        ProtocolVersion::V2025_11_25,
        ProtocolVersion::V2026_07_28,
    ];

    /// The revision's date string, as it appears on the wire.
    pub const fn as_str(self) -> &'static str {
        match self {
            ProtocolVersion::V2024_11_05 => "2024-11-05",
            ProtocolVersion::V2025_03_26 => "2025-03-26",
            ProtocolVersion::V2025_06_18 => "2025-06-18",
            ProtocolVersion::V2025_11_25 => "2025-11-25",
            ProtocolVersion::V2026_07_28 => "2026-07-28",
        }
    }

    /// The version a server answers an `initialize` request with (lifecycle,
    /// "Version Negotiation"): the requested version if the server supports
    /// it, otherwise the latest version it supports.
    ///
    /// `initialize` exists only in the legacy revisions (2025-11-25 and
    /// earlier), so the answer is always a legacy revision: a request for
    /// 2026-07-28 or for an unknown version gets [`Self::LATEST_LEGACY`].
    /// Modern requests carry their version in `_meta` and are not negotiated;
    /// see [`Self::accept`].
    pub fn negotiate(requested: &str) -> ProtocolVersion {
        Self::negotiate_among(requested, Self::SUPPORTED).unwrap_or(Self::LATEST_LEGACY)
    }

    /// [`Self::negotiate`] for a server that supports only `supported`: the
    /// requested version if it is a legacy revision in `supported`, otherwise
    /// the newest legacy revision in `supported`; `None` if `supported` holds
    /// no legacy revision (such a server cannot answer `initialize`).
    pub fn negotiate_among(
        requested: &str,
        supported: &[ProtocolVersion],
    ) -> Option<ProtocolVersion> {
        let legacy = |v: &&ProtocolVersion| v.uses_initialize();
        if let Ok(v) = requested.parse::<ProtocolVersion>() {
            if v.uses_initialize() && supported.contains(&v) {
                return Some(v);
            }
        }
        supported.iter().filter(legacy).max().copied()
    }

    /// The per-request check of 2026-07-28 (basic/versioning, "Protocol
    /// Version Negotiation"): the requested version if it is in `supported`,
    /// otherwise `None`, and the server answers with an
    /// `UnsupportedProtocolVersionError` (see
    /// [`UnsupportedProtocolVersionData`](super::UnsupportedProtocolVersionData)).
    pub fn accept(requested: &str, supported: &[ProtocolVersion]) -> Option<ProtocolVersion> {
        requested
            .parse::<ProtocolVersion>()
            .ok()
            .filter(|v| supported.contains(v))
    }

    /// Whether the session opens with `initialize` / `notifications/initialized`
    /// (2025-11-25 and earlier; removed in 2026-07-28).
    pub fn uses_initialize(self) -> bool {
        self <= ProtocolVersion::V2025_11_25
    }

    /// Whether requests carry version, client info and capabilities in
    /// `_meta` and results carry `resultType` (2026-07-28 and later).
    pub fn is_stateless(self) -> bool {
        self >= ProtocolVersion::V2026_07_28
    }

    /// Whether JSON-RPC batches (arrays of messages) are allowed: only in
    /// 2025-03-26 (added there, removed in 2025-06-18).
    pub fn supports_batches(self) -> bool {
        self == ProtocolVersion::V2025_03_26
    }

    /// Whether `AudioContent` exists (2025-03-26 and later).
    pub fn supports_audio_content(self) -> bool {
        self >= ProtocolVersion::V2025_03_26
    }

    /// Whether tools carry `annotations` (`ToolAnnotations`, 2025-03-26 and later).
    pub fn supports_tool_annotations(self) -> bool {
        self >= ProtocolVersion::V2025_03_26
    }

    /// Whether the `completions` server capability exists (2025-03-26 and
    /// later; 2024-11-05 had `completion/complete` without a capability).
    pub fn supports_completions_capability(self) -> bool {
        self >= ProtocolVersion::V2025_03_26
    }

    /// Whether progress notifications carry `message` (2025-03-26 and later).
    pub fn supports_progress_message(self) -> bool {
        self >= ProtocolVersion::V2025_03_26
    }

    /// Whether tools have `outputSchema` and results `structuredContent`
    /// (2025-06-18 and later).
    pub fn supports_structured_content(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }

    /// Whether `elicitation/create` exists (2025-06-18 and later).
    pub fn supports_elicitation(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }

    /// Whether `resource_link` content blocks exist (2025-06-18 and later).
    pub fn supports_resource_links(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }

    /// Whether `title` (display name) exists on named objects (2025-06-18 and later).
    pub fn supports_titles(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }

    /// Whether `completion/complete` carries `context` (2025-06-18 and later).
    pub fn supports_completion_context(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }

    /// Whether HTTP requests carry the `MCP-Protocol-Version` header
    /// (2025-06-18 and later).
    pub fn requires_protocol_version_header(self) -> bool {
        self >= ProtocolVersion::V2025_06_18
    }

    /// Whether `icons` exist on implementations, tools, prompts and resources,
    /// and `websiteUrl` on implementations (2025-11-25 and later).
    pub fn supports_icons(self) -> bool {
        self >= ProtocolVersion::V2025_11_25
    }

    /// Whether URL-mode elicitation exists (2025-11-25 and later).
    pub fn supports_url_elicitation(self) -> bool {
        self >= ProtocolVersion::V2025_11_25
    }

    /// Whether sampling requests may carry `tools` and `toolChoice`
    /// (2025-11-25 and later).
    pub fn supports_sampling_tools(self) -> bool {
        self >= ProtocolVersion::V2025_11_25
    }

    /// Whether tasks are part of the core protocol: only 2025-11-25
    /// (2026-07-28 moved them to the `io.modelcontextprotocol/tasks` extension).
    pub fn supports_core_tasks(self) -> bool {
        self == ProtocolVersion::V2025_11_25
    }

    /// Whether Streamable HTTP sessions (`Mcp-Session-Id`) exist
    /// (2025-03-26 through 2025-11-25).
    pub fn supports_sessions(self) -> bool {
        self >= ProtocolVersion::V2025_03_26 && self <= ProtocolVersion::V2025_11_25
    }

    /// Whether `ping` exists (2025-11-25 and earlier).
    pub fn supports_ping(self) -> bool {
        self <= ProtocolVersion::V2025_11_25
    }

    /// Whether `logging/setLevel` exists (2025-11-25 and earlier; 2026-07-28
    /// sets the level per request in `_meta`).
    pub fn supports_set_level(self) -> bool {
        self <= ProtocolVersion::V2025_11_25
    }

    /// Whether `resources/subscribe` and `resources/unsubscribe` exist
    /// (2025-11-25 and earlier; replaced by `subscriptions/listen`).
    pub fn supports_resource_subscribe(self) -> bool {
        self <= ProtocolVersion::V2025_11_25
    }

    /// Whether servers send `roots/list`, `sampling/createMessage` and
    /// `elicitation/create` as JSON-RPC requests (2025-11-25 and earlier;
    /// 2026-07-28 embeds them in an `InputRequiredResult`).
    pub fn supports_server_requests(self) -> bool {
        self <= ProtocolVersion::V2025_11_25
    }

    /// Whether `server/discover` exists (2026-07-28 and later).
    pub fn supports_discover(self) -> bool {
        self >= ProtocolVersion::V2026_07_28
    }

    /// Whether `subscriptions/listen` exists (2026-07-28 and later).
    pub fn supports_subscriptions_listen(self) -> bool {
        self >= ProtocolVersion::V2026_07_28
    }

    /// Whether multi round-trip requests (`InputRequiredResult`,
    /// `inputResponses`, `requestState`) exist (2026-07-28 and later).
    pub fn supports_multi_round_trip(self) -> bool {
        self >= ProtocolVersion::V2026_07_28
    }

    /// Whether list and read results carry `ttlMs` and `cacheScope`
    /// (2026-07-28 and later).
    pub fn supports_cacheable_results(self) -> bool {
        self >= ProtocolVersion::V2026_07_28
    }

    /// Whether capabilities carry `extensions` (2026-07-28 and later).
    pub fn supports_extensions(self) -> bool {
        self >= ProtocolVersion::V2026_07_28
    }
}

impl Default for ProtocolVersion {
    fn default() -> Self {
        Self::LATEST
    }
}

impl fmt::Display for ProtocolVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ProtocolVersion {
    type Err = UnknownProtocolVersion;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::SUPPORTED
            .iter()
            .copied()
            .find(|v| v.as_str() == s)
            .ok_or_else(|| UnknownProtocolVersion(s.to_owned()))
    }
}

impl Serialize for ProtocolVersion {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for ProtocolVersion {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let s = String::deserialize(deserializer)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;

    #[test]
    fn round_trips_strings() {
        for v in ProtocolVersion::SUPPORTED {
            assert_eq!(v.as_str().parse::<ProtocolVersion>().unwrap(), *v);
            assert_eq!(
                serde_json::to_value(v).unwrap(),
                serde_json::Value::from(v.as_str())
            );
        }
        assert!("2025-01-01".parse::<ProtocolVersion>().is_err());
        assert!(serde_json::from_str::<ProtocolVersion>("\"1900-01-01\"").is_err());
    }

    #[test]
    fn ordered_by_date() {
        let mut sorted = ProtocolVersion::SUPPORTED.to_vec();
        sorted.sort();
        assert_eq!(sorted, ProtocolVersion::SUPPORTED);
        assert_eq!(
            ProtocolVersion::SUPPORTED.last(),
            Some(&ProtocolVersion::LATEST)
        );
        assert!(ProtocolVersion::V2024_11_05 < ProtocolVersion::V2026_07_28);
    }

    #[test]
    fn negotiate_answers_supported_request_with_it() {
        for v in ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25"] {
            assert_eq!(ProtocolVersion::negotiate(v).as_str(), v);
        }
    }

    #[test]
    fn negotiate_answers_unknown_request_with_latest_legacy() {
        assert_eq!(
            ProtocolVersion::negotiate("1900-01-01"),
            ProtocolVersion::LATEST_LEGACY
        );
        assert_eq!(
            ProtocolVersion::negotiate(""),
            ProtocolVersion::LATEST_LEGACY
        );
        // 2026-07-28 has no initialize; an initialize asking for it gets the
        // newest revision that has one.
        assert_eq!(
            ProtocolVersion::negotiate("2026-07-28"),
            ProtocolVersion::V2025_11_25
        );
    }

    #[test]
    fn negotiate_among_restricted_set() {
        let supported = [ProtocolVersion::V2025_03_26, ProtocolVersion::V2025_06_18];
        assert_eq!(
            ProtocolVersion::negotiate_among("2025-03-26", &supported),
            Some(ProtocolVersion::V2025_03_26)
        );
        assert_eq!(
            ProtocolVersion::negotiate_among("2024-11-05", &supported),
            Some(ProtocolVersion::V2025_06_18)
        );
        assert_eq!(
            ProtocolVersion::negotiate_among("2025-06-18", &[ProtocolVersion::V2026_07_28]),
            None
        );
    }

    #[test]
    fn accept_checks_per_request_version() {
        let supported = [ProtocolVersion::V2025_11_25, ProtocolVersion::V2026_07_28];
        assert_eq!(
            ProtocolVersion::accept("2026-07-28", &supported),
            Some(ProtocolVersion::V2026_07_28)
        );
        assert_eq!(ProtocolVersion::accept("2025-06-18", &supported), None);
        assert_eq!(ProtocolVersion::accept("1900-01-01", &supported), None);
    }

    #[test]
    fn feature_helpers() {
        use ProtocolVersion as V;
        let with_batches: Vec<_> = V::SUPPORTED
            .iter()
            .filter(|v| v.supports_batches())
            .collect();
        assert_eq!(with_batches, [&V::V2025_03_26]);
        assert!(!V::V2025_03_26.supports_structured_content());
        assert!(V::V2025_06_18.supports_structured_content());
        assert!(V::V2026_07_28.supports_structured_content());
        assert!(!V::V2025_03_26.supports_elicitation());
        assert!(V::V2025_06_18.supports_elicitation());
        assert!(!V::V2025_06_18.supports_url_elicitation());
        assert!(V::V2025_11_25.supports_url_elicitation());
        assert!(!V::V2024_11_05.supports_audio_content());
        assert!(V::V2025_11_25.uses_initialize());
        assert!(!V::V2026_07_28.uses_initialize());
        assert!(V::V2026_07_28.supports_discover());
        assert!(!V::V2026_07_28.supports_ping());
        assert!(V::V2025_11_25.supports_core_tasks());
        assert!(!V::V2026_07_28.supports_core_tasks());
        assert!(!V::V2024_11_05.supports_sessions());
        assert!(!V::V2026_07_28.supports_sessions());
    }
}
