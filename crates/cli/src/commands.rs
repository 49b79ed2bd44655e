//! The `c2c-forum` command line.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use api::config::{
    DEFAULT_BIND, DEFAULT_DATABASE_URL, DEFAULT_IATI_REPORTING_ORG, Settings, SubscriptionSettings,
};
use api::{App, Application};
use clap::{Args, Parser, Subcommand};
use domain::actor::Role;
use tools::progress::Progress;
use tools::synthetic::{self, SyntheticOptions};

#[derive(Parser, Debug, Clone)]
#[command(
    name = "c2c-forum",
    version,
    about = "The GraphQL API of the Forum on City-to-City Cooperation"
)]
pub struct Cli {
    /// How log lines are written: text, or json (one object a line).
    #[arg(long, env = "C2C_LOG_FORMAT", default_value = "text", global = true)]
    pub log_format: api::telemetry::LogFormat,
    /// Export traces (a span per request) over OTLP/HTTP to this OpenTelemetry collector, e.g.
    /// http://127.0.0.1:4318 (`/v1/traces` is added); none when absent.
    #[arg(long, env = "OTEL_EXPORTER_OTLP_ENDPOINT", global = true)]
    pub otlp_endpoint: Option<String>,
    /// The `service.name` the traces carry.
    #[arg(
        long,
        env = "OTEL_SERVICE_NAME",
        default_value = "c2c-forum",
        global = true
    )]
    pub otlp_service_name: String,
    /// A TOML file of settings (keys as `config check` prints them); flags and environment
    /// variables win over it.
    #[arg(long, env = "C2C_CONFIG", global = true)]
    pub config: Option<std::path::PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

impl Cli {
    pub fn otlp(&self) -> Option<api::telemetry::Otlp> {
        self.otlp_endpoint
            .as_ref()
            .filter(|e| !e.is_empty())
            .map(|endpoint| api::telemetry::Otlp {
                endpoint: endpoint.clone(),
                service_name: self.otlp_service_name.clone(),
            })
    }
}

