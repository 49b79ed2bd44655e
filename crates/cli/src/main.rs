//! `c2c-forum`: serves the API and administers its database (see `commands`).

mod commands;

use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let cli = commands::Cli::parse();
    api::telemetry::init_with(cli.log_format);
    match commands::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("c2c-forum: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
