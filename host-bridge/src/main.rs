//! `host-bridge`: serve the join web app over a loopback WebSocket, or act like dsregcmd
//! (`status`, `leave`) and join without a browser (`join`).

use std::io::{BufRead, Write};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context, Result};
use clap::{Parser, Subcommand, ValueEnum};
use cxh_wire::bridge::{Edition, HostFlow};
use host_bridge::config::{default_device_name, BridgeConfig};
use host_bridge::http::build_client;
use host_bridge::join::JoinContext;
use host_bridge::keys::KeyProvider;
use host_bridge::scripted::{join_with_password, Credentials, PhaseClock};
use host_bridge::secret::Secret;
use host_bridge::server::{start, write_ready_file, BridgeState, ReadyInfo};
use host_bridge::status::{collect_at, render_text};
use host_bridge::store::MachineStore;
use host_bridge::tpm::{default_tcti, provider_for_policy, KeyProtection, Tpm};

#[derive(Parser)]
#[command(
    name = "host-bridge",
    version,
    about = "Native host of the Entra ID join web app, and a dsregcmd-like CLI"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the join web app over a loopback WebSocket.
    Serve(ServeArgs),
    /// Show the join state like `dsregcmd /status`.
    Status(StatusArgs),
    /// Remove the local join, and the device object at DRS when it can be reached.
    Leave(LeaveArgs),
    /// Join without a browser (password grant), printing each phase.
    Join(JoinArgs),
    /// Time each TPM step of a join (median of several rounds) against a TPM or swtpm.
    TpmBench(TpmBenchArgs),
    /// Retry the MDM enrollment of a joined device (signs in for the MDM app; password on stdin).
    MdmEnroll(MdmEnrollArgs),
    /// First sign-in after the join: get the user's PRT (password read from stdin).
    SignIn(SignInArgs),
    /// OOBE automatic sign-in: get the PRT with the buffer the join prepared, then remove it.
    Logon(PrtTargetArgs),
    /// The Primary Refresh Token: show its state (no secrets) or renew it.
    Prt {
        #[command(subcommand)]
        command: PrtCommand,
    },
    /// A token for an app through the PRT, silently (exit 4 when interaction is required).
    Token(TokenArgs),
    /// The token broker (WAM): serve com.microsoft.identity.broker1 on the session bus.
    Broker(BrokerArgs),
    /// The SSO extension's native messaging host (Chromium starts it; not for people).
    SsoNativeHost(SsoNativeHostArgs),
    /// Register the SSO extension's native messaging host with Chromium (once per user).
    SsoInstall(SsoInstallArgs),
}

#[derive(clap::Args)]
struct SsoNativeHostArgs {
    #[arg(long)]
    state_dir: PathBuf,
    /// D-Bus address of the broker (unix:path=…) [default: the session bus]
    #[arg(long)]
    bus_address: Option<String>,
    /// What Chromium passes: the caller's origin (and on some platforms more).
    #[arg(trailing_var_arg = true, allow_hyphen_values = true)]
    chromium_args: Vec<String>,
}

#[derive(clap::Args)]
struct SsoInstallArgs {
    /// The joined device's state dir (the native host reads its authority there).
    #[arg(long)]
    state_dir: PathBuf,
    /// Where to write the manifest [default: ~/.config/chromium/NativeMessagingHosts]
    #[arg(long, conflicts_with = "system")]
    manifest_dir: Option<PathBuf>,
    /// For every user of this machine (/etc/chromium/native-messaging-hosts; needs root).
    #[arg(long)]
    system: bool,
    /// D-Bus address of the broker, when it is not on the session bus.
    #[arg(long)]
    bus_address: Option<String>,
}

#[derive(clap::Args)]
struct BrokerArgs {
    #[command(flatten)]
    target: PrtTargetArgs,
    /// D-Bus address to serve on (unix:path=…) [default: the session bus]
    #[arg(long)]
    bus_address: Option<String>,
    /// How often to look for PRTs due for renewal (also done at start).
    #[arg(long, default_value_t = 1800)]
    renew_every_secs: u64,
    /// Write the broker's pid here once it owns its bus name.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Command that opens the interactive sign-in window (given a file to open)
    /// [default: $BROWSER, else xdg-open]
    #[arg(long)]
    browser: Option<String>,
}

