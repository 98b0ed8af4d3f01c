//! `tenant-emulator`: serve the emulated Entra authority and DRS for one tenant file.
//!
//! Binds first (port 0 picks a free port), then prints one `tenant-emulator listening on …`
//! line and writes the ready file, so launchers learn the URLs without racing the bind.

use anyhow::{bail, Context, Result};
use clap::Parser;
use std::collections::BTreeMap;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::pin::Pin;
use tenant_emulator::config::Config;
use tenant_emulator::tenant_file::TenantFile;
use tenant_emulator::{serve, AppState};

#[derive(Parser, Debug)]
#[command(
    about = "Protocol-faithful stand-in for the Entra authority and Device Registration Service"
)]
struct Args {
    /// Tenant file (TOML) seeded into the database at start.
    #[arg(long)]
    tenants: PathBuf,
    /// SQLite database (created if missing).
    #[arg(long)]
    db: PathBuf,
    /// HTTP listen address; port 0 picks a free port.
    #[arg(long, default_value = "127.0.0.1:0")]
    listen: SocketAddr,
    /// Base URL written into documents and tokens; defaults to the HTTP URL.
    #[arg(long, conflicts_with = "public_https")]
    public_url: Option<String>,
    /// Use the HTTPS listener's URL (--tls-listen) as the base URL: the authority as clients
    /// meet the real one, over HTTPS only in its documents (MSAL.js refuses an http
    /// authority). The HTTP listener still answers, for local admin tools.
    #[arg(long, requires = "tls_listen")]
    public_https: bool,
    /// Directory of the built join web app, served at /WebApp/CloudDomainJoin/4.
    #[arg(long)]
    app_dir: Option<PathBuf>,
    /// HTTPS listen address (needs --tls-dir).
    #[arg(long, requires = "tls_dir")]
    tls_listen: Option<SocketAddr>,
    /// Where the emulator writes emulator-ca.pem for clients to trust. Needed by --tls-listen
    /// and by a tenant file with `[[sts]]` (each emulated AD FS is served over HTTPS only).
    #[arg(long)]
    tls_dir: Option<PathBuf>,
    /// HTTP listen address of the MDM role's own origin (terms of use, enrollment); without
    /// it the MDM role is served on the authority's origin.
    #[arg(long)]
    mdm_listen: Option<SocketAddr>,
    /// JSON file written once listening: {"http_url", "https_url", "ca_file", "mdm_url"}.
    #[arg(long)]
    ready_file: Option<PathBuf>,
    /// Listen address of each emulated AD FS (one HTTPS listener, hence one origin, per
    /// `[[sts]]` of the tenant file, with a certificate from the CA in --tls-dir); port 0
    /// picks free ports.
    #[arg(long, default_value = "127.0.0.1:0")]
    adfs_listen: SocketAddr,
    /// A further redirect URI accepted for every application (repeatable), e.g. the join web
    /// app served by `trunk serve` on a loopback port; compared exactly.
    #[arg(long)]
    extra_redirect_uri: Vec<String>,
    /// Mount the test-only routes that mint credentials (`POST /_emulator/sts/{id}/wresult`);
    /// for test suites only, never for a demo others can reach.
    #[arg(long)]
    test_hooks: bool,
    /// PEM bundle of TPM vendor CAs (roots and intermediates) whose EK certificates DRS
    /// trusts for key attestation (repeatable); without it no device is TPM-attested.
    #[arg(long)]
    tpm_root_ca: Vec<PathBuf>,
    /// Close a connection whose request headers (or TLS handshake) take longer (ms).
    #[arg(long, default_value_t = 10_000)]
    header_read_timeout_ms: u64,
    /// Close a connection that moved no byte for this long (ms).
    #[arg(long, default_value_t = 60_000)]
    idle_timeout_ms: u64,
    /// Open connections per listener; a further one is closed at once.
    #[arg(long, default_value_t = 256)]
    max_connections: usize,
    /// Largest request body (bytes); a larger one is answered 413 without being read.
    #[arg(long, default_value_t = 1024 * 1024)]
    max_body_bytes: usize,
}

impl Args {
    fn limits(&self) -> serve::Limits {
        serve::Limits {
            header_read_timeout: std::time::Duration::from_millis(self.header_read_timeout_ms),
            idle_timeout: std::time::Duration::from_millis(self.idle_timeout_ms),
            max_connections: self.max_connections,
            max_body_bytes: self.max_body_bytes,
            ..serve::Limits::default()
        }
    }
}

