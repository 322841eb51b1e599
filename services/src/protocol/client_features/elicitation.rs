//! Elicitation: `elicitation/create` (2025-06-18 and later; URL mode from
//! 2025-11-25) and `notifications/elicitation/complete` (2025-11-25 only).

use std::collections::BTreeMap;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::protocol::meta::{JsonObject, NotificationMeta, RequestMeta, ResultMeta, ResultType};

/// Serde for a private [`Tag`] field that stands for a constant `"type"` value:
/// written out as the constant, and on input only the constant is accepted.
macro_rules! const_tag {
    ($module:ident, $value:literal) => {
        mod $module {
            use serde::{Deserialize, Deserializer, Serializer};

            #[allow(clippy::trivially_copy_pass_by_ref)] // serde's `with` passes `&T`.
            pub(super) fn serialize<S: Serializer>(
                _: &super::Tag,
                s: S,
            ) -> Result<S::Ok, S::Error> {
                s.serialize_str($value)
            }

            pub(super) fn deserialize<'de, D: Deserializer<'de>>(
                d: D,
            ) -> Result<super::Tag, D::Error> {
                let s = String::deserialize(d)?;
                if s == $value {
                    Ok(super::Tag)
                } else {
                    Err(serde::de::Error::custom(format!(
                        "expected \"type\": {:?}, found {s:?}",
                        $value
                    )))
                }
            }
        }
    };
}

/// A constant `"type"` (or `"mode"`) member; see `const_tag!`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Tag;

const_tag!(object_tag, "object");
const_tag!(string_tag, "string");
const_tag!(boolean_tag, "boolean");
const_tag!(array_tag, "array");
const_tag!(form_tag, "form");
const_tag!(url_tag, "url");

/// Format of a string field (schema: `StringSchema.format`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum StringFormat {
    /// `"email"`.
    #[serde(rename = "email")]
    Email,
    /// `"uri"`.
    #[serde(rename = "uri")]
    Uri,
    /// `"date"`.
    #[serde(rename = "date")]
    Date,
    /// `"date-time"`.
    #[serde(rename = "date-time")]
    DateTime,
}

/// A string field (schema: `StringSchema`, `"type": "string"`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct StringSchema {
    #[serde(rename = "type", with = "string_tag")]
    kind: Tag,
    /// Field title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Field description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Minimum length.
    #[serde(rename = "minLength", skip_serializing_if = "Option::is_none")]
    pub min_length: Option<u64>,
    /// Maximum length.
    #[serde(rename = "maxLength", skip_serializing_if = "Option::is_none")]
    pub max_length: Option<u64>,
    /// Format.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub format: Option<StringFormat>,
    /// Default value (2025-11-25 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// `"number"` or `"integer"` (schema: `NumberSchema.type`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum NumberType {
    /// Any number.
    #[default]
    Number,
    /// An integer.
    Integer,
}

/// A number field (schema: `NumberSchema`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NumberSchema {
    /// `"number"` or `"integer"`.
    #[serde(rename = "type")]
    pub kind: NumberType,
    /// Field title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Field description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Minimum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub minimum: Option<f64>,
    /// Maximum.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maximum: Option<f64>,
    /// Default value (2025-11-25 and later).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<f64>,
}

/// A boolean field (schema: `BooleanSchema`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BooleanSchema {
    #[serde(rename = "type", with = "boolean_tag")]
    kind: Tag,
    /// Field title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Field description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Default value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<bool>,
}

/// An option with a display title (`{ const, title }` in the schema).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EnumOption {
    /// The value.
    #[serde(rename = "const")]
    pub value: String,
    /// Display label.
    pub title: String,
}

impl EnumOption {
    /// An option.
    pub fn new(value: impl Into<String>, title: impl Into<String>) -> Self {
        Self {
            value: value.into(),
            title: title.into(),
        }
    }
}

/// Single selection without titles (schema: `UntitledSingleSelectEnumSchema`;
/// 2025-11-25 and later).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UntitledSingleSelectEnumSchema {
    #[serde(rename = "type", with = "string_tag")]
    kind: Tag,
    /// Field title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Field description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The values.
    #[serde(rename = "enum")]
    pub values: Vec<String>,
    /// Default value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// Single selection with titles (schema: `TitledSingleSelectEnumSchema`;
