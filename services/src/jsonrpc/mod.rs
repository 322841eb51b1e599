//! JSON-RPC 2.0 messages (<https://www.jsonrpc.org/specification>) as MCP
//! uses them: requests, notifications, responses, errors and batches, with
//! strict validation and the standard error codes.
//!
//! MCP narrows JSON-RPC: request ids are strings or integers, never `null`
//! (MCP basic protocol, "Requests"). Batches exist only in revision
//! 2025-03-26; [`parse`] reports them and the caller decides.

mod error;
mod message;

pub use error::{ErrorCode, ErrorObject};
pub use message::{
    ErrorResponse, Message, Notification, Payload, Request, RequestId, Response, parse,
};
