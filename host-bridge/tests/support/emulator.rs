//! The real tenant emulator in process, on a loopback port and a temp database, for the tests
//! whose point is what the tenant decides (attestation, device deletion).

use std::path::Path;

use tenant_emulator::config::Config;
use tenant_emulator::ek_trust::TpmRoots;
use tenant_emulator::tenant_file::TenantFile;
use tenant_emulator::AppState;

pub const ADELE: &str = "adele.vance@contoso.com";
pub const ADELE_PASSWORD: &str = "Correct-Horse-42";
pub const CONTOSO: &str = "6d1f4c2a-8b3e-4f5a-9c7d-2e1b0a9f8c31";

/// Adele joins the device of `config` without a browser (password grant, then the dsreg
/// pipeline), trusting `config.ca_file`; the machine store and the device id.
pub async fn join_as_adele(
    config: &host_bridge::config::BridgeConfig,
    keys: std::sync::Arc<dyn host_bridge::keys::KeyProvider>,
) -> (host_bridge::store::MachineStore, String) {
    use host_bridge::scripted::{sign_in, Credentials};
    let http = host_bridge::http::build_client(config.ca_file.as_deref()).unwrap();
    let validator = host_bridge::token::TokenValidator::new(http.clone(), config.authority.clone());
    let credentials = Credentials {
        username: ADELE.into(),
        password: host_bridge::secret::Secret::new(ADELE_PASSWORD),
    };
    let identity = sign_in(&http, &validator, &config.authority, &credentials)
        .await
        .unwrap();
    let store = host_bridge::store::MachineStore::open(&config.state_dir).unwrap();
    let ctx = host_bridge::join::JoinContext {
        http,
        config: config.clone(),
        keys,
        store: store.clone(),
    };
    let joined = host_bridge::join::run_join(&ctx, &identity, &mut |_, _| {})
        .await
        .unwrap();
    (store, joined.device_id)
}

pub struct Emulator {
    pub base: String,
    pub state: AppState,
    _dir: tempfile::TempDir,
}

impl Emulator {
    /// Serve contoso.toml, trusting `tpm_roots` for EK certificates.
    pub async fn start(tpm_roots: TpmRoots) -> Emulator {
        Self::start_http(tpm_roots, false).await
    }

    /// Serve contoso.toml with the test hooks (admin password reset, device disable, clock).
    pub async fn start_with_test_hooks() -> Emulator {
        Self::start_http(TpmRoots::default(), true).await
    }

    async fn start_http(tpm_roots: TpmRoots, test_hooks: bool) -> Emulator {
        let dir = tempfile::tempdir().unwrap();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let tenants = TenantFile::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/tenants/contoso.toml"),
        )
        .unwrap();
        let config = Config::new(&base)
            .with_tpm_roots(tpm_roots)
            .with_test_hooks(test_hooks)
            .with_extra_clients(&tenants.clients);
        let state = AppState::open(&dir.path().join("emulator.sqlite"), &tenants, config).unwrap();
        let router = tenant_emulator::app(state.clone());
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Emulator {
            base,
            state,
            _dir: dir,
        }
    }

    /// Serve contoso.toml over HTTPS only (public URL https://…), asking for client
    /// certificates as DRS does; the CA PEM to trust is `ca_file`.
    pub async fn start_tls(tpm_roots: TpmRoots) -> (Emulator, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("https://{}", listener.local_addr().unwrap());
        let tenants = TenantFile::load(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("../e2e/tenants/contoso.toml"),
        )
        .unwrap();
        // Contoso's MDM on the authority's origin, as the emulator serves it without an MDM
        // listener of its own.
        let config = Config::new(&base)
            .with_tpm_roots(tpm_roots)
            .with_extra_clients(&tenants.clients)
            .with_mdm(None, &tenants);
        let state = AppState::open(&dir.path().join("emulator.sqlite"), &tenants, config).unwrap();
        let (tls, ca_file) =
            tenant_emulator::tls::server_config(&state, &dir.path().join("tls")).unwrap();
        let router = tenant_emulator::app(state.clone());
        listener.set_nonblocking(true).unwrap();
        let listener = tokio::net::TcpListener::from_std(listener).unwrap();
        tokio::spawn(tenant_emulator::serve::serve(
            listener,
            router,
            Some(tls),
            tenant_emulator::serve::Limits::default(),
        ));
        (
            Emulator {
                base,
                state,
                _dir: dir,
            },
            ca_file,
        )
    }

    /// The tenant's device object.
    pub fn device(&self, device_id: &str) -> Option<tenant_emulator::db::Device> {
        tenant_emulator::db::device(&self.state.db(), device_id).unwrap()
    }

    /// Make the tenant require attested keys (tenant file `require_attestation`).
    pub fn require_attestation(&self) {
        self.state
            .db()
            .execute("UPDATE attestation_policy SET required = 1", [])
            .unwrap();
    }
}