#[derive(Subcommand)]
enum PrtCommand {
    /// Show every user's PRT metadata.
    Show {
        #[arg(long)]
        state_dir: PathBuf,
        #[arg(long)]
        json: bool,
    },
    /// Time each TPM operation of the PRT path (median of several rounds).
    Bench {
        /// TCTI of the TPM [default: $TPM2TOOLS_TCTI, else $TCTI, else device:/dev/tpmrm0]
        #[arg(long)]
        tpm_tcti: Option<String>,
        #[arg(long, default_value_t = 5)]
        rounds: usize,
    },
    /// Renew a PRT now (session-key signed).
    Renew {
        #[command(flatten)]
        target: PrtTargetArgs,
        #[arg(long)]
        username: Option<String>,
    },
}

#[derive(clap::Args)]
struct PrtTargetArgs {
    #[arg(long)]
    state_dir: PathBuf,
    /// TCTI of the TPM [default: the one recorded at join time]
    #[arg(long)]
    tpm_tcti: Option<String>,
    /// Extra CA bundle (PEM) to trust for the authority.
    #[arg(long)]
    ca_file: Option<PathBuf>,
}

impl PrtTargetArgs {
    fn target(&self) -> host_bridge::prt::cli::Target<'_> {
        host_bridge::prt::cli::Target {
            state_dir: &self.state_dir,
            tpm_tcti: self.tpm_tcti.as_deref(),
            ca_file: self.ca_file.as_deref(),
        }
    }
}

#[derive(clap::Args)]
struct SignInArgs {
    #[command(flatten)]
    target: PrtTargetArgs,
    #[arg(long)]
    username: String,
    /// Read the password from the first line of stdin (required: never on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
}

#[derive(clap::Args)]
struct TokenArgs {
    #[command(flatten)]
    target: PrtTargetArgs,
    #[arg(long)]
    client_id: String,
    #[arg(
        long,
        conflicts_with = "resource",
        required_unless_present = "resource"
    )]
    scope: Option<String>,
    #[arg(long)]
    resource: Option<String>,
    /// The user [default: the one who joined]
    #[arg(long)]
    username: Option<String>,
}

#[derive(Clone, Copy, ValueEnum)]
enum KeyProtectionArg {
    /// Keys must be in the TPM; a join fails when none answers.
    Tpm,
    /// Keys in the TPM when one answers, else software keys (recorded in join-info).
    #[value(name = "tpm_if_possible")]
    TpmIfPossible,
    /// Software keys only.
    Software,
}

/// Where the keys live: `--key-protection` and `--tpm-tcti`.
#[derive(clap::Args)]
struct KeyArgs {
    /// Where the device keys live
    #[arg(long, value_enum, default_value = "tpm_if_possible")]
    key_protection: KeyProtectionArg,
    /// TCTI of the TPM, e.g. device:/dev/tpmrm0 or swtpm:host=127.0.0.1,port=2321
    /// [default: $TPM2TOOLS_TCTI, else $TCTI, else device:/dev/tpmrm0]
    #[arg(long)]
    tpm_tcti: Option<String>,
}

impl KeyArgs {
    fn provider(&self) -> Result<Arc<dyn KeyProvider>> {
        let policy = match self.key_protection {
            KeyProtectionArg::Tpm => KeyProtection::Tpm,
            KeyProtectionArg::TpmIfPossible => KeyProtection::TpmIfPossible,
            KeyProtectionArg::Software => KeyProtection::Software,
        };
        let tcti = self.tpm_tcti.clone().unwrap_or_else(default_tcti);
        let provider = provider_for_policy(policy, &tcti)?;
        tracing::info!(
            policy = policy.as_str(),
            provider = provider.name(),
            "key protection"
        );
        Ok(provider)
    }
}

