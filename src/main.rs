//! The thin binary: parses flags, loads configuration, sets up logging, calls the
//! library, and maps the outcome to an exit code (0 pass, 1 fail, 2 configuration or
//! usage error). Everything testable lives in the library.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use wp_sentinel::cli::{self, EXIT_CONFIG};
use wp_sentinel::config::{self, Config, Flags};
use wp_sentinel::verdict::Probe;

#[derive(Parser, Debug)]
#[command(
    name = "wp-sentinel",
    version,
    about = "Health-probe sidecar and self-healing agent for WordPress on Kubernetes"
)]
struct Cli {
    /// Address to serve probes on [env: WP_SENTINEL_LISTEN] [default: 0.0.0.0:9090]
    #[arg(long, global = true)]
    listen: Option<String>,
    /// WordPress on loopback [env: WP_SENTINEL_WORDPRESS_URL] [default: http://127.0.0.1:80/]
    #[arg(long, global = true)]
    wordpress_url: Option<String>,
    /// The wp-config.php to watch [env: WP_SENTINEL_WP_CONFIG] [default: /var/www/html/wp-config.php]
    #[arg(long, global = true)]
    wp_config: Option<String>,
    /// A TOML configuration file; an error if it does not exist [env: WP_SENTINEL_CONFIG]
    #[arg(long, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the sidecar: background checks and the probe server.
    Serve,
    /// Run every check once, print a report; exit 0 when the probe passes, 1 when it fails.
    Check {
        /// Which probe's verdict sets the exit code.
        #[arg(long, value_enum, default_value = "ready")]
        probe: ProbeArg,
    },
    /// GET a URL; exit 0 on 2xx/3xx, 1 otherwise, 2 for a bad URL or --timeout (for
    /// exec probes without curl).
    Probe {
        url: String,
        /// Give up after this long (such as 1s or 500ms).
        #[arg(long, default_value = "1s")]
        timeout: String,
    },
    /// Print the effective configuration, secrets masked.
    Config {
        /// Print instead the contract as JSON: every key with its variable and
        /// default, every metric with its type (reads no configuration).
        #[arg(long)]
        contract: bool,
    },
    /// Print what the reader understood of wp-config.php (secrets masked) and its
    /// drift from the desired settings; exit 0 no drift, 1 drift.
    Wpconfig {
        /// The file to read [default: the configured wp_config]
        path: Option<PathBuf>,
    },
}

#[derive(Clone, Copy, Debug, ValueEnum)]
enum ProbeArg {
    Live,
    Ready,
    Startup,
}

fn main() -> ExitCode {
    // Both TLS providers can end up compiled in through dependencies; pick ring
    // explicitly so the first TLS connection cannot panic over the choice.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("wp-sentinel: cannot start the runtime: {error}");
            return ExitCode::from(1);
        }
    };
    let code = match cli.command {
        Command::Probe {
            ref url,
            ref timeout,
        } => match config::parse_duration(timeout) {
            Some(timeout) => emit(runtime.block_on(cli::probe(url, timeout))),
            None => {
                eprintln!(
                    "wp-sentinel: --timeout: expected a duration such as 1s, found {timeout:?}"
                );
                EXIT_CONFIG
            }
        },
        Command::Config { contract: true } => {
            emit((format!("{:#}\n", config::contract::contract()), 0))
        }
        _ => match load(&cli) {
            Err(code) => code,
            Ok(config) => match cli.command {
                Command::Serve => serve(&runtime, config),
                Command::Check { probe } => {
                    emit(runtime.block_on(cli::check(&config, probe.into())))
                }
                Command::Config { .. } => emit((cli::describe(&config), 0)),
                Command::Wpconfig { ref path } => emit(cli::wpconfig(&config, path.as_deref())),
                Command::Probe { .. } => EXIT_CONFIG,
            },
        },
    };
    // Dropping the runtime would wait for every blocking thread, and one stuck in a
    // read of a hung volume never returns: give them a moment, then exit anyway.
    runtime.shutdown_timeout(BLOCKING_GRACE);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// How long the blocking threads get after the work is done (see `main`).
const BLOCKING_GRACE: std::time::Duration = std::time::Duration::from_millis(500);

impl From<ProbeArg> for Probe {
    fn from(arg: ProbeArg) -> Probe {
        match arg {
            ProbeArg::Live => Probe::Live,
            ProbeArg::Ready => Probe::Ready,
            ProbeArg::Startup => Probe::Startup,
        }
    }
}

/// Variables whose bytes are not UTF-8 would read as unset (a false drift that fails
/// `/livez`, or a default in place of a setting): each is an error naming it.
fn non_utf8_variables() -> Vec<String> {
    std::env::vars_os()
        .filter_map(|(name, value)| {
            let name = name.to_str()?.to_string();
            let ours = name.starts_with("WORDPRESS_") || name.starts_with("WP_SENTINEL_");
            (ours && value.to_str().is_none()).then_some(name)
        })
        .collect()
}

fn load(cli: &Cli) -> Result<Config, i32> {
    let non_utf8 = non_utf8_variables();
    if !non_utf8.is_empty() {
        for name in &non_utf8 {
            eprintln!("wp-sentinel: configuration error: {name}: not valid UTF-8");
        }
        return Err(EXIT_CONFIG);
    }
    let env = |name: &str| std::env::var(name).ok();
    let path = config::config_path(cli.config.as_deref(), &env);
    let flags = Flags {
        listen: cli.listen.clone(),
        wordpress_url: cli.wordpress_url.clone(),
        wp_config: cli.wp_config.clone(),
    };
    Config::load(path.as_deref(), &flags, &env).map_err(|errors| {
        for line in &errors.0 {
            eprintln!("wp-sentinel: configuration error: {line}");
        }
        EXIT_CONFIG
    })
}

fn emit((report, code): (String, i32)) -> i32 {
    print!("{report}");
    code
}

fn serve(runtime: &tokio::runtime::Runtime, config: Config) -> i32 {
    wp_sentinel::logging::init(config.log.format, &config.log.level);
    let listen: SocketAddr = config.listen;
    runtime.block_on(async move {
        let listener = match tokio::net::TcpListener::bind(listen).await {
            Ok(listener) => listener,
            Err(error) => {
                tracing::error!(%listen, %error, "cannot listen");
                return 1;
            }
        };
        match wp_sentinel::run(config, listener, wp_sentinel::shutdown::signal()).await {
            Ok(()) => 0,
            Err(error) => {
                tracing::error!(%error, "wp-sentinel failed");
                1
            }
        }
    })
}
