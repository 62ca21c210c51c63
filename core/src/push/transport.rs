//! HTTP transport for the push protocol behind a small trait, so the protocol logic is
//! unit-tested without a server; the shipped implementation is blocking `reqwest` with
//! rustls (ring as the crypto provider) verifying through the platform's trust store
//! (`rustls-platform-verifier`: Android's and Apple's verifiers, the system CA bundle on
//! Linux), explicit timeouts, no redirects, a cap on response bodies, and TLS
//! verification unless the token said otherwise.

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
/// Largest response body read (privacyIDEA's answers are a few KiB).
pub const MAX_BODY_BYTES: u64 = 1024 * 1024;

/// The real transport (reqwest, rustls). The clients are built on first use: loading
/// the platform's trust store costs milliseconds that opening a vault should not pay.
pub struct HttpTransport {
    verifying: std::sync::OnceLock<reqwest::blocking::Client>,
    non_verifying: std::sync::OnceLock<reqwest::blocking::Client>,
}

impl HttpTransport {
    /// A transport whose clients (verifying and, for `sslverify=0` tokens,
    /// non-verifying) are built when first needed.
    pub fn new() -> std::result::Result<Self, crate::AuthenticatorError> {
        Ok(Self {
            verifying: std::sync::OnceLock::new(),
            non_verifying: std::sync::OnceLock::new(),
        })
    }

    fn build(verify: bool) -> Result<reqwest::blocking::Client> {
        // ring is the one crypto provider (reqwest's default would be aws-lc-rs, a C
        // build). Installing fails harmlessly when the host app already chose one.
        let _ = rustls::crypto::ring::default_provider().install_default();
        reqwest::blocking::Client::builder()
            .connect_timeout(CONNECT_TIMEOUT)
            .timeout(REQUEST_TIMEOUT)
            // Never follow a redirect: a 307/308 would re-post the enrollment
            // credential or a signed answer to wherever it points.
            .redirect(reqwest::redirect::Policy::none())
            .tls_danger_accept_invalid_certs(!verify)
            .user_agent(concat!("authenticator-core/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| TransportError(format!("the HTTP client could not be set up: {e}")))
    }

    fn client(&self, verify: bool) -> Result<&reqwest::blocking::Client> {
        let cell = if verify {
            &self.verifying
        } else {
            &self.non_verifying
        };
        if let Some(c) = cell.get() {
            return Ok(c);
        }
        let built = Self::build(verify)?;
        Ok(cell.get_or_init(|| built))
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
    read_capped(r, status)
}

/// Reads at most [`MAX_BODY_BYTES`]; a longer body is an error, never truncated JSON.
fn read_capped(r: impl std::io::Read, status: u16) -> Result<HttpResponse> {
    use std::io::Read;
    let mut bytes = Vec::new();
    r.take(MAX_BODY_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| TransportError(format!("reading the answer failed: {e}")))?;
    if bytes.len() as u64 > MAX_BODY_BYTES {
        return Err(TransportError(format!(
            "the server's answer is larger than {} KiB; refused",
            MAX_BODY_BYTES / 1024
        )));
    }
    let body = String::from_utf8(bytes)
        .map_err(|_| TransportError("the server's answer is not UTF-8 text".into()))?;
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
            .client(verify_tls)?
            .post(url)
            .form(form)
            .send()
            .map_err(network)?;
        into_response(r)
    }

    fn get(&self, url: &str, query: &[(&str, &str)], verify_tls: bool) -> Result<HttpResponse> {
        let r = self
            .client(verify_tls)?
            .get(url)
            .query(query)
            .send()
            .map_err(network)?;
        into_response(r)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::io::{BufRead, BufReader, Write};
    use std::net::TcpListener;

    /// A one-connection HTTP server on loopback that answers `response` to the first
    /// request and returns what it received.
    fn serve_once(response: Vec<u8>) -> (String, std::thread::JoinHandle<String>) {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = format!("http://{}", listener.local_addr().unwrap());
        let handle = std::thread::spawn(move || {
            let (mut stream, _) = listener.accept().unwrap();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            let mut head = String::new();
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                reader.read_line(&mut line).unwrap();
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap();
                }
                head.push_str(&line);
                if line == "\r\n" || line.is_empty() {
                    break;
                }
            }
            let mut body = vec![0u8; len];
            std::io::Read::read_exact(&mut reader, &mut body).unwrap();
            let _ = stream.write_all(&response);
            head + &String::from_utf8_lossy(&body)
        });
        (addr, handle)
    }

    #[test]
    fn redirects_are_not_followed_and_the_credential_goes_nowhere_else() {
        let (target, target_thread) =
            serve_once(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n{}".to_vec());
        let redirect = format!(
            "HTTP/1.1 307 Temporary Redirect\r\nlocation: {target}/steal\r\ncontent-length: 0\r\n\r\n"
        );
        let (addr, first) = serve_once(redirect.into_bytes());
        let t = HttpTransport::new().unwrap();
        let r = t
            .post_form(
                &format!("{addr}/ttype/push"),
                &[("enrollment_credential", "s3cret")],
                true,
            )
            .unwrap();
        assert_eq!(r.status, 307, "the redirect is the answer");
        assert!(first.join().unwrap().contains("s3cret"));
        // Nobody connected to the redirect target: unblock its accept and check.
        let _ = std::net::TcpStream::connect(target.trim_start_matches("http://"));
        let seen = target_thread.join().unwrap_or_default();
        assert!(
            !seen.contains("s3cret"),
            "the credential was re-posted: {seen}"
        );
    }

    #[test]
    fn bodies_over_the_cap_are_refused() {
        let big = vec![b'x'; (MAX_BODY_BYTES + 10) as usize];
        let mut response =
            format!("HTTP/1.1 200 OK\r\ncontent-length: {}\r\n\r\n", big.len()).into_bytes();
        response.extend_from_slice(&big);
        let (addr, server) = serve_once(response);
        let t = HttpTransport::new().unwrap();
        let err = t.get(&addr, &[], true).unwrap_err();
        assert!(err.0.contains("larger than 1024 KiB"), "{err:?}");
        let _ = server.join();
        let ok = read_capped(&b"{\"result\":{}}"[..], 200).unwrap();
        assert_eq!(ok.body, "{\"result\":{}}");
    }
}
