//! HTTP transport for the push protocol behind a small trait, so the protocol logic is
//! unit-tested without a server; the shipped implementation is blocking `reqwest` with
//! rustls, explicit timeouts, and TLS verification unless the token said otherwise.

use crate::error::Error;
use std::time::Duration;

/// A request that got no HTTP answer (DNS, connect, TLS, timeout). Becomes the public
/// `Network` error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransportError(pub String);

impl From<TransportError> for Error {
    fn from(e: TransportError) -> Self {
        Error::Network(e.0)
    }
}

type Result<T> = std::result::Result<T, TransportError>;

/// An HTTP answer: status and body.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    /// HTTP status code.
    pub status: u16,
    /// Body text.
    pub body: String,
}

/// What the push protocol needs from HTTP.
pub trait Transport: Send + Sync {
    /// POSTs an `application/x-www-form-urlencoded` body.
    fn post_form(&self, url: &str, form: &[(&str, &str)], verify_tls: bool)
        -> Result<HttpResponse>;
    /// GETs `url` with query parameters.
    fn get(&self, url: &str, query: &[(&str, &str)], verify_tls: bool) -> Result<HttpResponse>;
}

/// Connect timeout of every push request.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// Whole-request timeout of every push request.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The real transport (reqwest, rustls).
pub struct HttpTransport {
    verifying: reqwest::blocking::Client,
    non_verifying: reqwest::blocking::Client,
}

impl HttpTransport {
    /// Builds both clients (verifying and, for `sslverify=0` tokens, non-verifying).
    pub fn new() -> std::result::Result<Self, crate::AuthenticatorError> {
        let build = |verify: bool| {
            reqwest::blocking::Client::builder()
                .connect_timeout(CONNECT_TIMEOUT)
                .timeout(REQUEST_TIMEOUT)
                .danger_accept_invalid_certs(!verify)
                .user_agent(concat!("authenticator-core/", env!("CARGO_PKG_VERSION")))
                .build()
                .map_err(|e| Error::Internal(format!("HTTP client: {e}")))
        };
        let (verifying, non_verifying) = match (build(true), build(false)) {
            (Ok(v), Ok(n)) => (v, n),
            (Err(e), _) | (_, Err(e)) => return Err(e.into()),
        };
        Ok(Self {
            verifying,
            non_verifying,
        })
    }

    fn client(&self, verify: bool) -> &reqwest::blocking::Client {
        if verify {
            &self.verifying
        } else {
            &self.non_verifying
        }
    }
}

fn network(e: reqwest::Error) -> TransportError {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "could not connect"
    } else {
        "request failed"
    };
    // reqwest's Display includes the URL (no secrets: form bodies are never in it).
    TransportError(format!("{kind}: {}", e.without_url()))
}

fn into_response(r: reqwest::blocking::Response) -> Result<HttpResponse> {
    let status = r.status().as_u16();
    let body = r.text().map_err(network)?;
    Ok(HttpResponse { status, body })
}

impl Transport for HttpTransport {
    fn post_form(
        &self,
        url: &str,
        form: &[(&str, &str)],
        verify_tls: bool,
    ) -> Result<HttpResponse> {
        let r = self
            .client(verify_tls)
            .post(url)
            .form(form)
            .send()
            .map_err(network)?;
        into_response(r)
    }

    fn get(&self, url: &str, query: &[(&str, &str)], verify_tls: bool) -> Result<HttpResponse> {
        let r = self
            .client(verify_tls)
            .get(url)
            .query(query)
            .send()
            .map_err(network)?;
        into_response(r)
    }
}
