//! Scenario files: the proto3 JSON form of `tariff.v1.Scenario`, or the same
//! fields spelt in TOML.

use tariff_proto::{json::from_json, v1::Scenario};

/// Why a scenario file could not be read.
#[derive(Debug, thiserror::Error)]
pub enum ScenarioFileError {
    #[error("{0}")]
    Json(#[from] tariff_proto::json::JsonError),
    #[error("{0}")]
    Toml(String),
}

/// The spelling of a scenario file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScenarioFormat {
    Json,
    Toml,
}

impl ScenarioFormat {
    /// By file extension: `.toml` is TOML, anything else JSON.
    pub fn from_path(path: &std::path::Path) -> ScenarioFormat {
        match path.extension().and_then(|e| e.to_str()) {
            Some(ext) if ext.eq_ignore_ascii_case("toml") => ScenarioFormat::Toml,
            _ => ScenarioFormat::Json,
        }
    }
}

/// Parses a scenario. Unknown fields and enum names are refused, with the line
/// (JSON) or the field (TOML) at fault.
pub fn parse_scenario(text: &str, format: ScenarioFormat) -> Result<Scenario, ScenarioFileError> {
    match format {
        ScenarioFormat::Json => Ok(from_json(text)?),
        ScenarioFormat::Toml => {
            let value: serde_json::Value = toml::from_str(text).map_err(|e| {
                let line = e
                    .span()
                    .map_or(0, |s| text.as_bytes().iter().take(s.start).filter(|&&b| b == b'\n').count() + 1);
                ScenarioFileError::Toml(format!("line {line}: {}", e.message().trim()))
            })?;
            serde_json::from_value(value).map_err(|e| ScenarioFileError::Toml(e.to_string()))
        }
    }
}