#[derive(Subcommand, Debug, Clone)]
pub enum Command {
    /// Migrate, seed the report's information base into an empty database, and serve.
    Serve(ServeArgs),
    /// The configuration: `config check` prints the effective one.
    Config {
        #[command(subcommand)]
        command: ConfigCommand,
    },
    /// Apply pending migrations and load the reference data.
    Migrate {
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// Load the report's information base into an empty database, or with `--synthetic` add
    /// deterministic synthetic data at scale (for benchmarks).
    Seed {
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
        #[arg(long)]
        synthetic: bool,
        /// With --synthetic: how many practices (funding rows are about five times as many), at
        /// most 5,000,000: the data is generated in memory first, about 2 KB a practice.
        #[arg(long, default_value_t = 10_000, requires = "synthetic", value_parser = synthetic_practices())]
        practices: usize,
        /// With --synthetic: the random seed; the same seed gives the same data.
        #[arg(long, default_value_t = 1, requires = "synthetic")]
        seed: u64,
    },
    /// Build the funding-gap rollups most groupings are summed from, unless built (seeding does
    /// it too): the first question of such a grouping is then answered in a fraction of a
    /// second instead of reading the whole base.
    PrepareRollups {
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
        /// Also build this grouping (repeatable): its dimensions joined by commas, of THEME,
        /// ORIENTATION, BLOC, COUNTRY, MODALITY and MANAGEMENT_FOCUS, with "/YEAR" after them
        /// for the grouping by year that answers ranges of years. A grouping of two of THEME,
        /// COUNTRY, BLOC and MANAGEMENT_FOCUS is otherwise built by its first question, from
        /// the whole base; every grouping built makes writes dearer (see README).
        #[arg(long = "by", value_name = "DIMENSIONS")]
        by: Vec<api::Grouping>,
    },
    /// Time the donors' questions on a synthetic base (seeded first into an empty database).
    Bench {
        #[arg(
            long,
            env = "DATABASE_URL",
            default_value = "sqlite://c2c-bench.db?mode=rwc"
        )]
        database_url: String,
        #[arg(long, default_value_t = 200_000, value_parser = synthetic_practices())]
        practices: usize,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Timed runs of each question, after three that warm it up.
        #[arg(long, default_value_t = 30, value_parser = clap::builder::RangedU64ValueParser::<usize>::new().range(1..))]
        iterations: usize,
    },
    /// Print the GraphQL schema (SDL); `schema.graphql` must equal it.
    ExportSchema,
    /// Write the published information base in an exchange format to standard output.
    Export {
        #[command(subcommand)]
        format: ExportFormat,
    },
    /// Read activity files into the information base: each becomes or updates a draft
    /// practice, one transaction per file; prints a report per file.
    Import {
        #[command(subcommand)]
        format: ImportFormat,
    },
    /// Manage accounts.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum ExportFormat {
    /// Every published practice (or those --filter selects) as an IATI 2.03 activity (XML),
    /// confidential amounts left out.
    Iati {
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
        /// The publisher's IATI organisation identifier: reporting-org/@ref and the prefix of
        /// every iati-identifier.
        #[arg(long = "reporting-org", env = "C2C_IATI_REPORTING_ORG", default_value = DEFAULT_IATI_REPORTING_ORG)]
        reporting_org: String,
        /// Only the practices these filters select, written as the query string of
        /// GET /export/iati/activities.xml (themes=ENVIRONMENT,HOUSING&countryCode=NL).
        #[arg(long)]
        filter: Option<String>,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum ImportFormat {
    /// IATI 2.03 activity files (XML).
    Iati {
        /// The files, each imported whole or not at all.
        #[arg(required = true)]
        files: Vec<std::path::PathBuf>,
        /// The email of the ADMIN account the import is made and audited in the name of.
        #[arg(long = "as", env = "C2C_IMPORT_AS")]
        email: String,
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
    },
}

#[derive(Subcommand, Debug, Clone)]
pub enum ConfigCommand {
    /// Print the effective configuration (secrets masked) and where each value comes from;
    /// fails on an invalid one.
    Check(ServeArgs),
}

/// The settings of a server: flags, environment variables, or keys of the configuration file
/// (each field's name).
#[derive(Args, Debug, Clone)]
pub struct ServeArgs {
    #[arg(long, env = "C2C_BIND", default_value = DEFAULT_BIND)]
    pub bind: String,
    #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
    pub database_url: String,
    /// Serve an empty database as it is instead of seeding it.
    #[arg(long)]
    pub no_seed: bool,
    /// Without C2C_JWT_SECRET, sign tokens with a key generated for this process (release builds
    /// refuse to start without a secret otherwise).
    #[arg(long)]
    pub dev: bool,
    /// Answer every query with the schema's executor, the nested pages of practices, the report
    /// of scheme overlaps and the matches of a need included (which are otherwise written
    /// straight from their records).
    #[arg(long)]
    pub no_direct_answers: bool,
    /// Milliseconds a dataloader gathers keys before it queries.
    #[arg(long, env = "C2C_BATCH_WINDOW_MS", default_value_t = api::config::DEFAULT_BATCH_WINDOW.as_millis() as u64)]
    pub batch_window_ms: u64,
    /// Cost units a client's budget regains per second.
    #[arg(long, env = "C2C_CLIENT_RATE", default_value_t = api::budget::DEFAULT_CLIENT_RATE)]
    pub client_rate: u64,
    /// Cost units a client may spend at once (at least one request's maximum, 50,000).
    #[arg(long, env = "C2C_CLIENT_BURST", default_value_t = api::budget::DEFAULT_CLIENT_BURST)]
    pub client_burst: u64,
    /// Milliseconds a query may run before it is abandoned with TIMEOUT.
    #[arg(long, env = "C2C_QUERY_DEADLINE_MS", default_value_t = 10_000)]
    pub query_deadline_ms: u64,
    /// Expensive requests (cost 5,000 or more) run at once in the process; default: 8 on
    /// PostgreSQL, 4 on SQLite.
    #[arg(long, env = "C2C_EXPENSIVE_CONCURRENCY")]
    pub expensive_concurrency: Option<usize>,
    /// Web origins whose pages may call the API (`https://forum.example`); repeat the flag or
    /// separate them with commas. None by default: no CORS headers.
    #[arg(long = "cors-origin", env = "C2C_CORS_ORIGINS", value_delimiter = ',')]
    pub cors_origins: Vec<String>,
    /// Serve /metrics on this address instead of the main one.
    #[arg(long, env = "C2C_METRICS_BIND")]
    pub metrics_bind: Option<String>,
    /// Reverse proxies (IP addresses) whose X-Forwarded-For names the client; repeat the flag
    /// or separate them with commas. None by default: the peer address is the client.
    #[arg(
        long = "trusted-proxy",
        env = "C2C_TRUSTED_PROXIES",
        value_delimiter = ','
    )]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Serve /metrics only with `Authorization: Bearer <token>`.
    #[arg(long, env = "C2C_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// Threads hashing passwords at once (each holds 19 MiB while it works); default: one a core.
    #[arg(long, env = "C2C_HASH_WORKERS")]
    pub hash_workers: Option<usize>,
    /// Sign-ins and registrations that may wait for a hashing thread; beyond them RATE_LIMITED.
    #[arg(long, env = "C2C_HASH_QUEUE", default_value_t = api::auth::DEFAULT_HASH_QUEUE)]
    pub hash_queue: usize,
    /// Milliseconds a request waits for a database connection before it answers UNAVAILABLE.
    #[arg(long, env = "C2C_DB_ACQUIRE_TIMEOUT_MS", default_value_t = 3_000)]
    pub db_acquire_timeout_ms: u64,
    /// PostgreSQL statement_timeout in milliseconds (0: none); rollup builds are exempt.
    #[arg(long, env = "C2C_DB_STATEMENT_TIMEOUT_MS", default_value_t = 10_000)]
    pub db_statement_timeout_ms: u64,
    /// Milliseconds a question waits for the build of its funding-gap grouping before it
    /// answers UNAVAILABLE with retryAfterSeconds (the build goes on; at once when the
    /// grouping's last build took far longer); default: nine tenths of the query deadline.
    #[arg(long, env = "C2C_ROLLUP_BUILD_WAIT_MS")]
    pub rollup_build_wait_ms: Option<u64>,
    /// The most funding-gap groupings questions keep built besides the prepared ones and those
    /// named to prepare-rollups --by (each makes every write dearer): a question asking for one
    /// more drops the one asked for least recently.
    #[arg(long, env = "C2C_ROLLUP_ASKED_GROUPINGS", default_value_t = api::config::DEFAULT_ASKED_GROUPINGS)]
    pub rollup_asked_groupings: usize,
    /// GraphQL operations taking this many milliseconds or more are logged at WARN.
    #[arg(long, env = "C2C_SLOW_OPERATION_MS", default_value_t = 1_000)]
    pub slow_operation_ms: u64,
    /// The key access tokens are signed with, 32 bytes or more (prefer the environment or the
    /// file: flags show in the process list).
    #[arg(long, env = "C2C_JWT_SECRET", hide_env_values = true)]
    pub jwt_secret: Option<String>,
    /// Bytes of anonymous answers the response cache keeps (0: no cache).
    #[arg(long, env = "C2C_RESPONSE_CACHE_BYTES", default_value_t = api::cache::DEFAULT_MAX_BYTES)]
    pub response_cache_bytes: usize,
    /// Milliseconds a cached answer is served at most: how long a write made through another
    /// process takes to show to anonymous readers (0: no cache).
    #[arg(long, env = "C2C_RESPONSE_CACHE_TTL_MS", default_value_t = api::cache::DEFAULT_TTL.as_millis() as u64)]
    pub response_cache_ttl_ms: u64,
    /// Run only the documents of this JSON manifest (SHA-256 hex → document); refuse the rest.
    #[arg(long, env = "C2C_TRUSTED_DOCUMENTS")]
    pub trusted_documents: Option<std::path::PathBuf>,
    /// The publisher's IATI organisation identifier, reported by GET /export/iati/activities.xml.
    #[arg(long = "reporting-org", env = "C2C_IATI_REPORTING_ORG", default_value = DEFAULT_IATI_REPORTING_ORG)]
    pub reporting_org: String,
    /// The largest multipart request (an IATI file uploaded to importIati), in bytes.
    #[arg(long, env = "C2C_MAX_UPLOAD_BYTES", default_value_t = api::config::DEFAULT_MAX_UPLOAD_BYTES)]
    pub max_upload_bytes: usize,
    /// Subscriptions one WebSocket connection may hold at once.
    #[arg(long, env = "C2C_SUBSCRIPTIONS_PER_CONNECTION", default_value_t = SubscriptionSettings::default().per_connection)]
    pub subscriptions_per_connection: usize,
    /// WebSocket connections (subscriptions) one client address may hold at once.
    #[arg(long, env = "C2C_SUBSCRIPTION_CONNECTIONS", default_value_t = SubscriptionSettings::default().connections_per_client)]
    pub subscription_connections: usize,
    /// Events a subscriber may fall behind before it skips the oldest.
    #[arg(long, env = "C2C_SUBSCRIPTION_LAG", default_value_t = SubscriptionSettings::default().lag)]
    pub subscription_lag: usize,
    /// Milliseconds between reads of the change log when no notification came: the longest a
    /// live update waits when one is lost (and, on SQLite, for writes of other processes).
    #[arg(long, env = "C2C_CHANGE_SWEEP_MS", default_value_t = SubscriptionSettings::default().sweep.as_millis() as u64)]
    pub change_sweep_ms: u64,
}

