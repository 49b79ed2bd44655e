//! `c2c-forum`: serves the API and administers its database (see `commands`).

// The schema's resolvers nest deeply enough that the release build's layout of their futures
// passes the default limit of 128.
#![recursion_limit = "256"]

mod commands;
mod config_file;

fn main() -> std::process::ExitCode {
    let loaded = match config_file::load(std::env::args_os().collect()) {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("c2c-forum: {message}");
            return std::process::ExitCode::from(2);
        }
    };
    // The server logs to standard output; every other command prints its result there, so
    // its log lines go to standard error.
    let lines = match loaded.cli.command {
        commands::Command::Serve(_) => api::telemetry::LogLines::Stdout,
        _ => api::telemetry::LogLines::Stderr,
    };
    // Before the runtime starts: the trace exporter's HTTP client must be built outside it.
    let telemetry =
        match api::telemetry::init_with(loaded.cli.log_format, loaded.cli.otlp().as_ref(), lines) {
            Ok(telemetry) => telemetry,
            Err(message) => {
                eprintln!("c2c-forum: {message}");
                return std::process::ExitCode::from(2);
            }
        };
    let outcome = actix_web::rt::System::new().block_on(commands::run(&loaded));
    telemetry.shutdown();
    match outcome {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("c2c-forum: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}

/// jemalloc instead of glibc's allocator, for Rust's allocations and (unprefixed) for the C code
/// linked in, SQLite among them. Under the load benchmark on SQLite it answered 1.4-1.8 times as
/// many requests a second as glibc's (simple list, donor page, `fundingGaps`, `schemeOverlaps`),
/// whose arenas and per-thread caches the runtime's workers and SQLite's connection threads
/// contend for, its peak resident memory within 4 MiB of theirs.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[global_allocator]
static ALLOCATOR: tikv_jemallocator::Jemalloc = tikv_jemallocator::Jemalloc;

/// jemalloc's options, read once at its start; `MALLOC_CONF` in the environment is read after
/// them and wins. One arena: a second one (purged in the background) cost 8 MiB more at peak on
/// SQLite for 2-9 % more answers a second (threads keep their own caches of small blocks either
/// way). Unused pages go back
/// to the system half a second after they were freed rather than ten, and at once rather than
/// being kept as lazily freed, so a burst's working set does not stay resident.
#[cfg(all(target_os = "linux", target_env = "gnu"))]
#[unsafe(no_mangle)]
#[allow(non_upper_case_globals)]
pub static malloc_conf: &[u8; 62] =
    b"narenas:1,tcache_max:4096,dirty_decay_ms:500,muzzy_decay_ms:0\0";
