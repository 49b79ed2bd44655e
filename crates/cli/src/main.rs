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
