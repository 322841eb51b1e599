//! The Model Context Protocol types, with serde, for every published
//! revision: 2024-11-05, 2025-03-26, 2025-06-18, 2025-11-25 and 2026-07-28.
//!
//! The types follow the official TypeScript schemas (`schema/<revision>/schema.ts`
//! in `modelcontextprotocol/modelcontextprotocol`). Where revisions differ,
//! each type models the union: members that only some revisions have are
//! optional, and their docs name the revision that added (or removed) them.
//! [`ProtocolVersion`] says which features a negotiated revision has.
//!
//! Conventions shared by every type here:
//! - member names are the schema's camelCase names; optional members are
//!   `Option`s that are left out when `None`;
//! - unknown members are tolerated on input; result types and capabilities,
//!   which the schema leaves open, keep them in an `extra` map so they survive
//!   a round trip;
//! - closed string sets are enums and an unknown value is an error;
//! - structs and enums are `#[non_exhaustive]`: build them with `new`/`Default`
//!   and set the public optional fields.
//!
//! Revision 2026-07-28 removed the `initialize` handshake (each request
//! carries its version and capabilities in `_meta`, see [`RequestMeta`]),
//! `ping`, `logging/setLevel`, `resources/subscribe`/`unsubscribe` and tasks,
//! and added `server/discover`, `subscriptions/listen` and multi round-trip
//! requests ([`InputRequiredResult`]). The older types remain for the
//! legacy revisions.

mod client_features;
mod completion;
mod content;
mod errors;
mod lifecycle;
mod logging;
mod meta;
pub mod methods;
mod mrtr;
mod notifications;
#[macro_use]
mod pagination;
mod prompts;
pub mod request_headers;
mod resources;
mod subscriptions;
mod tools;
mod version;

pub use client_features::{
    BooleanSchema, CreateMessageRequestParams, CreateMessageResult, ElicitAction,
    ElicitRequestFormParams, ElicitRequestParams, ElicitRequestUrlParams, ElicitResult,
    ElicitValue, ElicitationCompleteNotificationParams, EnumOption, IncludeContext,
    LegacyTitledEnumSchema, ListRootsResult, ModelHint, ModelPreferences, NumberSchema, NumberType,
    PrimitiveSchemaDefinition, RequestedSchema, Root, SamplingContent, SamplingMessage,
    SamplingMessageContent, StopReason, StringFormat, StringSchema, TitledEnumItems,
    TitledMultiSelectEnumSchema, TitledSingleSelectEnumSchema, ToolChoice, ToolChoiceMode,
    ToolResultContent, ToolUseContent, UntitledEnumItems, UntitledMultiSelectEnumSchema,
    UntitledSingleSelectEnumSchema,
};
pub use completion::{
    CompleteRequestParams, CompleteResult, Completion, CompletionArgument, CompletionContext,
    PromptReference, Reference, ResourceTemplateReference,
};
pub use content::{
    Annotations, AudioContent, BlobResourceContents, ContentBlock, EmbeddedResource, ImageContent,
    ResourceContents, ResourceLink, Role, TextContent, TextResourceContents,
};
pub use errors::{
    HEADER_MISMATCH, MISSING_REQUIRED_CLIENT_CAPABILITY, MissingRequiredClientCapabilityData,
    RESOURCE_NOT_FOUND, UNSUPPORTED_PROTOCOL_VERSION, URL_ELICITATION_REQUIRED,
    UnsupportedProtocolVersionData, UrlElicitationRequiredData,
};
pub use lifecycle::{
    ClientCapabilities, DiscoverResult, ElicitationCapability, Icon, IconTheme, Implementation,
    InitializeRequestParams, InitializeResult, PromptsCapability, ResourcesCapability,
    RootsCapability, SamplingCapability, ServerCapabilities, ToolsCapability,
};
pub use logging::{LoggingLevel, LoggingMessageNotificationParams, SetLevelRequestParams};
pub use meta::{
    CacheScope, EmptyResult, JsonObject, Meta, NotificationMeta, NotificationParams, ProgressToken,
    RequestMeta, RequestParams, ResultMeta, ResultType,
};
pub use mrtr::{InputRequest, InputRequests, InputRequiredResult, InputResponse, InputResponses};
pub use notifications::{CancelledNotificationParams, ProgressNotificationParams};
pub use pagination::{Cursor, PaginatedRequestParams};
pub use prompts::{
    GetPromptRequestParams, GetPromptResult, ListPromptsResult, Prompt, PromptArgument,
    PromptMessage,
};
pub use resources::{
    ListResourceTemplatesResult, ListResourcesResult, ReadResourceRequestParams,
    ReadResourceResult, Resource, ResourceTemplate, ResourceUpdatedNotificationParams,
    SubscribeRequestParams, UnsubscribeRequestParams,
};
pub use subscriptions::{
    SubscriptionFilter, SubscriptionsAcknowledgedNotificationParams,
    SubscriptionsListenRequestParams, SubscriptionsListenResult,
};
pub use tools::{
    CallToolRequestParams, CallToolResult, ListToolsResult, TaskSupport, Tool, ToolAnnotations,
    ToolExecution,
};
pub use version::{ProtocolVersion, UnknownProtocolVersion};
