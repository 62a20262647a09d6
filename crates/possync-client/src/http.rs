//! The HTTP calls a terminal needs besides the socket: logging in and
//! opening a session (to get a terminal token), the catalog for optimistic
//! edits, and reading orders that are no longer live (paid, cancelled).

use possync_core::{
    ConfigId, Customer, Order, OrderId, OrderState, PaymentMethod, Product, Session, Tax,
};
use serde::Deserialize;
use serde::de::DeserializeOwned;
use serde_json::{Value, json};
use std::time::Duration;

/// An HTTP call that did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The server answered with the contract's error body.
    #[error("{status} {code}: {message}")]
    Api {
        status: u16,
        code: String,
        message: String,
    },
    /// No answer, or one that is not the contract's JSON.
    #[error("could not talk to the server: {0}")]
    Transport(String),
}

/// A logged-in user as `POST /login` answers it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct LoggedIn {
    pub token: String,
}

/// `POST /sessions`: the session opened or joined, and the token a terminal connects with.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct OpenedSession {
    pub session: Session,
    pub terminal_token: String,
}

/// One entry of an order's history.
#[derive(Debug, Clone, PartialEq, Deserialize, serde::Serialize)]
pub struct HistoryEntry {
    pub version: u64,
    pub op_id: possync_core::OpId,
    pub op: Value,
    pub by: Value,
    pub at: String,
}

/// A client of the HTTP API under `/api/v1`, with one token.
#[derive(Debug, Clone)]
pub struct HttpApi {
    client: reqwest::Client,
    base_url: String,
    token: String,
}

impl HttpApi {
    /// Requests give up after this long without an answer.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

    pub fn new(base_url: &str, token: &str) -> Result<HttpApi, HttpError> {
        let client = reqwest::Client::builder()
            .no_proxy()
            .timeout(Self::REQUEST_TIMEOUT)
            .build()
            .map_err(|error| HttpError::Transport(error.to_string()))?;
        Ok(HttpApi {
            client,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
        })
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The token this client sends (for a request the client has no helper
    /// for, such as `/metrics`, which answers text).
    pub fn token(&self) -> &str {
        &self.token
    }

    /// The same server with another token.
    pub fn with_token(&self, token: &str) -> HttpApi {
        HttpApi {
            client: self.client.clone(),
            base_url: self.base_url.clone(),
            token: token.to_owned(),
        }
    }

    /// Logs in and answers a client holding the user token.
    pub async fn login(base_url: &str, login: &str, password: &str) -> Result<HttpApi, HttpError> {
        let anonymous = HttpApi::new(base_url, "")?;
        let logged_in: LoggedIn = anonymous
            .call(
                reqwest::Method::POST,
                "/login",
                Some(json!({"login": login, "password": password})),
            )
            .await?;
        Ok(anonymous.with_token(&logged_in.token))
    }

    /// Opens (or joins) the session of a config; needs a user token.
    pub async fn open_session(&self, config_id: ConfigId) -> Result<OpenedSession, HttpError> {
        self.call(
            reqwest::Method::POST,
            "/sessions",
            Some(json!({"config_id": config_id})),
        )
        .await
    }

    /// Any call under `/api/v1`, answered as `T`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<T, HttpError> {
        let mut request = self
            .client
            .request(method, format!("{}/api/v1{path}", self.base_url));
        if !self.token.is_empty() {
            request = request.bearer_auth(&self.token);
        }
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request
            .send()
            .await
            .map_err(|error| HttpError::Transport(error.to_string()))?;
        let status = response.status().as_u16();
        let bytes = response
            .bytes()
            .await
            .map_err(|error| HttpError::Transport(error.to_string()))?;
        if !(200..300).contains(&status) {
            let body: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
            return Err(HttpError::Api {
                status,
                code: body["error"]["code"]
                    .as_str()
                    .unwrap_or("unknown")
                    .to_owned(),
                message: body["error"]["message"]
                    .as_str()
                    .map(str::to_owned)
                    .unwrap_or_else(|| format!("HTTP {status}")),
            });
        }
        serde_json::from_slice(&bytes).map_err(|error| {
            HttpError::Transport(format!(
                "the answer to {path} is not what was expected: {error}"
            ))
        })
    }

    pub async fn products(&self) -> Result<Vec<Product>, HttpError> {
        self.call(reqwest::Method::GET, "/products", None).await
    }

    pub async fn taxes(&self) -> Result<Vec<Tax>, HttpError> {
        self.call(reqwest::Method::GET, "/taxes", None).await
    }

    pub async fn customers(&self) -> Result<Vec<Customer>, HttpError> {
        self.call(reqwest::Method::GET, "/customers", None).await
    }

    pub async fn payment_methods(&self) -> Result<Vec<PaymentMethod>, HttpError> {
        self.call(reqwest::Method::GET, "/payment_methods", None)
            .await
    }

    /// The orders in a state that this token may read (the first page).
    pub async fn orders(&self, state: OrderState) -> Result<Vec<Order>, HttpError> {
        self.call(
            reqwest::Method::GET,
            &format!("/orders?state={}", state.as_str()),
            None,
        )
        .await
    }

    pub async fn order(&self, order_id: OrderId) -> Result<Order, HttpError> {
        self.call(reqwest::Method::GET, &format!("/orders/{order_id}"), None)
            .await
    }

    /// Every accepted op of an order, oldest first (the first page).
    pub async fn history(&self, order_id: OrderId) -> Result<Vec<HistoryEntry>, HttpError> {
        self.call(
            reqwest::Method::GET,
            &format!("/orders/{order_id}/history"),
            None,
        )
        .await
    }
}
