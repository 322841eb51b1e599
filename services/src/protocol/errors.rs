//! MCP error codes and the typed `data` of MCP-defined errors. The JSON-RPC
//! codes are in [`crate::jsonrpc::ErrorCode`].

use serde::{Deserialize, Serialize};

use super::client_features::ElicitRequestUrlParams;
use super::lifecycle::ClientCapabilities;
use super::meta::JsonObject;
use crate::jsonrpc::ErrorCode;

/// Resource not found (2025-11-25 and earlier; 2026-07-28 uses -32602 and
/// never reuses this code).
pub const RESOURCE_NOT_FOUND: ErrorCode = ErrorCode(-32002);

/// URL elicitation required (2025-11-25 only).
pub const URL_ELICITATION_REQUIRED: ErrorCode = ErrorCode(-32042);

/// HTTP headers do not match the body, or required headers are missing
/// (2026-07-28, `HeaderMismatchError`; HTTP 400).
pub const HEADER_MISMATCH: ErrorCode = ErrorCode(-32020);

/// The request needs a client capability it did not declare (2026-07-28,
/// `MissingRequiredClientCapabilityError`; HTTP 400).
pub const MISSING_REQUIRED_CLIENT_CAPABILITY: ErrorCode = ErrorCode(-32021);

/// The request's protocol version is not supported (2026-07-28,
/// `UnsupportedProtocolVersionError`; HTTP 400).
pub const UNSUPPORTED_PROTOCOL_VERSION: ErrorCode = ErrorCode(-32022);

/// `data` of an `UnsupportedProtocolVersionError`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UnsupportedProtocolVersionData {
    /// Versions the server supports.
    pub supported: Vec<String>,
    /// The version the client asked for.
    pub requested: String,
}

impl UnsupportedProtocolVersionData {
    /// Data for a request of `requested` to a server supporting `supported`.
    pub fn new(supported: &[super::ProtocolVersion], requested: impl Into<String>) -> Self {
        Self {
            supported: supported.iter().map(|v| v.as_str().to_owned()).collect(),
            requested: requested.into(),
        }
    }
}

/// `data` of a `MissingRequiredClientCapabilityError`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MissingRequiredClientCapabilityData {
    /// The capabilities the server needs from the client.
    #[serde(rename = "requiredCapabilities")]
    pub required_capabilities: ClientCapabilities,
}

impl MissingRequiredClientCapabilityData {
    /// Data naming the required capabilities.
    pub fn new(required_capabilities: ClientCapabilities) -> Self {
        Self {
            required_capabilities,
        }
    }
}

/// `data` of a `URLElicitationRequiredError` (2025-11-25 only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UrlElicitationRequiredData {
    /// The URL elicitations the client must complete.
    pub elicitations: Vec<ElicitRequestUrlParams>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}