/// 2025-11-25 and later).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TitledSingleSelectEnumSchema {
    #[serde(rename = "type", with = "string_tag")]
    kind: Tag,
    /// Field title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Field description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The options.
    #[serde(rename = "oneOf")]
    pub one_of: Vec<EnumOption>,
    /// Default value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

/// `items` of an untitled multi-select (`{ type: "string", enum }`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UntitledEnumItems {
    #[serde(rename = "type", with = "string_tag")]
    kind: Tag,
    /// The values.
    #[serde(rename = "enum")]
    pub values: Vec<String>,
}

/// `items` of a titled multi-select (`{ anyOf }`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TitledEnumItems {
    /// The options.
    #[serde(rename = "anyOf")]
    pub any_of: Vec<EnumOption>,
}

/// Multiple selection without titles (schema: `UntitledMultiSelectEnumSchema`;
/// 2025-11-25 and later).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UntitledMultiSelectEnumSchema {
    #[serde(rename = "type", with = "array_tag")]
    kind: Tag,
    /// Field title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Field description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fewest selections.
    #[serde(rename = "minItems", skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    /// Most selections.
    #[serde(rename = "maxItems", skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// The values.
    pub items: UntitledEnumItems,
    /// Default selection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Vec<String>>,
}

/// Multiple selection with titles (schema: `TitledMultiSelectEnumSchema`;
/// 2025-11-25 and later).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TitledMultiSelectEnumSchema {
    #[serde(rename = "type", with = "array_tag")]
    kind: Tag,
    /// Field title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Field description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Fewest selections.
    #[serde(rename = "minItems", skip_serializing_if = "Option::is_none")]
    pub min_items: Option<u64>,
    /// Most selections.
    #[serde(rename = "maxItems", skip_serializing_if = "Option::is_none")]
    pub max_items: Option<u64>,
    /// The options.
    pub items: TitledEnumItems,
    /// Default selection.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<Vec<String>>,
}

/// The 2025-06-18 enum field, with optional `enumNames` (schema:
/// `LegacyTitledEnumSchema`; superseded by [`TitledSingleSelectEnumSchema`]).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct LegacyTitledEnumSchema {
    #[serde(rename = "type", with = "string_tag")]
    kind: Tag,
    /// Field title.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Field description.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The values.
    #[serde(rename = "enum")]
    pub values: Vec<String>,
    /// Display names of the values.
    #[serde(rename = "enumNames", skip_serializing_if = "Option::is_none")]
    pub enum_names: Option<Vec<String>>,
    /// Default value.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
}

impl StringSchema {
    /// A plain string field.
    pub fn new() -> Self {
        Self::default()
    }
}

impl NumberSchema {
    /// A number (or integer) field.
    pub fn new(kind: NumberType) -> Self {
        Self {
            kind,
            ..Self::default()
        }
    }
}

impl BooleanSchema {
    /// A boolean field.
    pub fn new() -> Self {
        Self::default()
    }
}

impl UntitledSingleSelectEnumSchema {
    /// A single selection among `values`.
    pub fn new(values: Vec<String>) -> Self {
        Self {
            values,
            ..Self::default()
        }
    }
}

impl TitledSingleSelectEnumSchema {
    /// A single selection among `options`.
    pub fn new(options: Vec<EnumOption>) -> Self {
        Self {
            one_of: options,
            ..Self::default()
        }
    }
}

impl UntitledMultiSelectEnumSchema {
    /// A multiple selection among `values`.
    pub fn new(values: Vec<String>) -> Self {
        Self {
            items: UntitledEnumItems { kind: Tag, values },
            ..Self::default()
        }
    }
}

impl TitledMultiSelectEnumSchema {
    /// A multiple selection among `options`.
    pub fn new(options: Vec<EnumOption>) -> Self {
        Self {
            items: TitledEnumItems { any_of: options },
            ..Self::default()
        }
    }
}

impl LegacyTitledEnumSchema {
    /// An enum field of `values`.
    pub fn new(values: Vec<String>) -> Self {
        Self {
            values,
            ..Self::default()
        }
    }
}