#[derive(Subcommand, Debug, Clone)]
pub enum UserCommand {
    /// Print a one-time token resetting the password of the account of EMAIL (good for 30
    /// minutes); the user sends it with a new password in the resetPassword mutation.
    ResetPassword {
        #[arg(long)]
        email: String,
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
    },
    /// Create an active account; the way to make the first ADMIN.
    Create {
        #[arg(long)]
        email: String,
        /// At least 10 characters.
        #[arg(long, env = "C2C_USER_PASSWORD", hide_env_values = true)]
        password: String,
        /// ADMIN (the other roles come through registration and approval).
        #[arg(long, default_value = "ADMIN")]
        role: String,
        #[arg(long, default_value = "Forum secretariat")]
        name: String,
        #[arg(long, env = "DATABASE_URL", default_value = DEFAULT_DATABASE_URL)]
        database_url: String,
    },
}

/// The settings `serve` runs with; an invalid one is an error naming it.
pub fn settings_of(args: ServeArgs) -> Result<Settings, String> {
    let ServeArgs {
        bind,
        database_url,
        no_seed,
        dev,
        no_direct_answers,
        batch_window_ms,
        client_rate,
        client_burst,
        query_deadline_ms,
        expensive_concurrency,
        cors_origins,
        metrics_bind,
        trusted_proxies,
        metrics_token,
        hash_workers,
        hash_queue,
        db_acquire_timeout_ms,
        db_statement_timeout_ms,
        rollup_build_wait_ms,
        rollup_asked_groupings,
        slow_operation_ms,
        jwt_secret,
        response_cache_bytes,
        response_cache_ttl_ms,
        trusted_documents,
        reporting_org,
        max_upload_bytes,
        subscriptions_per_connection,
        subscription_connections,
        subscription_lag,
        change_sweep_ms,
    } = args;
    let jwt = api::config::jwt_keys(jwt_secret.as_deref(), dev)
        .map_err(|e| format!("jwt_secret: {e}"))?;
    let expensive_concurrency = expensive_concurrency
        .unwrap_or_else(|| api::budget::default_expensive_concurrency(&database_url));
    if hash_workers == Some(0) {
        return Err("hash_workers: at least one thread hashes passwords".into());
    }
    if rollup_asked_groupings == 0 {
        return Err(
            "rollup_asked_groupings: at least one grouping a question asked for is kept".into(),
        );
    }
    Ok(Settings {
        bind,
        database_url,
        seed_if_empty: !no_seed,
        direct_answers: !no_direct_answers,
        batch_window: Duration::from_millis(batch_window_ms),
        jwt,
        budget: api::budget::BudgetSettings {
            client_rate,
            client_burst,
            deadline: Duration::from_millis(query_deadline_ms),
            expensive_concurrency,
        },
        cors_origins,
        metrics_bind,
        metrics_token,
        hashing: api::auth::HashingLimits {
            workers: hash_workers.unwrap_or(api::auth::HashingLimits::default().workers),
            queue: hash_queue,
        },
        database: api::config::DbOptions {
            acquire_timeout: Duration::from_millis(db_acquire_timeout_ms),
            statement_timeout: Duration::from_millis(db_statement_timeout_ms),
            // Past the deadline the client would hear TIMEOUT, which says its query is too
            // costly, where asking again in a moment is the answer.
            build_wait: Some(Duration::from_millis(
                rollup_build_wait_ms.unwrap_or(query_deadline_ms / 10 * 9),
            )),
            asked_groupings: rollup_asked_groupings,
            ..api::config::DbOptions::default()
        },
        trusted_proxies,
        slow_operation: Duration::from_millis(slow_operation_ms),
        response_cache: api::config::CacheSettings {
            max_bytes: response_cache_bytes,
            ttl: Duration::from_millis(response_cache_ttl_ms),
        },
        trusted_documents,
        iati_reporting_org: reporting_org,
        max_upload_bytes,
        subscriptions: SubscriptionSettings {
            per_connection: subscriptions_per_connection.max(1),
            connections_per_client: subscription_connections.max(1),
            lag: subscription_lag.max(1),
            sweep: Duration::from_millis(change_sweep_ms.max(10)),
            ..SubscriptionSettings::default()
        },
    })
}

