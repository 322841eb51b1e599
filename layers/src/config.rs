//! The error every builder's `build()` returns for invalid configuration, so
//! that a bad setting is found at start-up and never at request time.

use std::borrow::Cow;

/// A configuration value was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid configuration of {setting}: {problem}")]
pub struct ConfigError {
    setting: &'static str,
    problem: Cow<'static, str>,
}

impl ConfigError {
    /// A refusal of `setting` because of `problem`.
    pub fn new(setting: &'static str, problem: impl Into<Cow<'static, str>>) -> Self {
        Self {
            setting,
            problem: problem.into(),
        }
    }

    /// The setting that was refused.
    pub fn setting(&self) -> &'static str {
        self.setting
    }
}
