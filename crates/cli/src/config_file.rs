//! The configuration file: a TOML table whose keys are the settings' names (`bind`,
//! `database_url`, `client_rate`, …; see `c2c-forum config check`). A flag wins over its
//! environment variable, which wins over the file, which wins over the built-in default: the
//! file's values become the command's defaults before the command line is parsed.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use clap::{ArgMatches, CommandFactory, FromArgMatches, parser::ValueSource};

use crate::commands::Cli;

pub const CONFIG_ENV: &str = "C2C_CONFIG";
/// Settings whose values are never printed.
const SECRETS: [&str; 2] = ["jwt_secret", "metrics_token"];

/// The command line parsed over the configuration file.
pub struct Loaded {
    pub cli: Cli,
    pub matches: ArgMatches,
    /// The file, and the keys it sets.
    pub file: Option<(PathBuf, BTreeMap<String, Vec<String>>)>,
}

/// The file named by `--config FILE` (or `--config=FILE`), else by `C2C_CONFIG`. Read before
/// clap parses, because its values change what clap takes as defaults.
pub fn file_path(args: &[OsString], env: Option<OsString>) -> Option<PathBuf> {
    let mut args = args.iter().skip(1);
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy();
        if arg == "--" {
            break;
        }
        if arg == "--config" {
            return args.next().map(PathBuf::from);
        }
        if let Some(path) = arg.strip_prefix("--config=") {
            return Some(PathBuf::from(path));
        }
    }
    env.filter(|p| !p.is_empty()).map(PathBuf::from)
}

/// The settings a file may set: the arguments of `serve`, the log format and the trace export.
fn settable(command: &clap::Command) -> Vec<(&clap::Arg, bool)> {
    let root = command
        .get_arguments()
        .filter(|a| {
            ["log_format", "otlp_endpoint", "otlp_service_name"].contains(&a.get_id().as_str())
        })
        .map(|a| (a, true));
    let serve = command
        .find_subcommand("serve")
        .into_iter()
        .flat_map(|s| s.get_arguments())
        .filter(|a| !a.is_global_set() && a.get_id() != "help")
        .map(|a| (a, false));
    root.chain(serve).collect()
}

/// The keys of `text` as values clap would take, each checked by its setting's parser; an
/// unknown key, a value of the wrong type or an invalid one is an error naming the key.
pub fn values(text: &str) -> Result<BTreeMap<String, Vec<String>>, String> {
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| e.to_string())?;
    let command = Cli::command();
    let settable = settable(&command);
    let mut out = BTreeMap::new();
    for (key, value) in table {
        let Some((arg, _)) = settable.iter().find(|(a, _)| a.get_id() == key.as_str()) else {
            let known: Vec<_> = settable.iter().map(|(a, _)| a.get_id().as_str()).collect();
            return Err(format!(
                "unknown key {key:?}; the keys are {}",
                known.join(", ")
            ));
        };
        let scalar = |v: &toml::Value| match v {
            toml::Value::String(s) => Ok(s.clone()),
            toml::Value::Integer(i) => Ok(i.to_string()),
            toml::Value::Boolean(b) => Ok(b.to_string()),
            other => Err(format!(
                "key {key:?}: a {} is not a value of this setting",
                other.type_str()
            )),
        };
        let list = match &value {
            toml::Value::Array(items) => items.iter().map(scalar).collect::<Result<Vec<_>, _>>()?,
            single => vec![scalar(single)?],
        };
        let many = arg.get_num_args().is_some_and(|n| n.max_values() > 1)
            || matches!(arg.get_action(), clap::ArgAction::Append);
        if list.len() != 1 && !many {
            return Err(format!("key {key:?} takes one value"));
        }
        let flag = matches!(arg.get_action(), clap::ArgAction::SetTrue);
        if flag != matches!(value, toml::Value::Boolean(_)) {
            return Err(format!(
                "key {key:?}: {}",
                if flag {
                    "true or false"
                } else {
                    "not a boolean"
                }
            ));
        }
        if !flag {
            // Each value as clap would parse it from the command line.
            let long = arg.get_long().unwrap_or(key.as_str());
            for item in &list {
                clap::Command::new("c2c-forum")
                    .no_binary_name(true)
                    .arg((*arg).clone().env(None::<&str>).required(false))
                    .try_get_matches_from([format!("--{long}={item}")])
                    .map_err(|e| {
                        let e = e.to_string();
                        let first = e.lines().next().unwrap_or_default();
                        format!("key {key:?}: {}", first.trim_start_matches("error: "))
                    })?;
            }
        }
        out.insert(key, list);
    }
    Ok(out)
}

