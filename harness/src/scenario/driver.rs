//! `[driver.NAME]` tables and the matrix's driver names → [`DriverSpec`] values.
//!
//! A matrix name is a `[driver.NAME]` table's name, or `kind[@version]`; a table gives
//! `sdk = "kind[@version]"` and the SDK's own settings, read into that SDK's typed
//! settings ([`crate::driver::settings`]).

use std::collections::BTreeMap;
use std::path::Path;

use toml::Spanned;

use super::diag::{At, Unknown};
use super::raw::RawDriver;
use crate::driver::passthrough::{Passthrough, PassthroughError};
use crate::driver::settings::SettingError;
use crate::driver::spec::{parse_sdk, SdkError};
use crate::driver::{DriverKind, DriverSpec, SdkSettings};

/// A driver that cannot be run as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DriverProblem {
    /// A table's `sdk` is not `kind[@version]`.
    #[error("{0}; `sdk` is one of {names} with an optional @VERSION", names = DriverKind::NAMES.join(", "))]
    TableSdk(SdkError),
    /// A table's setting its SDK does not take, or a value it does not accept.
    #[error("[driver.{table}]: {error}{}", passthrough_hint(.error))]
    Setting {
        /// The table's name.
        table: String,
        /// What is wrong with the setting.
        error: SettingError,
    },
    /// A table's `env`, `profile` or `region_from_imds` its SDK cannot be given.
    #[error("[driver.{table}]: {error}")]
    Passthrough {
        /// The table's name.
        table: String,
        /// What is wrong with it.
        error: Box<PassthroughError>,
    },
    /// A table with neither `sdk` nor `command`.
    #[error("[driver.{0}] needs `sdk = \"kind[@version]\"` (one of {names}) or `command = [\"prog\", \"arg\"]` (a driver of your own)", names = DriverKind::NAMES.join(", "))]
    NoSdk(String),
    /// A matrix name that is neither a table nor a kind.
    #[error(transparent)]
    Unknown(Unknown),
    /// A matrix name whose kind is known but whose version is not one.
    #[error(transparent)]
    Sdk(SdkError),
}

/// For a key no settings struct has: the pass-through keys every built-in SDK takes too.
fn passthrough_hint(error: &SettingError) -> String {
    match error {
        SettingError::Unknown { kind, .. } if *kind != DriverKind::Command => format!(
            "; or, passed through to the SDK as it reads them, {}",
            crate::driver::passthrough::KEYS
                .iter()
                .map(|k| format!("`{k}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
        _ => String::new(),
    }
}

/// Reads every `[driver.NAME]` table, in name order.
///
/// # Errors
/// The first table whose `sdk` is not `kind[@version]` (at `sdk`) or whose settings its
/// SDK does not take (at the table).
///
/// A `command` table (no `sdk`) runs its program; the program when it has a `/`, and any
/// word starting with `./` or `../`, is taken relative to `dir`, the scenario file's folder
/// (the child runs in a temporary `HOME`).
pub(super) fn read_tables(
    tables: &BTreeMap<String, Spanned<RawDriver>>,
    dir: &Path,
) -> Result<BTreeMap<String, DriverSpec>, At<DriverProblem>> {
    let mut specs = BTreeMap::new();
    for (name, spanned) in tables {
        let d = spanned.get_ref();
        let (kind, version) = match &d.sdk {
            Some(sdk) => parse_sdk(sdk.get_ref())
                .map_err(|e| At::new(sdk.span(), DriverProblem::TableSdk(e)))?,
            None if d.settings.contains_key("command") => (DriverKind::Command, None),
            None => return Err(At::new(spanned.span(), DriverProblem::NoSdk(name.clone()))),
        };
        let mut table = d.settings.clone();
        let passthrough = if kind == DriverKind::Command {
            Passthrough::default()
        } else {
            Passthrough::take_from(&kind, &mut table).map_err(|error| {
                At::new(
                    spanned.span(),
                    DriverProblem::Passthrough {
                        table: name.clone(),
                        error: Box::new(error),
                    },
                )
            })?
        };
        let mut settings = SdkSettings::from_table(&kind, &table).map_err(|error| {
            At::new(
                spanned.span(),
                DriverProblem::Setting {
                    table: name.clone(),
                    error,
                },
            )
        })?;
        if let SdkSettings::RustSdk(rust) = &settings {
            crate::driver::passthrough::check_rust(rust, &passthrough).map_err(|error| {
                At::new(
                    spanned.span(),
                    DriverProblem::Passthrough {
                        table: name.clone(),
                        error: Box::new(error),
                    },
                )
            })?;
        }
        if let SdkSettings::Command(c) = &mut settings {
            c.command.0 = absolute_words(&c.command.0, dir);
        }
        specs.insert(
            name.clone(),
            DriverSpec {
                name: name.clone(),
                kind,
                version,
                settings,
                passthrough,
            },
        );
    }
    Ok(specs)
}

/// The driver a matrix name names: a table of `tables`, else `kind[@version]` with the
/// SDK's default settings.
///
/// # Errors
/// At the name: [`DriverProblem::Unknown`] (listing the kinds and tables) for a name
/// whose kind is not one, [`DriverProblem::Sdk`] for a bad version.
pub(super) fn resolve(
    name: &Spanned<String>,
    tables: &BTreeMap<String, DriverSpec>,
) -> Result<DriverSpec, At<DriverProblem>> {
    if let Some(spec) = tables.get(name.get_ref()) {
        return Ok(spec.clone());
    }
    match parse_sdk(name.get_ref()) {
        Ok((DriverKind::Command, _)) => Err(At::new(
            name.span(),
            DriverProblem::Sdk(SdkError::CommandNeedsTable),
        )),
        Ok((kind, version)) => Ok(DriverSpec {
            name: name.get_ref().clone(),
            settings: SdkSettings::defaults(&kind),
            kind,
            version,
            passthrough: Passthrough::default(),
        }),
        Err(SdkError::UnknownKind(_)) => {
            let mut allowed: Vec<&str> = DriverKind::NAMES.to_vec();
            allowed.extend(tables.keys().map(String::as_str));
            Err(At::new(
                name.span(),
                DriverProblem::Unknown(Unknown::new(
                    "driver",
                    name.get_ref(),
                    &allowed,
                    "a kind, kind@VERSION, or a [driver.NAME] table",
                )),
            ))
        }
        Err(e) => Err(At::new(name.span(), DriverProblem::Sdk(e))),
    }
}

/// A command's words with those relative to `dir` (the scenario file's folder) made
/// absolute: a program with a `/`, and any word starting with `./` or `../`. Absolute
/// because the program runs in its temporary `HOME`, not in this directory.
pub(super) fn absolute_words(words: &[String], dir: &Path) -> Vec<String> {
    let dir = std::path::absolute(dir).unwrap_or_else(|_| dir.to_path_buf());
    words
        .iter()
        .enumerate()
        .map(|(i, word)| {
            let relative = word.starts_with("./") || word.starts_with("../");
            if relative || (i == 0 && word.contains('/') && Path::new(word.as_str()).is_relative())
            {
                dir.join(word.as_str()).display().to_string()
            } else {
                word.clone()
            }
        })
        .collect()
}
