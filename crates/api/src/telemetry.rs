//! Logging: `RUST_LOG` decides what is printed (default `info`), as text or as one JSON object a
//! line (`--log-format json`) for log collectors. Optionally the spans (one per request, with its
//! id, method, path and status) are also exported as OpenTelemetry traces over OTLP/HTTP.

use std::str::FromStr;
use std::sync::atomic::{AtomicBool, Ordering};

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::WithExportConfig;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use std::io::IsTerminal;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Layer};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum LogFormat {
    #[default]
    Text,
    /// One JSON object a line: `timestamp`, `level`, `message` and the event's fields at the top
    /// level, the enclosing spans (the request and its `request_id`) under `spans`.
    Json,
}

impl FromStr for LogFormat {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "text" => Ok(LogFormat::Text),
            "json" => Ok(LogFormat::Json),
            other => Err(format!("unknown log format {other:?}: text or json")),
        }
    }
}

impl LogFormat {
    pub fn as_str(self) -> &'static str {
        match self {
            LogFormat::Text => "text",
            LogFormat::Json => "json",
        }
    }
}

/// Where traces go: an OpenTelemetry collector's OTLP/HTTP base address (`/v1/traces` is added,
/// as for `OTEL_EXPORTER_OTLP_ENDPOINT`) and the `service.name` they carry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Otlp {
    pub endpoint: String,
    pub service_name: String,
}

/// What [`init_with`] started; [`Telemetry::shutdown`] sends the traces still buffered.
#[must_use = "shut it down at exit, or the last traces are lost"]
pub struct Telemetry {
    provider: Option<SdkTracerProvider>,
}

impl Telemetry {
    /// Flushes and stops the trace export. Blocks until the collector has answered (or its
    /// timeout): call it outside the async runtime.
    pub fn shutdown(self) {
        if let Some(provider) = self.provider
            && let Err(e) = provider.shutdown()
        {
            eprintln!("c2c-forum: the last traces were not exported: {e}");
        }
    }
}

static EXPORTS_TRACES: AtomicBool = AtomicBool::new(false);

/// Whether spans go to a collector (so that spans fill in what only traces need).
pub fn exports_traces() -> bool {
    EXPORTS_TRACES.load(Ordering::Relaxed)
}

/// Installs the global subscriber once, as text on standard output; later calls (tests start
/// many apps) do nothing.
pub fn init() {
    install(LogFormat::Text, std::io::stdout);
}

/// Where the log lines go.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLines {
    /// Standard output: the server's, which prints nothing else.
    Stdout,
    /// Standard error: a command's whose standard output is its result (an IATI document, a
    /// report, a token), which log lines would corrupt.
    Stderr,
}

/// Logs in `format` to `lines` and, with `otlp`, exports traces. Builds the exporter's HTTP
/// client, which must not happen inside the async runtime: call it before starting one.
pub fn init_with(
    format: LogFormat,
    otlp: Option<&Otlp>,
    lines: LogLines,
) -> Result<Telemetry, String> {
    let provider = otlp.map(tracer_provider).transpose()?;
    let tracer = provider.as_ref().map(|p| p.tracer("c2c-forum"));
    let installed = match lines {
        LogLines::Stdout => {
            let ansi = std::io::stdout().is_terminal();
            subscriber(format, std::io::stdout, ansi, tracer)
        }
        LogLines::Stderr => {
            let ansi = std::io::stderr().is_terminal();
            subscriber(format, std::io::stderr, ansi, tracer)
        }
    };
    if installed && provider.is_some() {
        EXPORTS_TRACES.store(true, Ordering::Relaxed);
    }
    Ok(Telemetry { provider })
}

fn tracer_provider(otlp: &Otlp) -> Result<SdkTracerProvider, String> {
    let endpoint = format!("{}/v1/traces", otlp.endpoint.trim_end_matches('/'));
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_endpoint(endpoint.clone())
        .with_timeout(std::time::Duration::from_secs(5))
        .build()
        .map_err(|e| format!("the OTLP exporter to {endpoint} cannot start: {e}"))?;
    Ok(SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(
            Resource::builder()
                .with_service_name(otlp.service_name.clone())
                .build(),
        )
        .build())
}

/// Installs the global subscriber writing to `writer`, unless one is installed already; tells
/// whether this call installed it.
pub fn install<W>(format: LogFormat, writer: W) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    subscriber(format, writer, false, None)
}

/// `ansi`: colours in text lines, for a terminal only (in a file or a log collector they are
/// escape codes around every field).
fn subscriber<W>(
    format: LogFormat,
    writer: W,
    ansi: bool,
    tracer: Option<opentelemetry_sdk::trace::Tracer>,
) -> bool
where
    W: for<'a> MakeWriter<'a> + Send + Sync + 'static,
{
    let filter = EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| EnvFilter::new("info,sqlx=warn,sea_orm=warn"));
    let lines = tracing_subscriber::fmt::layer()
        .with_target(false)
        .with_ansi(ansi)
        .with_writer(writer);
    let lines = match format {
        LogFormat::Text => lines.boxed(),
        LogFormat::Json => lines
            .json()
            .flatten_event(true)
            .with_current_span(false)
            .with_span_list(true)
            .boxed(),
    };
    let traces = tracer.map(|t| tracing_opentelemetry::layer().with_tracer(t));
    // The filter applies to both: a span RUST_LOG leaves out is neither logged nor exported.
    tracing_subscriber::registry()
        .with(filter)
        .with(traces)
        .with(lines)
        .try_init()
        .is_ok()
}
