//! `c2c-forum`: serves the API and administers its database (see `commands`).

mod commands;
mod config_file;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    let loaded = match config_file::load(std::env::args_os().collect()) {
        Ok(loaded) => loaded,
        Err(message) => {
            eprintln!("c2c-forum: {message}");
            return std::process::ExitCode::from(2);
        }
    };
    api::telemetry::init_with(loaded.cli.log_format);
    match commands::run(&loaded).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("c2c-forum: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