/// A field of a requested form (schema: `PrimitiveSchemaDefinition`): no
/// nesting. Told apart by `type` and by `oneOf` / `enum` / `enumNames` /
/// `items.anyOf`; an unknown `type` is an error.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum PrimitiveSchemaDefinition {
    /// A string.
    String(StringSchema),
    /// A number or integer.
    Number(NumberSchema),
    /// A boolean.
    Boolean(BooleanSchema),
    /// A single selection without titles.
    UntitledSingleSelect(UntitledSingleSelectEnumSchema),
    /// A single selection with titles.
    TitledSingleSelect(TitledSingleSelectEnumSchema),
    /// A multiple selection without titles.
    UntitledMultiSelect(UntitledMultiSelectEnumSchema),
    /// A multiple selection with titles.
    TitledMultiSelect(TitledMultiSelectEnumSchema),
    /// The 2025-06-18 enum with `enumNames`.
    LegacyTitledEnum(LegacyTitledEnumSchema),
}

impl Serialize for PrimitiveSchemaDefinition {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            PrimitiveSchemaDefinition::String(s) => s.serialize(serializer),
            PrimitiveSchemaDefinition::Number(s) => s.serialize(serializer),
            PrimitiveSchemaDefinition::Boolean(s) => s.serialize(serializer),
            PrimitiveSchemaDefinition::UntitledSingleSelect(s) => s.serialize(serializer),
            PrimitiveSchemaDefinition::TitledSingleSelect(s) => s.serialize(serializer),
            PrimitiveSchemaDefinition::UntitledMultiSelect(s) => s.serialize(serializer),
            PrimitiveSchemaDefinition::TitledMultiSelect(s) => s.serialize(serializer),
            PrimitiveSchemaDefinition::LegacyTitledEnum(s) => s.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for PrimitiveSchemaDefinition {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        use serde_json::from_value;
        let value = JsonObject::deserialize(deserializer)?;
        let kind = value.get("type").and_then(serde_json::Value::as_str);
        let has = |key: &str| value.contains_key(key);
        let v = serde_json::Value::Object(value.clone());
        let parsed = match kind {
            Some("boolean") => from_value(v).map(PrimitiveSchemaDefinition::Boolean),
            Some("number" | "integer") => from_value(v).map(PrimitiveSchemaDefinition::Number),
            Some("array") => {
                let titled = value
                    .get("items")
                    .and_then(serde_json::Value::as_object)
                    .is_some_and(|items| items.contains_key("anyOf"));
                if titled {
                    from_value(v).map(PrimitiveSchemaDefinition::TitledMultiSelect)
                } else {
                    from_value(v).map(PrimitiveSchemaDefinition::UntitledMultiSelect)
                }
            }
            Some("string") if has("oneOf") => {
                from_value(v).map(PrimitiveSchemaDefinition::TitledSingleSelect)
            }
            Some("string") if has("enumNames") => {
                from_value(v).map(PrimitiveSchemaDefinition::LegacyTitledEnum)
            }
            Some("string") if has("enum") => {
                from_value(v).map(PrimitiveSchemaDefinition::UntitledSingleSelect)
            }
            Some("string") => from_value(v).map(PrimitiveSchemaDefinition::String),
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "unknown elicitation field type {other:?}; expected string, number, integer, boolean or array"
                )));
            }
            None => {
                return Err(D::Error::custom(
                    "an elicitation field needs a string \"type\"",
                ));
            }
        };
        parsed.map_err(D::Error::custom)
    }
}

/// The form requested from the user (schema: `ElicitRequestFormParams.requestedSchema`):
/// an object schema with flat properties.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct RequestedSchema {
    /// JSON Schema dialect.
    #[serde(rename = "$schema", skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    #[serde(rename = "type", with = "object_tag")]
    kind: Tag,
    /// The fields.
    pub properties: BTreeMap<String, PrimitiveSchemaDefinition>,
    /// Names of the required fields.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub required: Option<Vec<String>>,
}

impl RequestedSchema {
    /// A form with the given fields.
    pub fn new(properties: BTreeMap<String, PrimitiveSchemaDefinition>) -> Self {
        Self {
            properties,
            ..Self::default()
        }
    }
}

