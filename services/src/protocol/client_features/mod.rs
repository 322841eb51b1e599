//! Features a client offers to servers: roots, sampling and elicitation.
//!
//! Up to 2025-11-25 the server sends these as JSON-RPC requests
//! (`roots/list`, `sampling/createMessage`, `elicitation/create`); from
//! 2026-07-28 it embeds them in an
//! [`InputRequiredResult`](super::InputRequiredResult). Roots and sampling
//! are deprecated in 2026-07-28.

mod elicitation;
mod roots;
mod sampling;

pub use elicitation::{
    BooleanSchema, ElicitAction, ElicitRequestFormParams, ElicitRequestParams,
    ElicitRequestUrlParams, ElicitResult, ElicitValue, ElicitationCompleteNotificationParams,
    EnumOption, LegacyTitledEnumSchema, NumberSchema, NumberType, PrimitiveSchemaDefinition,
    RequestedSchema, StringFormat, StringSchema, TitledEnumItems, TitledMultiSelectEnumSchema,
    TitledSingleSelectEnumSchema, UntitledEnumItems, UntitledMultiSelectEnumSchema,
    UntitledSingleSelectEnumSchema,
};
pub use roots::{ListRootsResult, Root};
pub use sampling::{
    CreateMessageRequestParams, CreateMessageResult, IncludeContext, ModelHint, ModelPreferences,
    SamplingContent, SamplingMessage, SamplingMessageContent, StopReason, ToolChoice,
    ToolChoiceMode, ToolResultContent, ToolUseContent,
};