#[derive(clap::Args)]
struct MdmEnrollArgs {
    /// Directory of the machine store of the joined device
    #[arg(long)]
    state_dir: PathBuf,
    /// The joining user (or another in MDM scope) signs in for the MDM application.
    #[arg(long)]
    username: String,
    /// Read the password from the first line of stdin (required: never on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
    /// Extra PEM CA bundle to trust for HTTPS
    #[arg(long)]
    ca_file: Option<PathBuf>,
    #[command(flatten)]
    keys: KeyArgs,
}

#[derive(clap::Args)]
struct TpmBenchArgs {
    /// TCTI of the TPM [default: $TPM2TOOLS_TCTI, else $TCTI, else device:/dev/tpmrm0]
    #[arg(long)]
    tpm_tcti: Option<String>,
    /// Rounds to take the median of
    #[arg(long, default_value_t = 5)]
    rounds: usize,
}

#[derive(Clone, Copy, ValueEnum)]
enum FlowArg {
    Oobe,
    Settings,
}

#[derive(Clone, Copy, ValueEnum)]
enum EditionArg {
    Professional,
    Enterprise,
    Home,
}

#[derive(clap::Args)]
struct ServeArgs {
    /// Base URL of the authority (Entra sign-in service), e.g. https://login.microsoftonline.com
    #[arg(long)]
    authority: String,
    /// Base URL of the Device Registration Service [default: the authority]
    #[arg(long)]
    drs: Option<String>,
    /// Directory of the machine store (join, keys, certificate); created when missing
    #[arg(long)]
    state_dir: PathBuf,
    /// Origin allowed to open the WebSocket (repeatable), e.g. http://127.0.0.1:8080
    #[arg(long = "allowed-origin", required = true)]
    allowed_origins: Vec<String>,
    /// Loopback address to listen on (port 0: any free port)
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Where the experience runs: OOBE (dark, full screen) or Settings (light, embedded)
    #[arg(long, value_enum, default_value = "oobe")]
    flow: FlowArg,
    /// Windows edition, which decides the first page in OOBE
    #[arg(long, value_enum, default_value = "professional")]
    edition: EditionArg,
    /// Device name registered at DRS [default: the host name]
    #[arg(long)]
    device_name: Option<String>,
    /// UI language the page should use (BCP 47, e.g. de-DE, ar-SA); the browser's otherwise.
    #[arg(long)]
    language: Option<String>,
    /// Settings flow: origin of the page embedding the app in an iframe; the app posts the
    /// join's outcome (with the device id) to this origin only.
    #[arg(long)]
    embedder_origin: Option<String>,
    /// Let the page leave the organization of a joined device (a "Leave" button; the page
    /// names the `leave` command otherwise). `--allow-leave=false` turns it off
    /// [default: on in the Settings flow, off in OOBE]
    #[arg(long, num_args = 0..=1, default_missing_value = "true", require_equals = true)]
    allow_leave: Option<bool>,
    /// Extra PEM CA bundle to trust for HTTPS.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Write {"ws_url","secret","pid"} here (0600) once listening.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Write a page (0600) that sends a browser on to the launch URL with the secret; open it
    /// as file://FILE instead of putting the secret on a command line. Removed after the
    /// first valid hello.
    #[arg(long)]
    handoff_page: Option<PathBuf>,
    /// The join web app the handoff page opens [default: {authority}/WebApp/CloudDomainJoin/4]
    #[arg(long)]
    app_url: Option<String>,
    /// On SIGTERM/SIGINT, how long a running join may take to finish before it is stopped at
    /// a safe point (seconds)
    #[arg(long, default_value_t = 60)]
    stop_grace_secs: u64,
    #[command(flatten)]
    keys: KeyArgs,
}

#[derive(clap::Args)]
struct StatusArgs {
    /// Directory of the machine store
    #[arg(long)]
    state_dir: PathBuf,
    /// Print the status as JSON instead of dsregcmd-like text
    #[arg(long)]
    json: bool,
    /// TCTI of the TPM holding the keys [default: the one recorded at join time]
    #[arg(long)]
    tpm_tcti: Option<String>,
    /// Extra PEM CA bundle to trust for HTTPS to DRS.
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Do not ask the tenant (DeviceAuthStatus from the local checks only).
    #[arg(long)]
    offline: bool,
}