/// Form-mode params (schema: `ElicitRequestFormParams`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ElicitRequestFormParams {
    /// Request metadata (2025-11-25 and earlier).
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<RequestMeta>,
    /// Whether `"mode": "form"` is written out (2025-11-25 and later; the
    /// mode defaults to form when absent).
    #[serde(
        rename = "mode",
        default,
        skip_serializing_if = "is_false",
        with = "explicit_form_mode"
    )]
    pub explicit_mode: bool,
    /// What is asked and why.
    pub message: String,
    /// The form.
    #[serde(rename = "requestedSchema")]
    pub requested_schema: RequestedSchema,
}

#[allow(clippy::trivially_copy_pass_by_ref)] // serde's `skip_serializing_if` passes `&T`.
fn is_false(b: &bool) -> bool {
    !*b
}

mod explicit_form_mode {
    use serde::{Deserializer, Serializer};

    #[allow(clippy::trivially_copy_pass_by_ref)] // serde's `with` passes `&T`.
    pub(super) fn serialize<S: Serializer>(_: &bool, s: S) -> Result<S::Ok, S::Error> {
        super::form_tag::serialize(&super::Tag, s)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
        super::form_tag::deserialize(d).map(|_| true)
    }
}

impl ElicitRequestFormParams {
    /// Form-mode params.
    pub fn new(message: impl Into<String>, requested_schema: RequestedSchema) -> Self {
        Self {
            meta: None,
            explicit_mode: true,
            message: message.into(),
            requested_schema,
        }
    }
}

/// URL-mode params (schema: `ElicitRequestURLParams`; 2025-11-25 and later).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ElicitRequestUrlParams {
    /// Request metadata (2025-11-25).
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<RequestMeta>,
    #[serde(rename = "mode", with = "url_tag")]
    mode: Tag,
    /// Why the user should open the URL.
    pub message: String,
    /// Identifier of the elicitation (2025-11-25 only, where it is required).
    #[serde(rename = "elicitationId", skip_serializing_if = "Option::is_none")]
    pub elicitation_id: Option<String>,
    /// The URL to open.
    pub url: String,
}

impl ElicitRequestUrlParams {
    /// URL-mode params.
    pub fn new(message: impl Into<String>, url: impl Into<String>) -> Self {
        Self {
            meta: None,
            mode: Tag,
            message: message.into(),
            elicitation_id: None,
            url: url.into(),
        }
    }
}

/// Params of `elicitation/create` (schema: `ElicitRequestParams`), by `mode`:
/// absent or `"form"` is form mode, `"url"` URL mode; others are an error.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum ElicitRequestParams {
    /// Form mode.
    Form(ElicitRequestFormParams),
    /// URL mode (2025-11-25 and later).
    Url(ElicitRequestUrlParams),
}

impl Serialize for ElicitRequestParams {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match self {
            ElicitRequestParams::Form(p) => p.serialize(serializer),
            ElicitRequestParams::Url(p) => p.serialize(serializer),
        }
    }
}

impl<'de> Deserialize<'de> for ElicitRequestParams {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        use serde::de::Error;
        let value = serde_json::Value::deserialize(deserializer)?;
        match value.get("mode") {
            None => serde_json::from_value(value).map(ElicitRequestParams::Form),
            Some(serde_json::Value::String(m)) if m == "form" => {
                serde_json::from_value(value).map(ElicitRequestParams::Form)
            }
            Some(serde_json::Value::String(m)) if m == "url" => {
                serde_json::from_value(value).map(ElicitRequestParams::Url)
            }
            Some(other) => {
                return Err(D::Error::custom(format!(
                    "unknown elicitation mode {other}; expected \"form\" or \"url\""
                )));
            }
        }
        .map_err(D::Error::custom)
    }
}

/// The user's answer (schema: `ElicitResult.action`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[non_exhaustive]
pub enum ElicitAction {
    /// Submitted or confirmed.
    Accept,
    /// Explicitly declined.
    Decline,
    /// Dismissed without a choice.
    Cancel,
}

/// A submitted field value: string, number, boolean, or (2025-11-25 and
/// later) an array of strings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ElicitValue {
    /// A string.
    String(String),
    /// A boolean.
    Boolean(bool),
    /// A number, as written.
    Number(serde_json::Number),
    /// Selected values of a multi-select.
    Strings(Vec<String>),
}