/// The command with the file's values as defaults: what is not given as a flag or in the
/// environment comes from the file.
fn command_over(file: &BTreeMap<String, Vec<String>>) -> clap::Command {
    let command = Cli::command();
    let roots: Vec<String> = settable(&command)
        .into_iter()
        .filter(|(_, root)| *root)
        .map(|(a, _)| a.get_id().to_string())
        .collect();
    file.iter().fold(command, |command, (key, values)| {
        let set = |arg: clap::Arg| arg.default_values(values.clone());
        if roots.contains(key) {
            command.mut_arg(key, set)
        } else {
            command
                .mut_subcommand("serve", |c| c.mut_arg(key, set))
                .mut_subcommand("config", |c| {
                    c.mut_subcommand("check", |c| c.mut_arg(key, set))
                })
        }
    })
}

/// Reads the file (if one is named), then parses `args` over it. A wrong file is an error
/// naming it; a wrong command line exits as clap does.
pub fn load(args: Vec<OsString>) -> Result<Loaded, String> {
    let file = match file_path(&args, std::env::var_os(CONFIG_ENV)) {
        Some(path) => {
            let text = std::fs::read_to_string(&path).map_err(|e| {
                format!("cannot read the configuration file {}: {e}", path.display())
            })?;
            let values =
                values(&text).map_err(|e| format!("configuration file {}: {e}", path.display()))?;
            Some((path, values))
        }
        None => None,
    };
    let empty = BTreeMap::new();
    let matches =
        command_over(file.as_ref().map(|(_, v)| v).unwrap_or(&empty)).get_matches_from(args);
    let cli = Cli::from_arg_matches(&matches).map_err(|e| e.to_string())?;
    Ok(Loaded { cli, matches, file })
}

/// `scheme://user:password@host/…` with the password replaced.
pub fn mask_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_string();
    };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    match authority.rsplit_once('@') {
        Some((credentials, host)) => match credentials.split_once(':') {
            Some((user, _password)) => format!("{scheme}://{user}:****@{host}{tail}"),
            None => url.to_string(),
        },
        None => url.to_string(),
    }
}

/// One line a setting: its key, its value (secrets masked) and where it came from.
pub fn describe(loaded: &Loaded) -> Vec<String> {
    let Some(("config", config)) = loaded.matches.subcommand() else {
        return Vec::new();
    };
    let Some(("check", check)) = config.subcommand() else {
        return Vec::new();
    };
    let from_file = |key: &str| {
        loaded
            .file
            .as_ref()
            .filter(|(_, values)| values.contains_key(key))
            .map(|(path, _)| path.as_path())
    };
    let command = Cli::command();
    let mut lines = Vec::new();
    for (arg, root) in settable(&command) {
        let key = arg.get_id().as_str();
        let matches = if root { &loaded.matches } else { check };
        let raw: Vec<String> = matches
            .get_raw(key)
            .into_iter()
            .flatten()
            .map(|v| v.to_string_lossy().into_owned())
            .collect();
        let value = if raw.is_empty() {
            "(unset)".to_string()
        } else if SECRETS.contains(&key) {
            "********".to_string()
        } else if key == "database_url" {
            raw.iter()
                .map(|u| mask_url(u))
                .collect::<Vec<_>>()
                .join(",")
        } else {
            raw.join(",")
        };
        let source = source_of(matches.value_source(key), from_file(key), arg);
        lines.push(format!("{key} = {value}  # {source}"));
    }
    lines
}