#[derive(clap::Args)]
struct LeaveArgs {
    /// Directory of the machine store
    #[arg(long)]
    state_dir: PathBuf,
    /// Authority to sign in at (for --username); defaults to the one of the join.
    #[arg(long)]
    authority: Option<String>,
    /// DRS to delete the device from; defaults to the authority given, else the join's.
    #[arg(long)]
    drs: Option<String>,
    /// Fallback when the device certificate cannot authenticate the DELETE: sign in as this
    /// user (password read from stdin).
    #[arg(long, requires = "password_stdin")]
    username: Option<String>,
    /// Read the password from the first line of stdin (never on the command line)
    #[arg(long)]
    password_stdin: bool,
    /// Extra PEM CA bundle to trust for HTTPS
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// TCTI of the TPM holding the device key [default: the one recorded at join time]
    #[arg(long)]
    tpm_tcti: Option<String>,
}

#[derive(clap::Args)]
struct JoinArgs {
    /// Base URL of the authority (Entra sign-in service), e.g. https://login.microsoftonline.com
    #[arg(long)]
    authority: String,
    /// Base URL of the Device Registration Service [default: the authority]
    #[arg(long)]
    drs: Option<String>,
    /// The work or school account that joins the device (UPN)
    #[arg(long)]
    username: String,
    /// Read the password from the first line of stdin (required: never on the command line).
    #[arg(long, required = true)]
    password_stdin: bool,
    /// Directory of the machine store (join, keys, certificate); created when missing
    #[arg(long)]
    state_dir: PathBuf,
    /// Device name registered at DRS [default: the host name]
    #[arg(long)]
    device_name: Option<String>,
    /// Extra PEM CA bundle to trust for HTTPS
    #[arg(long)]
    ca_file: Option<PathBuf>,
    /// Print one `timing <step> <ms>` line per step at the end.
    #[arg(long)]
    timings: bool,
    #[command(flatten)]
    keys: KeyArgs,
}

#[tokio::main]
async fn main() -> Result<()> {
    init_tracing();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
        Command::Status(args) => status(args).await,
        Command::Leave(args) => leave(args).await,
        Command::Join(args) => join(args).await,
        Command::TpmBench(args) => tpm_bench(args),
        Command::MdmEnroll(args) => mdm_enroll(args).await,
        Command::SignIn(args) => {
            let password = read_password_from_stdin()?;
            let summary = host_bridge::prt::cli::sign_in(
                &args.target.target(),
                &args.username,
                password.expose(),
            )
            .await?;
            print!("{}", host_bridge::prt::cli::render(&[summary]));
            Ok(())
        }
        Command::Logon(args) => {
            let summary = host_bridge::prt::cli::logon(&args.target()).await?;
            print!("{}", host_bridge::prt::cli::render(&[summary]));
            Ok(())
        }
        Command::Prt { command } => match command {
            PrtCommand::Show { state_dir, json } => {
                let summaries = host_bridge::prt::cli::show(&state_dir);
                if json {
                    println!("{}", serde_json::to_string_pretty(&summaries)?);
                } else {
                    print!("{}", host_bridge::prt::cli::render(&summaries));
                }
                Ok(())
            }
            PrtCommand::Bench { tpm_tcti, rounds } => {
                let tcti = tpm_tcti.unwrap_or_else(host_bridge::tpm::default_tcti);
                let tpm = host_bridge::tpm::Tpm::new(&tcti)?;
                for (step, ms) in host_bridge::tpm::bench_prt::run(&tpm, rounds)? {
                    println!("timing {step} {ms:.1}");
                }
                Ok(())
            }
            PrtCommand::Renew { target, username } => {
                let summary =
                    host_bridge::prt::cli::renew(&target.target(), username.as_deref()).await?;
                print!("{}", host_bridge::prt::cli::render(&[summary]));
                Ok(())
            }
        },
        Command::Broker(args) => {
            let bus = match args.bus_address {
                Some(address) => host_bridge::broker::dbus::Bus::Address(address),
                None => host_bridge::broker::dbus::Bus::Session,
            };
            host_bridge::broker::daemon::run(
                &args.target.target(),
                &bus,
                std::time::Duration::from_secs(args.renew_every_secs.max(1)),
                args.ready_file.as_deref(),
                sign_in_window(args.browser),
            )
            .await
        }
        Command::SsoNativeHost(args) => sso_native_host(args).await,
        Command::SsoInstall(args) => sso_install(args),
        Command::Token(args) => {
            let audience = match (&args.scope, &args.resource) {
                (Some(scope), _) => host_bridge::prt::client::Audience::Scope(scope.clone()),
                (None, Some(resource)) => {
                    host_bridge::prt::client::Audience::Resource(resource.clone())
                }
                (None, None) => bail!("--scope or --resource is required"),
            };
            let result = host_bridge::prt::cli::token(
                &args.target.target(),
                args.username.as_deref(),
                &args.client_id,
                &audience,
            )
            .await;
            match result {
                Ok(token) => {
                    println!("{token}");
                    Ok(())
                }
                Err(e) if e.interaction_required() => {
                    eprintln!("error: interaction required: {e}");
                    std::process::exit(host_bridge::prt::cli::EXIT_INTERACTION_REQUIRED);
                }
                Err(e) => Err(e.into()),
            }
        }
    }
}