/// Result of `elicitation/create` (schema: `ElicitResult`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ElicitResult {
    /// Result metadata (2025-11-25 and earlier).
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<ResultMeta>,
    /// `resultType`.
    #[serde(rename = "resultType", skip_serializing_if = "Option::is_none")]
    pub result_type: Option<ResultType>,
    /// What the user did.
    pub action: ElicitAction,
    /// The submitted form, for `accept` in form mode.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub content: Option<BTreeMap<String, ElicitValue>>,
    /// Other members.
    #[serde(flatten)]
    pub extra: JsonObject,
}

impl ElicitResult {
    /// A result with `action` and no content.
    pub fn new(action: ElicitAction) -> Self {
        Self {
            meta: None,
            result_type: None,
            action,
            content: None,
            extra: JsonObject::new(),
        }
    }
}

/// Params of `notifications/elicitation/complete` (2025-11-25 only).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ElicitationCompleteNotificationParams {
    /// Notification metadata.
    #[serde(rename = "_meta", skip_serializing_if = "Option::is_none")]
    pub meta: Option<NotificationMeta>,
    /// The completed elicitation.
    #[serde(rename = "elicitationId")]
    pub elicitation_id: String,
}

impl ElicitationCompleteNotificationParams {
    /// Params for `elicitation_id`.
    pub fn new(elicitation_id: impl Into<String>) -> Self {
        Self {
            meta: None,
            elicitation_id: elicitation_id.into(),
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use serde_json::json;

    use super::*;

    #[test]
    fn field_kinds_are_told_apart() {
        let p = |v| serde_json::from_value::<PrimitiveSchemaDefinition>(v).unwrap();
        assert!(matches!(
            p(json!({"type": "string"})),
            PrimitiveSchemaDefinition::String(_)
        ));
        assert!(matches!(
            p(json!({"type": "integer"})),
            PrimitiveSchemaDefinition::Number(_)
        ));
        assert!(matches!(
            p(json!({"type": "string", "enum": ["a"], "enumNames": ["A"]})),
            PrimitiveSchemaDefinition::LegacyTitledEnum(_)
        ));
        assert!(matches!(
            p(json!({"type": "string", "enum": ["a"]})),
            PrimitiveSchemaDefinition::UntitledSingleSelect(_)
        ));
        assert!(matches!(
            p(json!({"type": "array", "items": {"type": "string", "enum": ["a"]}})),
            PrimitiveSchemaDefinition::UntitledMultiSelect(_)
        ));
    }

    #[test]
    fn unknown_field_kinds_are_errors() {
        for bad in [
            json!({"type": "object", "properties": {}}),
            json!({"title": "no type"}),
            json!({"type": "array", "items": {"type": "number", "enum": ["a"]}}),
        ] {
            assert!(serde_json::from_value::<PrimitiveSchemaDefinition>(bad).is_err());
        }
    }

    #[test]
    fn requested_schema_must_be_an_object() {
        let bad = json!({"message": "m", "requestedSchema": {"type": "array", "properties": {}}});
        assert!(serde_json::from_value::<ElicitRequestParams>(bad).is_err());
    }

    #[test]
    fn modes() {
        let form = json!({"message": "m", "requestedSchema": {"type": "object", "properties": {}}});
        let parsed: ElicitRequestParams = serde_json::from_value(form.clone()).unwrap();
        assert!(matches!(&parsed, ElicitRequestParams::Form(f) if !f.explicit_mode));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), form);
        let url = json!({"mode": "url", "message": "m", "url": "https://x"});
        let parsed: ElicitRequestParams = serde_json::from_value(url.clone()).unwrap();
        assert!(matches!(parsed, ElicitRequestParams::Url(_)));
        assert_eq!(serde_json::to_value(&parsed).unwrap(), url);
        let built = ElicitRequestParams::Url(ElicitRequestUrlParams::new("m", "https://x"));
        assert_eq!(serde_json::to_value(&built).unwrap(), url);
        assert!(
            serde_json::from_value::<ElicitRequestParams>(json!({"mode": "oob", "message": "m"}))
                .is_err()
        );
    }

    #[test]
    fn actions_are_closed() {
        assert!(serde_json::from_value::<ElicitResult>(json!({"action": "accept"})).is_ok());
        assert!(serde_json::from_value::<ElicitResult>(json!({"action": "maybe"})).is_err());
        assert!(
            serde_json::from_value::<ElicitResult>(
                json!({"action": "accept", "content": {"a": {"nested": 1}}})
            )
            .is_err()
        );
    }
}