#[derive(serde::Serialize)]
struct ReadyFile {
    http_url: String,
    https_url: Option<String>,
    ca_file: Option<String>,
    mdm_url: String,
    /// Base URL of each emulated STS, by STS id.
    sts_urls: BTreeMap<String, String>,
}

/// The server future of the HTTPS listener.
type TlsServer = Pin<Box<dyn Future<Output = ()> + Send>>;

/// What the emulated AD FS need: its HTTPS listeners have no plain-http fallback, since clients
/// drop the http endpoints of a MEX document (MSAL keeps https ones only).
const STS_NEEDS_TLS_DIR: &str = "the tenant file has [[sts]] entries: each emulated AD FS is served over HTTPS, with a certificate from the emulator's CA, so --tls-dir is needed (emulator-ca.pem is written there for clients to trust)";

#[tokio::main]
async fn main() -> Result<()> {
    init_tracing();
    let args = Args::parse();
    let tenants = TenantFile::load(&args.tenants)?;
    if !tenants.sts.is_empty() && args.tls_dir.is_none() {
        bail!(STS_NEEDS_TLS_DIR);
    }
    let listeners = bind_listeners(&args, &tenants).await?;
    let public_url = match (&args.public_url, &listeners.https_url) {
        (Some(url), _) => url.clone(),
        (None, Some(https)) if args.public_https => https.clone(),
        _ => listeners.http_url.clone(),
    };
    let (config, sts_urls) = emulator_config(&args, &tenants, &public_url, &listeners)?;
    let state = AppState::open(&args.db, &tenants, config)?;
    let router = tenant_emulator::app(state.clone());
    let Listeners {
        http,
        http_url,
        tls,
        https_url,
        mdm,
        sts,
        ..
    } = listeners;
    let identity = match args.tls_dir.as_deref() {
        Some(dir) => Some(
            tenant_emulator::tls::TlsIdentity::issue(&state, dir)
                .context("issuing the emulator's TLS server certificate")?,
        ),
        None => None,
    };
    let tls_server = start_tls(&args, identity.as_ref(), &router, tls)?;
    let ca_file = identity
        .as_ref()
        .map(|identity| identity.ca_file.display().to_string());

    println!("tenant-emulator listening on {http_url}");
    if let Some(url) = &https_url {
        println!("tenant-emulator listening on {url}");
    }
    let mdm_origin = state.config().mdm_origin().to_string();
    println!("tenant-emulator MDM role on {mdm_origin}");
    let limits = args.limits();
    if let Some(listener) = mdm {
        spawn_mdm(&state, listener, limits);
    }
    // Serving before the ready file is written: a launcher that reads it can use every URL.
    spawn_sts(&state, identity.as_ref(), sts, &sts_urls, limits)?;
    if let Some(path) = &args.ready_file {
        write_ready_file(
            path,
            &ReadyFile {
                http_url,
                https_url,
                ca_file,
                mdm_url: mdm_origin,
                sts_urls: sts_urls.clone(),
            },
        )?;
    }
    serve_until_ctrl_c(http, router, tls_server, limits).await
}

fn init_tracing() {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| "info,tower_http=warn".into()),
        )
        .with_writer(std::io::stderr)
        .init();
}

/// Every listener, bound before anything is announced, and the URLs they give.
struct Listeners {
    http: tokio::net::TcpListener,
    http_url: String,
    tls: Option<std::net::TcpListener>,
    https_url: Option<String>,
    mdm: Option<tokio::net::TcpListener>,
    mdm_url: Option<String>,
    /// One per `[[sts]]` of the tenant file, by STS id.
    sts: Vec<(String, tokio::net::TcpListener)>,
}

/// Bind HTTP, then HTTPS, then the MDM origin, then each STS.
async fn bind_listeners(args: &Args, tenants: &TenantFile) -> Result<Listeners> {
    let http = tokio::net::TcpListener::bind(args.listen)
        .await
        .with_context(|| format!("binding {}", args.listen))?;
    let http_url = format!("http://{}", http.local_addr()?);
    let tls = match args.tls_listen {
        Some(addr) => {
            Some(std::net::TcpListener::bind(addr).with_context(|| format!("binding {addr}"))?)
        }
        None => None,
    };
    let https_url = match &tls {
        Some(listener) => Some(format!("https://{}", listener.local_addr()?)),
        None => None,
    };

    let mdm = match args.mdm_listen {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .with_context(|| format!("binding {addr}"))?,
        ),
        None => None,
    };
    let mdm_url = match &mdm {
        Some(listener) => Some(format!("http://{}", listener.local_addr()?)),
        None => None,
    };

    let mut sts = Vec::new();
    for entry in &tenants.sts {
        let listener = tokio::net::TcpListener::bind(args.adfs_listen)
            .await
            .with_context(|| format!("binding {} for STS {}", args.adfs_listen, entry.id))?;
        sts.push((entry.id.clone(), listener));
    }
    Ok(Listeners {
        http,
        http_url,
        tls,
        https_url,
        mdm,
        mdm_url,
        sts,
    })
}