/// Logs go to stderr so that stdout carries only what scripts parse.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("host_bridge=info,warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

fn host_flow(flow: FlowArg) -> HostFlow {
    match flow {
        FlowArg::Oobe => HostFlow::Oobe,
        FlowArg::Settings => HostFlow::Settings,
    }
}

fn edition(edition: EditionArg) -> Edition {
    match edition {
        EditionArg::Professional => Edition::Professional,
        EditionArg::Enterprise => Edition::Enterprise,
        EditionArg::Home => Edition::Home,
    }
}

fn base_config(
    authority: &str,
    drs: Option<&str>,
    state_dir: &Path,
    ca_file: Option<PathBuf>,
) -> Result<BridgeConfig> {
    let mut config = BridgeConfig::new(authority, state_dir)?;
    if let Some(drs) = drs {
        config = config.with_drs(drs)?;
    }
    config.ca_file = ca_file;
    Ok(config)
}

async fn serve(args: ServeArgs) -> Result<()> {
    if !args.listen.ip().is_loopback() {
        bail!(
            "refusing to listen on {}: the bridge only listens on a loopback address",
            args.listen
        );
    }
    let mut config = base_config(
        &args.authority,
        args.drs.as_deref(),
        &args.state_dir,
        args.ca_file,
    )?
    .with_allowed_origins(&args.allowed_origins)?;
    config.host.flow = host_flow(args.flow);
    config.host.edition = edition(args.edition);
    if let Some(name) = args.device_name {
        config.host.device_name = name;
    }
    config.host.language = args.language;
    config.host.allow_leave = args
        .allow_leave
        .unwrap_or(config.host.flow == HostFlow::Settings);
    config.host.embedder_origin = args
        .embedder_origin
        .as_deref()
        .map(host_bridge::config::normalize_origin)
        .transpose()?;
    let secret = Secret::random();
    let app_url = args.app_url.clone().unwrap_or_else(|| {
        host_bridge::config::endpoint(&config.authority, host_bridge::handoff::APP_PATH)
    });
    // Before the ready file says we are up: a SIGTERM from then on must be a graceful stop.
    let terminate = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).ok();
    let state = BridgeState::new(config, secret.clone(), args.keys.provider()?).await?;
    let handoff = state.handoff.clone();
    let mut running = start(state, args.listen).await?;
    let ws_url = running.ws_url();
    if let Some(path) = &args.handoff_page {
        handoff
            .publish(path, &app_url, &ws_url, secret.expose())
            .with_context(|| format!("cannot write the handoff page {}", path.display()))?;
    }
    if let Some(path) = &args.ready_file {
        let info = ReadyInfo {
            ws_url: ws_url.clone(),
            secret: secret.expose().to_string(),
            pid: std::process::id(),
        };
        write_ready_file(path, &info)
            .with_context(|| format!("cannot write the ready file {}", path.display()))?;
    }
    println!("host-bridge listening on {ws_url}");
    std::io::stdout().flush()?;
    let served = tokio::select! {
        served = running.wait() => Some(served),
        _ = shutdown_signal(terminate) => None,
    };
    let outcome = match served {
        Some(served) => served.context("the server stopped"),
        None => {
            let grace = std::time::Duration::from_secs(args.stop_grace_secs);
            let stopped = running.shutdown(grace).await;
            tracing::info!(?stopped, "stopped");
            Ok(())
        }
    };
    if let Some(path) = &args.ready_file {
        let _ = std::fs::remove_file(path);
    }
    handoff.spend();
    outcome
}

