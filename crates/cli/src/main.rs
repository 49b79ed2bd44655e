//! `c2c-forum`: serves the API and administers its database (see `commands`).

mod commands;

use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    api::telemetry::init();
    let cli = commands::Cli::parse();
    match commands::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("c2c-forum: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
