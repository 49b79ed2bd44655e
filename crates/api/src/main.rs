use clap::Parser;

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    api::telemetry::init();
    let cli = api::cli::Cli::parse();
    match api::cli::run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("c2c-forum: {message}");
            std::process::ExitCode::FAILURE
        }
    }
}