async fn shutdown_signal(mut terminate: Option<tokio::signal::unix::Signal>) {
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = async { match terminate.as_mut() { Some(s) => { s.recv().await; } None => std::future::pending().await } } => {}
    }
    tracing::info!("shutting down");
}

async fn status(args: StatusArgs) -> Result<()> {
    let store = MachineStore::at(&args.state_dir);
    let mut status = collect_at(&store, &default_device_name(), args.tpm_tcti.as_deref())?;
    if !args.offline {
        host_bridge::status::check_with_tenant(
            &mut status,
            &store,
            args.ca_file.as_deref(),
            args.tpm_tcti.as_deref(),
        )
        .await;
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&status)?);
    } else {
        print!("{}", render_text(&status));
    }
    Ok(())
}

fn read_password_from_stdin() -> Result<Secret> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from stdin")?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        bail!("no password on stdin");
    }
    Ok(Secret::new(password))
}

async fn leave(args: LeaveArgs) -> Result<()> {
    let credentials = match args.username {
        Some(username) => Some(Credentials {
            username,
            password: read_password_from_stdin()?,
        }),
        None => None,
    };
    let options = host_bridge::leave::LeaveOptions {
        authority: args.authority,
        drs: args.drs,
        credentials,
        ca_file: args.ca_file,
        tpm_tcti: args.tpm_tcti,
    };
    let report = host_bridge::leave::leave(&MachineStore::at(&args.state_dir), &options).await?;
    for line in &report.lines {
        println!("{line}");
    }
    Ok(())
}

async fn join(args: JoinArgs) -> Result<()> {
    let password = read_password_from_stdin()?;
    let keys = args.keys.provider()?;
    let mut config = base_config(
        &args.authority,
        args.drs.as_deref(),
        &args.state_dir,
        args.ca_file,
    )?;
    if let Some(name) = args.device_name {
        config.host.device_name = name;
    }
    let credentials = Credentials {
        username: args.username,
        password,
    };
    let joined = join_with_password(config, keys, &credentials)
        .await
        .map_err(once)?;
    let result = &joined.result;
    println!(
        "joined: device {} (thumbprint {}) to {} ({}) as {}",
        result.device_id,
        result.thumbprint,
        result.tenant_display_name,
        result.tenant_id,
        result.user_upn
    );
    if args.timings {
        println!("timing sign_in {}", joined.sign_in_ms);
        for (name, ms) in &joined.phases {
            println!("timing {name} {ms}");
        }
        println!("timing total {}", joined.total_ms);
    }
    Ok(())
}

/// The error as one message: the join's errors already say their cause in their own text
/// (the page shows that text), so printing their source chain too ("Caused by:") would
/// repeat it.
fn once(error: impl std::fmt::Display) -> anyhow::Error {
    anyhow::Error::msg(error.to_string())
}

fn tpm_bench(args: TpmBenchArgs) -> Result<()> {
    let tcti = args.tpm_tcti.unwrap_or_else(default_tcti);
    let tpm = Tpm::new(&tcti)?;
    println!(
        "TPM step medians over {} rounds at {tcti}:",
        args.rounds.max(1)
    );
    for (step, median) in host_bridge::tpm::bench::run(&tpm, args.rounds)? {
        println!("median {step} {median:.1} ms");
    }
    Ok(())
}