/// Runs the command, then closes the databases it opened, whether it succeeded or not (see
/// [`App::close`]: on SQLite no write-ahead log is left beside the file).
pub async fn run(loaded: &crate::config_file::Loaded) -> Result<(), String> {
    let opened = Opened::default();
    let result = run_command(loaded, &opened).await;
    opened.close().await;
    result
}

/// The databases a command opened.
#[derive(Default)]
struct Opened(std::sync::Mutex<Vec<App>>);

impl Opened {
    /// Opens the database at `database_url` (migrated, reference data loaded, not seeded).
    async fn open(&self, database_url: &str) -> Result<App, String> {
        let app = App::open_unseeded(database_url)
            .await
            .map_err(|e| e.to_string())?;
        self.apps().push(app.clone());
        Ok(app)
    }

    fn apps(&self) -> std::sync::MutexGuard<'_, Vec<App>> {
        // A panic elsewhere leaves the list as it was: still worth closing.
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    async fn close(self) {
        let apps = std::mem::take(&mut *self.apps());
        for app in apps {
            app.close().await;
        }
    }
}

async fn run_command(loaded: &crate::config_file::Loaded, opened: &Opened) -> Result<(), String> {
    match loaded.cli.command.clone() {
        Command::Serve(args) => {
            let app = Application::build(settings_of(args)?)
                .await
                .map_err(|e| e.to_string())?;
            app.run_until_stopped().await.map_err(|e| e.to_string())
        }
        Command::Config {
            command: ConfigCommand::Check(args),
        } => {
            for line in crate::config_file::describe(loaded) {
                println!("{line}");
            }
            let settings = settings_of(args)?;
            api::startup::checked_origins(&settings.cors_origins).map_err(|e| e.to_string())?;
            api::startup::checked_address("bind", &settings.bind).map_err(|e| e.to_string())?;
            if let Some(address) = &settings.metrics_bind {
                api::startup::checked_address("metrics_bind", address)
                    .map_err(|e| e.to_string())?;
            }
            println!("# the configuration is valid");
            Ok(())
        }
        Command::Migrate { database_url } => {
            opened.open(&database_url).await?;
            println!("migrations applied");
            Ok(())
        }
        Command::Bench {
            database_url,
            practices,
            seed,
            iterations,
        } => {
            tools::bench::run(tools::bench::BenchOptions {
                database_url,
                practices,
                seed,
                iterations,
            })
            .await
        }
        Command::Seed {
            database_url,
            synthetic: true,
            practices,
            seed,
        } => {
            let app = opened.open(&database_url).await?;
            let started = Instant::now();
            let options = SyntheticOptions { practices, seed };
            let progress = Progress::new();
            let report =
                synthetic::seed_synthetic(app.database(), &options, &|stage, done, total| {
                    progress.report(stage, done, total)
                })
                .await
                .map_err(|e| e.to_string())?;
            progress.finish();
            println!(
                "added {} cities, {} donors, {} support schemes, {} practices, {} funding records, {} needs in {:.1?}",
                report.cities,
                report.donors,
                report.schemes,
                report.practices,
                report.funding,
                report.needs,
                started.elapsed()
            );
            prepare_rollups(&app, &[]).await
        }
        Command::Seed { database_url, .. } => {
            let app = opened.open(&database_url).await?;
            let database = app.database();
            if !database.is_empty().await.map_err(|e| e.to_string())? {
                return Err(
                    "the database already holds an information base; seed into an empty one".into(),
                );
            }
            let report = database
                .seed_information_base()
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "seeded {} cities, {} associations, {} donors, {} support schemes, {} practices, {} funding records, {} needs",
                report.cities,
                report.associations,
                report.donors,
                report.schemes,
                report.practices,
                report.funding,
                report.needs
            );
            prepare_rollups(&app, &[]).await
        }
        Command::PrepareRollups { database_url, by } => {
            let app = opened.open(&database_url).await?;
            prepare_rollups(&app, &by).await
        }
        Command::User {
            command:
                UserCommand::Create {
                    email,
                    password,
                    role,
                    name,
                    database_url,
                },
        } => {
            let role = Role::parse(&role).map_err(|e| e.to_string())?;
            if role != Role::Admin {
                return Err(
                    "only ADMIN accounts are created here; others register and are approved".into(),
                );
            }
            let app = opened.open(&database_url).await?;
            let user = app
                .services()
                .accounts()
                .create_active(&email, &password, &name, role, None)
                .await
                .map_err(|e| e.to_string())?;
            println!(
                "created {} account {} (id {})",
                user.role.map(|r| r.as_str()).unwrap_or("?"),
                user.email,
                user.id
            );
            Ok(())
        }
        Command::User {
            command:
                UserCommand::ResetPassword {
                    email,
                    database_url,
                },
        } => {
            let app = opened.open(&database_url).await?;
            let (token, expires) = app
                .services()
                .accounts()
                .issue_reset_token(&email, domain::account::RESET_TOKEN_LIFETIME)
                .await
                .map_err(|e| e.to_string())?;
            println!("password-reset token for {email}, good until {expires} (once):");
            println!("{token}");
            Ok(())
        }
        Command::Export {
            format:
                ExportFormat::Iati {
                    database_url,
                    reporting_org,
                    filter,
                },
        } => {
            // Checked before the database is opened: a misspelt filter exports nothing.
            let filter = api::export::practice_filter(filter.as_deref().unwrap_or(""))
                .map_err(|e| e.to_string())?;
            let app = opened.open(&database_url).await?;
            let started = Instant::now();
            let options = api::export::options(&reporting_org, chrono::Utc::now());
            let stdout = std::io::stdout();
            let mut out = Watched {
                inner: std::io::BufWriter::new(stdout.lock()),
                reader_gone: false,
            };
            // Anonymous: what is exported for publication is the published base.
            let written = api::export::write_iati(
                app.services().exchange(),
                &domain::Actor::Anonymous,
                filter,
                &options,
                &mut out,
            )
            .await;
            match written {
                Ok(written) => {
                    eprintln!("exported {written} activities in {:.1?}", started.elapsed());
                    Ok(())
                }
                // `export iati | head`: the reader had what it wanted.
                Err(_) if out.reader_gone => Ok(()),
                Err(e) => Err(e.to_string()),
            }
        }
        Command::Import {
            format:
                ImportFormat::Iati {
                    files,
                    email,
                    database_url,
                },
        } => {
            let app = opened.open(&database_url).await?;
            let actor = api::import::actor_by_email(&app, &email)
                .await
                .map_err(|e| e.to_string())?;
            let mut failed = 0;
            for file in &files {
                let started = Instant::now();
                match import_file(&app, &actor, file).await {
                    Ok(report) => {
                        println!("{}:", file.display());
                        print!("{}", report.render());
                        eprintln!(
                            "{}: read {} activities in {:.1?}",
                            file.display(),
                            report.created.len()
                                + report.updated.len()
                                + report.unchanged.len()
                                + report.skipped.len(),
                            started.elapsed()
                        );
                    }
                    Err(e) => {
                        failed += 1;
                        eprintln!("{}: not imported, nothing written: {e}", file.display());
                    }
                }
            }
            if failed > 0 {
                return Err(format!("{failed} of {} files not imported", files.len()));
            }
            Ok(())
        }
        Command::ExportSchema => {
            print!("{}", api::graphql::sdl());
            Ok(())
        }
    }
}

