//! The broker on D-Bus: the interface of Microsoft's identity broker for Linux
//! (`com.microsoft.identity.Broker1` at `/com/microsoft/identity/broker1`, well-known name
//! `com.microsoft.identity.broker1`), every method `(protocol_version, correlation_id,
//! request_json) -> result_json`. Errors travel in the JSON (as that broker does), not as D-Bus
//! errors: token methods answer `{"brokerTokenResponse": {"error": ...}}`, the others
//! `{"error": ...}`.

use std::sync::Arc;

use cxh_wire::broker::{ErrorResponse, TokenOutcome, TokenResponse, BUS_NAME, OBJECT_PATH};
use serde::de::DeserializeOwned;
use serde::Serialize;

use super::{Broker, BrokerFailure};

/// The D-Bus object serving one [`Broker`].
pub struct BrokerObject {
    broker: Arc<Broker>,
}

fn parse<T: DeserializeOwned + Default>(request_json: &str) -> Result<T, BrokerFailure> {
    if request_json.trim().is_empty() {
        return Ok(T::default());
    }
    serde_json::from_str(request_json)
        .map_err(|e| BrokerFailure::BadRequest(format!("request_json: {e}")))
}

fn json<T: Serialize>(value: &T) -> String {
    serde_json::to_string(value).unwrap_or_else(|_| "{}".into())
}

/// The answer of a token method.
fn token_answer(
    method: &str,
    correlation_id: &str,
    outcome: Result<cxh_wire::broker::BrokerToken, BrokerFailure>,
) -> String {
    let outcome = match outcome {
        Ok(token) => {
            tracing::info!(method, correlation_id, "token handed out");
            TokenOutcome::Token(Box::new(token))
        }
        Err(failure) => {
            tracing::info!(method, correlation_id, status = failure.status(), error = %failure, "refused");
            TokenOutcome::Failed {
                error: failure.to_wire(),
            }
        }
    };
    json(&TokenResponse {
        broker_token_response: outcome,
    })
}

/// The answer of any other method.
fn answer<T: Serialize>(
    method: &str,
    correlation_id: &str,
    outcome: Result<T, BrokerFailure>,
) -> String {
    match outcome {
        Ok(value) => {
            tracing::info!(method, correlation_id, "answered");
            json(&value)
        }
        Err(failure) => {
            tracing::info!(method, correlation_id, status = failure.status(), error = %failure, "refused");
            json(&ErrorResponse {
                error: failure.to_wire(),
            })
        }
    }
}

#[zbus::interface(name = "com.microsoft.identity.Broker1")]
impl BrokerObject {
    #[zbus(name = "getAccounts")]
    async fn get_accounts(&self, _protocol: &str, correlation_id: &str, request: &str) -> String {
        let outcome = parse(request).map(|r| self.broker.get_accounts(&r));
        answer("getAccounts", correlation_id, outcome)
    }

    #[zbus(name = "acquireTokenSilently")]
    async fn acquire_token_silently(
        &self,
        _protocol: &str,
        correlation_id: &str,
        request: &str,
    ) -> String {
        let outcome = async { self.broker.acquire_token_silently(&parse(request)?).await }.await;
        token_answer("acquireTokenSilently", correlation_id, outcome)
    }

    #[zbus(name = "acquireTokenInteractively")]
    async fn acquire_token_interactively(
        &self,
        _protocol: &str,
        correlation_id: &str,
        request: &str,
    ) -> String {
        let outcome = async {
            self.broker
                .acquire_token_interactively(&parse(request)?)
                .await
        }
        .await;
        token_answer("acquireTokenInteractively", correlation_id, outcome)
    }

    #[zbus(name = "acquirePrtSsoCookie")]
    async fn acquire_prt_sso_cookie(
        &self,
        _protocol: &str,
        correlation_id: &str,
        request: &str,
    ) -> String {
        let outcome = async { self.broker.acquire_prt_sso_cookie(&parse(request)?).await }.await;
        answer("acquirePrtSsoCookie", correlation_id, outcome)
    }

    #[zbus(name = "removeAccount")]
    async fn remove_account(&self, _protocol: &str, correlation_id: &str, request: &str) -> String {
        let outcome = parse(request)
            .and_then(|r| self.broker.remove_account(&r))
            .map(|()| serde_json::json!({}));
        answer("removeAccount", correlation_id, outcome)
    }

    #[zbus(name = "generateSignedHttpRequest")]
    async fn generate_signed_http_request(
        &self,
        _protocol: &str,
        correlation_id: &str,
        request: &str,
    ) -> String {
        let outcome = async {
            self.broker
                .generate_signed_http_request(&parse(request)?)
                .await
        }
        .await;
        answer("generateSignedHttpRequest", correlation_id, outcome)
    }

    #[zbus(name = "cancelInteractiveFlow")]
    async fn cancel_interactive_flow(
        &self,
        _protocol: &str,
        correlation_id: &str,
        _request: &str,
    ) -> String {
        let cancelled = self.broker.cancel_interactive_flow();
        tracing::info!(correlation_id, cancelled, "cancelInteractiveFlow");
        answer::<serde_json::Value>(
            "cancelInteractiveFlow",
            correlation_id,
            Ok(serde_json::json!({})),
        )
    }

    #[zbus(name = "getLinuxBrokerVersion")]
    async fn get_linux_broker_version(
        &self,
        _protocol: &str,
        correlation_id: &str,
        _request: &str,
    ) -> String {
        answer::<_>(
            "getLinuxBrokerVersion",
            correlation_id,
            Ok(self.broker.version()),
        )
    }
}

/// Which bus to serve on.
#[derive(Debug, Clone)]
pub enum Bus {
    /// The user's session bus (`DBUS_SESSION_BUS_ADDRESS`).
    Session,
    /// A bus at this address (`unix:path=…`): tests and a private demo bus.
    Address(String),
}

/// Own the broker's well-known name and serve it until the connection is dropped.
pub async fn serve(broker: Arc<Broker>, bus: &Bus) -> zbus::Result<zbus::Connection> {
    let builder = match bus {
        Bus::Session => zbus::connection::Builder::session()?,
        Bus::Address(address) => zbus::connection::Builder::address(address.as_str())?,
    };
    builder
        .name(BUS_NAME)?
        .serve_at(OBJECT_PATH, BrokerObject { broker })?
        .build()
        .await
}
