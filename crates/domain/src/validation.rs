//! The rules values of the domain must keep, and the error that names the field breaking one.
//!
//! The modules that hold values check them with these, and [`crate::error::DomainError`] gathers
//! this error with the status machine's: so this module uses no other module of the crate.

/// A value that breaks a rule of the domain. Every variant names the field it is about, so an API
/// can answer `422` with `{"field": ..., "message": ...}` without guessing.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ValidationError {
    /// A number is NaN or infinite.
    #[error("{field} must be a finite number")]
    NotFinite { field: &'static str },
    /// A number is outside its allowed range (inclusive bounds).
    #[error("{field} = {value} is out of range [{min}, {max}]")]
    OutOfRange {
        field: &'static str,
        value: f64,
        min: f64,
        max: f64,
    },
    /// A required text is empty or only white space.
    #[error("{field} must not be empty")]
    Empty { field: &'static str },
    /// A text is longer than allowed (counted in Unicode scalar values, so 500 Chinese characters
    /// count as 500, not 1,500 bytes).
    #[error("{field} is {len} characters long; at most {max} are allowed")]
    TooLong {
        field: &'static str,
        len: usize,
        max: usize,
    },
    /// A text has control characters (other than newline and tab).
    #[error("{field} contains control characters")]
    ControlCharacters { field: &'static str },
    /// A category code that is not in the category table.
    #[error("unknown category {code:?}")]
    UnknownCategory { code: String },
    /// A value that is not one of the allowed names (severity, status, role, zone kind...).
    #[error("{field}: {value:?} is not one of {allowed}")]
    UnknownValue {
        field: &'static str,
        value: String,
        allowed: String,
    },
    /// A malformed value of another kind.
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
}

impl ValidationError {
    /// The name of the offending field, as API clients see it.
    #[must_use]
    pub fn field(&self) -> &str {
        match self {
            Self::NotFinite { field }
            | Self::OutOfRange { field, .. }
            | Self::Empty { field }
            | Self::TooLong { field, .. }
            | Self::ControlCharacters { field }
            | Self::UnknownValue { field, .. }
            | Self::Invalid { field, .. } => field,
            Self::UnknownCategory { .. } => "category",
        }
    }
}

/// Checks a free text: not empty (when required), at most `max` characters, no control characters
/// other than `\n`, `\r` and `\t`. Returns the text trimmed of surrounding white space.
pub fn validate_text(
    field: &'static str,
    value: &str,
    max: usize,
    required: bool,
) -> Result<String, ValidationError> {
    let trimmed = value.trim();
    if required && trimmed.is_empty() {
        return Err(ValidationError::Empty { field });
    }
    let len = trimmed.chars().count();
    if len > max {
        return Err(ValidationError::TooLong { field, len, max });
    }
    if trimmed
        .chars()
        .any(|c| c.is_control() && !matches!(c, '\n' | '\r' | '\t'))
    {
        return Err(ValidationError::ControlCharacters { field });
    }
    Ok(trimmed.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_rules() {
        assert_eq!(validate_text("d", "  hi ", 10, true).unwrap(), "hi");
        assert_eq!(
            validate_text("d", "   ", 10, true),
            Err(ValidationError::Empty { field: "d" })
        );
        assert!(validate_text("d", "", 10, false).is_ok());
        // 5 Chinese characters are 15 bytes but 5 characters.
        assert!(validate_text("d", "楼道堆物多", 5, true).is_ok());
        assert_eq!(
            validate_text("d", "楼道堆物多了", 5, true),
            Err(ValidationError::TooLong {
                field: "d",
                len: 6,
                max: 5
            })
        );
        assert_eq!(
            validate_text("d", "a\u{0}b", 5, true),
            Err(ValidationError::ControlCharacters { field: "d" })
        );
        assert!(validate_text("d", "line1\nline2", 20, true).is_ok());
    }
}