/// Imports one file, with a bar of the bytes read on standard error.
async fn import_file(
    app: &App,
    actor: &domain::Actor,
    path: &std::path::Path,
) -> Result<api::import::ImportReport, String> {
    let file = std::fs::File::open(path).map_err(|e| e.to_string())?;
    let total = file.metadata().map(|m| m.len()).unwrap_or(0) as usize;
    let read = Arc::new(AtomicUsize::new(0));
    let input = std::io::BufReader::with_capacity(
        64 * 1024,
        Counted {
            inner: file,
            read: read.clone(),
        },
    );
    let progress = Progress::new();
    let stage = path.display().to_string();
    // The bar ends when the import does, not when the last byte is buffered.
    let report = api::import::import_iati(app, actor, input, &|_| {
        let done = read.load(Ordering::Relaxed).min(total.saturating_sub(1));
        progress.report(&stage, done, total)
    })
    .await
    .map_err(|e| e.to_string());
    progress.report(&stage, total, total);
    progress.finish();
    report
}

/// Counts the bytes read from a file, for the progress bar.
struct Counted<R> {
    inner: R,
    read: Arc<AtomicUsize>,
}

impl<R: std::io::Read> std::io::Read for Counted<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read.fetch_add(n, Ordering::Relaxed);
        Ok(n)
    }
}

