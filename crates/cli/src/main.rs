//! The `skuld` command: wires the store, the application and (later) the protocol servers
//! together. Parsing lives in `args`, side effects in `commands`, presentation in `render`.

mod args;
mod commands;
mod jobs;
mod render;

use anyhow::Context;
use clap::Parser;

fn main() {
    quiet_on_closed_stdout();
    let cli = args::Cli::parse();
    // Logs go to stderr: off for commands unless RUST_LOG asks for them; the server logs every
    // request and its background work at info.
    let default = if matches!(cli.command, args::Command::Serve(_)) {
        "info,sqlx=warn"
    } else {
        "off"
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| default.into()),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .init();
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            std::process::exit(1);
        }
    };
    match rt.block_on(run(cli)) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::exit(1);
        }
    }
}

/// `skuld … | head -1` closes stdout early; `println!` then panics on EPIPE. A reader that
/// stopped reading is not an error: exit quietly with the shell's SIGPIPE status (128 + 13), as
/// `cat`, `grep` and friends do, instead of printing a panic and exiting 101 (issue 7 item 12).
/// (Restoring SIGPIPE's default action would need `unsafe` libc calls, which the workspace
/// forbids.) Every other panic keeps the default report.
fn quiet_on_closed_stdout() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        let msg = info
            .payload()
            .downcast_ref::<String>()
            .map(String::as_str)
            .or_else(|| info.payload().downcast_ref::<&str>().copied())
            .unwrap_or("");
        if msg.starts_with("failed printing to stdout") && msg.contains("Broken pipe") {
            std::process::exit(141);
        }
        default(info);
    }));
}

/// The database URL: `--db`/`SKULD_DB`, else `skuld.db` in the current directory.
fn database_url(db: &Option<String>) -> String {
    db.clone().unwrap_or_else(|| "skuld.db".to_string())
}

async fn run(cli: args::Cli) -> anyhow::Result<i32> {
    let out = render::Out { json: cli.json };
    if let args::Command::Bench(b) = &cli.command {
        // Benchmarks make their own tenants; by default on a throwaway database so they never
        // touch real data.
        let dir = tempfile::tempdir().context("creating a temporary directory")?;
        let url = cli
            .db
            .clone()
            .unwrap_or_else(|| dir.path().join("bench.db").display().to_string());
        let app = skuld_app::App::open(&url)
            .await
            .with_context(|| format!("opening database {url}"))?;
        return commands::bench(&app, b, &out).await;
    }
    let url = database_url(&cli.db);
    let app = skuld_app::App::open(&url)
        .await
        .with_context(|| format!("opening database {url}"))?;
    if let args::Command::Serve(s) = cli.command {
        return commands::serve(app, s, &url).await;
    }
    // Group license jobs a previous process left unfinished run before anything else, so
    // every command sees a consistent directory (D13; `serve` does this in its worker).
    // A job that fails is recorded (see `skuld job list`) and never stops the command. A job
    // another process holds is waited for a little: a live server finishes it, and a crashed
    // process's lease expires within seconds.
    match app.settle_jobs(std::time::Duration::from_secs(20)).await {
        Ok(0) => {}
        Ok(n) => eprintln!("finished {n} group license job(s) an earlier run left open"),
        Err(e) => eprintln!("warning: cannot run open group license jobs: {e}"),
    }
    commands::dispatch(&app, cli.tenant.as_deref(), cli.command, &out).await
}