/// The emulator's configuration from the arguments and the bound listeners, and the URL of
/// each STS by id.
fn emulator_config(
    args: &Args,
    tenants: &TenantFile,
    public_url: &str,
    listeners: &Listeners,
) -> Result<(Config, BTreeMap<String, String>)> {
    let mut config = Config::new(public_url);
    let mut sts_urls = BTreeMap::new();
    for (id, listener) in &listeners.sts {
        let url = format!("https://{}", listener.local_addr()?);
        config = config.with_sts_url(id, &url);
        sts_urls.insert(id.clone(), url);
    }
    let mut bundles = Vec::new();
    for path in &args.tpm_root_ca {
        bundles.push(
            std::fs::read_to_string(path)
                .with_context(|| format!("reading the TPM root CA file {}", path.display()))?,
        );
    }
    let tpm_roots =
        tenant_emulator::ek_trust::TpmRoots::from_pem_bundles(bundles.iter().map(String::as_str))
            .context("parsing --tpm-root-ca")?;
    let config = config
        .with_tpm_roots(tpm_roots)
        .with_extra_clients(&tenants.clients)
        .with_extra_redirect_uris(&args.extra_redirect_uri)
        .with_test_hooks(args.test_hooks)
        .with_app_dir(args.app_dir.clone())
        .with_mdm(listeners.mdm_url.as_deref(), tenants);
    Ok((config, sts_urls))
}

/// The authority's HTTPS server on its listener (not yet polled).
fn start_tls(
    args: &Args,
    identity: Option<&tenant_emulator::tls::TlsIdentity>,
    router: &axum::Router,
    tls: Option<std::net::TcpListener>,
) -> Result<Option<TlsServer>> {
    let Some(listener) = tls else {
        return Ok(None);
    };
    let Some(identity) = identity else {
        bail!("--tls-listen needs --tls-dir");
    };
    let config = identity.authority_config()?;
    listener.set_nonblocking(true)?;
    let listener = tokio::net::TcpListener::from_std(listener)?;
    let server: TlsServer = Box::pin(serve::serve(
        listener,
        router.clone(),
        Some(config),
        args.limits(),
    ));
    Ok(Some(server))
}

fn spawn_mdm(state: &AppState, listener: tokio::net::TcpListener, limits: serve::Limits) {
    let mdm_router = tenant_emulator::routes::mdm_router(state.clone());
    tokio::spawn(serve::serve(listener, mdm_router, None, limits));
}

/// Each emulated AD FS on its own HTTPS listener.
fn spawn_sts(
    state: &AppState,
    identity: Option<&tenant_emulator::tls::TlsIdentity>,
    listeners: Vec<(String, tokio::net::TcpListener)>,
    sts_urls: &BTreeMap<String, String>,
    limits: serve::Limits,
) -> Result<()> {
    if listeners.is_empty() {
        return Ok(());
    }
    let Some(identity) = identity else {
        bail!(STS_NEEDS_TLS_DIR);
    };
    let config = identity.sts_config()?;
    for (id, listener) in listeners {
        println!("tenant-emulator STS {id} listening on {}", sts_urls[&id]);
        let sts_router = tenant_emulator::sts::router(state.clone(), &id);
        tokio::spawn(serve::serve(
            listener,
            sts_router,
            Some(config.clone()),
            limits,
        ));
    }
    Ok(())
}

/// Serve HTTP (and HTTPS) until a server fails or Ctrl-C.
async fn serve_until_ctrl_c(
    http: tokio::net::TcpListener,
    router: axum::Router,
    tls_server: Option<TlsServer>,
    limits: serve::Limits,
) -> Result<()> {
    let http_server = serve::serve(http, router, None, limits);
    let tls_server = async move {
        match tls_server {
            Some(server) => server.await,
            None => std::future::pending().await,
        }
    };
    tokio::select! {
        _ = http_server => {}
        _ = tls_server => {}
        _ = tokio::signal::ctrl_c() => {}
    }
    Ok(())
}

/// Write atomically, so a launcher polling for the file never reads half of it.
fn write_ready_file(path: &Path, ready: &ReadyFile) -> Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, serde_json::to_vec_pretty(ready)?)?;
    std::fs::rename(&tmp, path).with_context(|| format!("writing {}", path.display()))?;
    Ok(())
}