/// The app on `database_url`, migrated and with its reference data, seeding nothing.
/// Builds the funding-gap rollups that most groupings are summed from and the groupings `also`
/// (see the command `prepare-rollups`), with progress on standard error.
async fn prepare_rollups(app: &App, also: &[api::Grouping]) -> Result<(), String> {
    let started = Instant::now();
    let progress = Progress::new();
    let built = app
        .database()
        .prepare_rollups_with(also, &|stage, done, total| {
            progress.report(stage, done, total)
        })
        .await
        .map_err(|e| e.to_string())?;
    progress.finish();
    if built.is_empty() {
        println!("the funding-gap rollups were prepared already");
    } else {
        println!(
            "prepared the funding-gap rollups of {} in {:.1?}",
            built.join("; "),
            started.elapsed()
        );
    }
    Ok(())
}

/// Standard output that notes when its reader has closed the pipe, so that an export piped into
/// `head` ends as a Unix filter does, quietly, rather than as a failure.
struct Watched<W> {
    inner: W,
    reader_gone: bool,
}

impl<W: std::io::Write> std::io::Write for Watched<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let written = self.inner.write(buf);
        self.note(written)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        let flushed = self.inner.flush();
        self.note(flushed)
    }
}

impl<W> Watched<W> {
    fn note<T>(&mut self, result: std::io::Result<T>) -> std::io::Result<T> {
        if let Err(e) = &result {
            self.reader_gone |= e.kind() == std::io::ErrorKind::BrokenPipe;
        }
        result
    }
}

/// How many synthetic practices `seed --synthetic` and `bench` take.
fn synthetic_practices() -> clap::builder::RangedU64ValueParser<usize> {
    clap::builder::RangedU64ValueParser::<usize>::new().range(0..=5_000_000)
}