/// Retry a failed MDM enrollment: the join stays, the enrollment is done again with a token
/// from the password grant for the MDM application, and the OpaqueBlob the failed attempt kept.
async fn mdm_enroll(args: MdmEnrollArgs) -> Result<()> {
    let password = read_password_from_stdin()?;
    let store = MachineStore::open(&args.state_dir)?;
    let _lock = store.lock()?;
    let Some(info) = store.load_join_info()? else {
        bail!("this device is not joined; join first");
    };
    if host_bridge::mdm::enrollment_url(&info.token_claims).is_none() {
        bail!("the join's token names no MDM enrollment URL: MDM does not apply to this device");
    }
    let ca_file = info.trusted_ca(args.ca_file.as_deref());
    let mut config = base_config(&info.authority, Some(&info.drs), &args.state_dir, ca_file)?;
    config.host.device_name = info.device_name.clone();
    let context = JoinContext {
        http: build_client(config.ca_file.as_deref())?,
        config,
        keys: args.keys.provider()?,
        store: store.clone(),
    };
    let blob = host_bridge::mdm::store::load_pending(&store).and_then(|p| p.opaque_blob);
    let source = host_bridge::mdm::TokenSource::Password {
        username: args.username,
        password,
    };
    let mut clock = PhaseClock::default();
    let enrollment =
        host_bridge::mdm::enroll(&context, &info, source, blob.as_deref(), &mut |p, s| {
            clock.record(p, s)
        })
        .await?;
    println!(
        "enrolled: device {} in MDM (management certificate {})",
        info.device_id, enrollment.thumbprint
    );
    Ok(())
}

/// The broker's sign-in window, with `--browser` when given.
fn sign_in_window(browser: Option<String>) -> host_bridge::broker::interactive::SignInWindow {
    let mut window = host_bridge::broker::interactive::SignInWindow::default();
    if let Some(browser) = browser.filter(|b| !b.trim().is_empty()) {
        window.browser = browser;
    }
    window
}

/// Serve the SSO extension on stdin/stdout until Chromium closes the port.
async fn sso_native_host(args: SsoNativeHostArgs) -> anyhow::Result<()> {
    use host_bridge::broker::native_host::{check_origin, NativeHost};
    check_origin(args.chromium_args.first().map(String::as_str))?;
    let info = host_bridge::store::MachineStore::at(&args.state_dir)
        .load_join_info()?
        .context("the device is not joined (no join info in the state dir)")?;
    let bus = match args.bus_address {
        Some(address) => host_bridge::broker::dbus::Bus::Address(address),
        None => host_bridge::broker::dbus::Bus::Session,
    };
    let host = NativeHost::connect(&bus, &info.authority).await?;
    host.serve(&mut tokio::io::stdin(), &mut tokio::io::stdout())
        .await?;
    Ok(())
}

/// Write the native messaging host's launcher and manifest, and say what to do next.
fn sso_install(args: SsoInstallArgs) -> anyhow::Result<()> {
    use host_bridge::broker::sso_install::{install, user_manifest_dir, SYSTEM_MANIFEST_DIR};
    let dir = match (args.manifest_dir, args.system) {
        (Some(dir), _) => dir,
        (None, true) => PathBuf::from(SYSTEM_MANIFEST_DIR),
        (None, false) => {
            user_manifest_dir().context("neither $XDG_CONFIG_HOME nor $HOME is set")?
        }
    };
    let host_bridge = std::env::current_exe().context("cannot find this host-bridge binary")?;
    let state_dir = std::fs::canonicalize(&args.state_dir)
        .with_context(|| format!("the state dir {} does not exist", args.state_dir.display()))?;
    let installed = install(&dir, &host_bridge, &state_dir, args.bus_address.as_deref())
        .with_context(|| format!("cannot write to {}", dir.display()))?;
    println!("Native messaging host registered:");
    println!("  manifest  {}", installed.manifest.display());
    println!("  launcher  {}", installed.launcher.display());
    println!("Now load the extension in Chromium: chrome://extensions -> Developer mode -> Load unpacked ->");
    println!(
        "  the host-bridge/extension directory of this project (extension id {}).",
        host_bridge::broker::native_host::EXTENSION_ID
    );
    Ok(())
}
