//! `c2c-forum`: serves the API and administers its database (see `commands`).

// The schema's resolvers nest deeply enough that the release build's layout of their futures
// passes the default limit of 128.
#![recursion_limit = "256"]

mod commands;
mod config_file;

fn main() -> std::process::ExitCode {
    bound_malloc_arenas();
    let loaded = match config_file::load(std::env::args_os().collect()) {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("c2c-forum: {message}");
            return std::process::ExitCode::from(2);
        }
    };
    // Before the runtime starts: the trace exporter's HTTP client must be built outside it.
    let telemetry =
        match api::telemetry::init_with(loaded.cli.log_format, loaded.cli.otlp().as_ref()) {
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

/// glibc's allocator gives each thread that allocates concurrently an arena of its own, up to
/// eight per core, and keeps what an arena once held: the runtime's workers, the database
/// pool's threads (SQLite runs each connection on one) and the blocking pool each grow one
/// under load, which resident memory then keeps (57 MiB instead of 47 under the load benchmark
/// on SQLite). Two arenas cost nothing measurable in throughput there. `MALLOC_ARENA_MAX` in
/// the environment, which glibc reads itself, still decides.
fn bound_malloc_arenas() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    if std::env::var_os("MALLOC_ARENA_MAX").is_none() {
        // SAFETY: mallopt only sets a parameter of the allocator; called first thing in main,
        // before any other thread exists.
        unsafe {
            libc::mallopt(libc::M_ARENA_MAX, 2);
        }
    }
}