fn source_of(source: Option<ValueSource>, file: Option<&Path>, arg: &clap::Arg) -> String {
    match source {
        Some(ValueSource::CommandLine) => "flag".into(),
        Some(ValueSource::EnvVariable) => format!(
            "environment {}",
            arg.get_env()
                .map(|e| e.to_string_lossy())
                .unwrap_or_default()
        ),
        Some(ValueSource::DefaultValue) => match file {
            Some(path) => format!("file {}", path.display()),
            None => "default".into(),
        },
        _ => "default".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::commands::{Command, ConfigCommand};

    fn args(list: &[&str]) -> Vec<OsString> {
        list.iter().map(OsString::from).collect()
    }

    fn check_args(loaded: &Loaded) -> &crate::commands::ServeArgs {
        match &loaded.cli.command {
            Command::Config {
                command: ConfigCommand::Check(args),
            } => args,
            _ => panic!("config check"),
        }
    }

    fn loaded(file: &str, argv: &[&str]) -> Loaded {
        let values = values(file).expect("a valid file");
        let matches = command_over(&values).get_matches_from(args(argv));
        Loaded {
            cli: Cli::from_arg_matches(&matches).expect("parsed"),
            matches,
            file: Some((PathBuf::from("forum.toml"), values)),
        }
    }

    #[test]
    fn a_flag_wins_over_the_file_and_the_file_over_the_default() {
        let file = "bind = \"0.0.0.0:9000\"\nclient_rate = 7\ncors_origins = [\"https://a.example\", \"https://b.example\"]\nlog_format = \"json\"\nno_seed = true\n";
        let loaded = loaded(
            file,
            &["c2c-forum", "config", "check", "--client-rate", "9"],
        );
        let serve = check_args(&loaded);
        assert_eq!(serve.bind, "0.0.0.0:9000");
        assert_eq!(serve.client_rate, 9);
        assert_eq!(
            serve.cors_origins,
            ["https://a.example", "https://b.example"]
        );
        assert!(serve.no_seed);
        assert_eq!(serve.batch_window_ms, 0);
        assert_eq!(loaded.cli.log_format, api::telemetry::LogFormat::Json);
        let lines = describe(&loaded);
        let line = |key: &str| {
            lines
                .iter()
                .find(|l| l.starts_with(&format!("{key} = ")))
                .unwrap_or_else(|| panic!("{key} in {lines:?}"))
                .clone()
        };
        assert_eq!(line("bind"), "bind = 0.0.0.0:9000  # file forum.toml");
        assert_eq!(line("client_rate"), "client_rate = 9  # flag");
        assert_eq!(line("batch_window_ms"), "batch_window_ms = 0  # default");
        assert_eq!(line("log_format"), "log_format = json  # file forum.toml");
    }

    #[test]
    fn the_environment_wins_over_the_file() {
        // A variable no other test reads, set only here.
        // SAFETY: set before any thread of this test reads the environment; no other test
        // reads C2C_HASH_QUEUE.
        unsafe { std::env::set_var("C2C_HASH_QUEUE", "77") };
        let loaded = loaded("hash_queue = 5\n", &["c2c-forum", "config", "check"]);
        assert_eq!(check_args(&loaded).hash_queue, 77);
        assert!(
            describe(&loaded)
                .contains(&"hash_queue = 77  # environment C2C_HASH_QUEUE".to_string())
        );
    }

    #[test]
    fn unknown_keys_and_wrong_values_are_refused_by_name() {
        let unknown = values("bind = \"x\"\nbatch_windw_ms = 3\n").unwrap_err();
        assert!(unknown.contains("\"batch_windw_ms\""), "{unknown}");
        let wrong = values("client_rate = \"fast\"\n").unwrap_err();
        assert!(wrong.contains("\"client_rate\""), "{wrong}");
        let wrong = values("trusted_proxies = [\"not-an-ip\"]\n").unwrap_err();
        assert!(wrong.contains("\"trusted_proxies\""), "{wrong}");
        let wrong = values("log_format = \"xml\"\n").unwrap_err();
        assert!(wrong.contains("\"log_format\""), "{wrong}");
        assert!(
            values("bind = [\"a\", \"b\"]\n")
                .unwrap_err()
                .contains("one value")
        );
        assert!(values("bind = ").is_err());
    }

    #[test]
    fn secrets_are_masked() {
        let loaded = loaded(
            "jwt_secret = \"a secret of thirty-two bytes or more!!\"\nmetrics_token = \"t0k3n\"\ndatabase_url = \"postgres://forum:hunter2@db:5432/forum?sslmode=require\"\n",
            &["c2c-forum", "config", "check"],
        );
        let printed = describe(&loaded).join("\n");
        assert!(!printed.contains("thirty-two"), "{printed}");
        assert!(!printed.contains("t0k3n"), "{printed}");
        assert!(!printed.contains("hunter2"), "{printed}");
        assert!(printed.contains("postgres://forum:****@db:5432/forum?sslmode=require"));
        assert!(printed.contains("jwt_secret = ********"));
        assert_eq!(
            mask_url("sqlite://c2c-forum.db?mode=rwc"),
            "sqlite://c2c-forum.db?mode=rwc"
        );
        assert_eq!(mask_url("postgres://u@h/d"), "postgres://u@h/d");
    }

    #[test]
    fn the_file_is_named_by_flag_or_environment() {
        let env = Some(OsString::from("env.toml"));
        assert_eq!(
            file_path(
                &args(&["c2c-forum", "serve", "--config", "a.toml"]),
                env.clone()
            ),
            Some(PathBuf::from("a.toml"))
        );
        assert_eq!(
            file_path(
                &args(&["c2c-forum", "--config=b.toml", "serve"]),
                env.clone()
            ),
            Some(PathBuf::from("b.toml"))
        );
        assert_eq!(
            file_path(&args(&["c2c-forum", "serve"]), env),
            Some(PathBuf::from("env.toml"))
        );
        assert_eq!(file_path(&args(&["c2c-forum", "serve"]), None), None);
    }

    #[test]
    fn a_question_waits_for_a_build_nine_tenths_of_the_deadline_unless_told() {
        let wait = |file: &str, argv: &[&str]| {
            let settings = crate::commands::settings_of(check_args(&loaded(file, argv)).clone())
                .expect("valid settings");
            settings.database.build_wait
        };
        let ms = |n| Some(std::time::Duration::from_millis(n));
        assert_eq!(wait("", &["c2c-forum", "config", "check"]), ms(9_000));
        assert_eq!(
            wait(
                "query_deadline_ms = 2000\n",
                &["c2c-forum", "config", "check"]
            ),
            ms(1_800)
        );
        assert_eq!(
            wait(
                "query_deadline_ms = 2000\n",
                &[
                    "c2c-forum",
                    "config",
                    "check",
                    "--rollup-build-wait-ms",
                    "500"
                ]
            ),
            ms(500)
        );
    }
}
