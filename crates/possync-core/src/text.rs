//! Bounded text: names and notes as they may be stored and shown.

use crate::limits::{NAME_CHARS_MAX, NOTE_CHARS_MAX};
use serde::{Deserialize, Deserializer, Serialize, de};
use std::fmt;

/// Why a text was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TextError {
    #[error("must not be empty")]
    Empty,
    #[error("at most {max} characters")]
    TooLong { max: usize },
    #[error("must not contain control characters")]
    ControlCharacter,
}

/// A name: trimmed, 1 to 120 characters, no control characters.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Name(String);

impl Name {
    pub fn parse(text: &str) -> Result<Self, TextError> {
        let trimmed = text.trim();
        if trimmed.is_empty() {
            return Err(TextError::Empty);
        }
        if trimmed.chars().count() > NAME_CHARS_MAX {
            return Err(TextError::TooLong {
                max: NAME_CHARS_MAX,
            });
        }
        if trimmed.chars().any(char::is_control) {
            return Err(TextError::ControlCharacter);
        }
        Ok(Name(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A note: up to 1,000 characters; line breaks and tabs allowed, other control characters not.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct Note(String);

impl Note {
    pub fn parse(text: &str) -> Result<Self, TextError> {
        if text.chars().count() > NOTE_CHARS_MAX {
            return Err(TextError::TooLong {
                max: NOTE_CHARS_MAX,
            });
        }
        if text
            .chars()
            .any(|c| c.is_control() && c != '\n' && c != '\t')
        {
            return Err(TextError::ControlCharacter);
        }
        Ok(Note(text.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

macro_rules! text_common {
    ($name:ident) => {
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                $name::parse(&text).map_err(de::Error::custom)
            }
        }

        impl std::str::FromStr for $name {
            type Err = TextError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                $name::parse(text)
            }
        }
    };
}
text_common!(Name);
text_common!(Note);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(Name::parse("  Bar ").unwrap().as_str(), "Bar");
        assert_eq!(Name::parse("   "), Err(TextError::Empty));
        assert_eq!(
            Name::parse(&"x".repeat(121)),
            Err(TextError::TooLong { max: 120 })
        );
        assert!(Name::parse(&"é".repeat(120)).is_ok());
        assert_eq!(Name::parse("a\u{0}b"), Err(TextError::ControlCharacter));
    }

    #[test]
    fn notes_keep_line_breaks() {
        assert_eq!(
            Note::parse("no ice\nextra lemon").unwrap().as_str(),
            "no ice\nextra lemon"
        );
        assert!(Note::parse("").unwrap().is_empty());
        assert!(Note::parse(&"x".repeat(1001)).is_err());
        assert!(Note::parse("\u{7}").is_err());
    }
}
