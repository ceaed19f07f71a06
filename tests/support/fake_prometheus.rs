//! A fake Prometheus HTTP API on loopback: it records what it receives and
//! answers every request the same way (a status and body, or silence).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

/// A request as the fake server read it.
#[derive(Debug, Clone)]
pub struct Received {
    pub method: String,
    /// Path and query string.
    pub target: String,
    /// Names in lower case.
    pub headers: BTreeMap<String, String>,
    pub body: String,
}

/// How the fake server answers every request.
#[derive(Clone)]
pub enum Answer {
    Respond {
        status: u16,
        body: String,
    },
    /// Read the request, then hold the connection and say nothing.
    Silence,
}

pub struct FakeServer {
    pub url: String,
    received: Arc<Mutex<Vec<Received>>>,
    pub most_at_once: Arc<AtomicUsize>,
}

impl FakeServer {
    /// Serve `answer` on a loopback port, with URLs under `prefix`, over
    /// TLS when given an acceptor. Each answer is delayed by `delay`, so
    /// overlapping requests can be counted.
    pub async fn start(
        answer: Answer,
        prefix: &str,
        delay: Duration,
        tls: Option<TlsAcceptor>,
    ) -> FakeServer {
        let scheme = if tls.is_some() { "https" } else { "http" };
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("address");
        let received = Arc::new(Mutex::new(Vec::new()));
        let most_at_once = Arc::new(AtomicUsize::new(0));
        let now_open = Arc::new(AtomicUsize::new(0));
        let (log, most) = (received.clone(), most_at_once.clone());
        tokio::spawn(async move {
            loop {
                let Ok((conn, _)) = listener.accept().await else {
                    return;
                };
                let (answer, log, most, now_open, tls) = (
                    answer.clone(),
                    log.clone(),
                    most.clone(),
                    now_open.clone(),
                    tls.clone(),
                );
                tokio::spawn(async move {
                    let open = now_open.fetch_add(1, Ordering::SeqCst) + 1;
                    most.fetch_max(open, Ordering::SeqCst);
                    match tls {
                        // A failed handshake is the client refusing the certificate.
                        Some(tls) => {
                            if let Ok(conn) = tls.accept(conn).await {
                                serve(conn, answer, log, delay).await;
                            }
                        }
                        None => serve(conn, answer, log, delay).await,
                    }
                    now_open.fetch_sub(1, Ordering::SeqCst);
                });
            }
        });
        FakeServer {
            url: format!("{scheme}://{addr}{prefix}"),
            received,
            most_at_once,
        }
    }

    pub async fn answering(status: u16, body: &str) -> FakeServer {
        let answer = Answer::Respond {
            status,
            body: body.into(),
        };
        FakeServer::start(answer, "", Duration::ZERO, None).await
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().unwrap().clone()
    }
}

async fn serve(
    mut conn: impl AsyncRead + AsyncWrite + Unpin,
    answer: Answer,
    log: Arc<Mutex<Vec<Received>>>,
    delay: Duration,
) {
    let Some(request) = read_request(&mut conn).await else {
        return;
    };
    log.lock().unwrap().push(request);
    match answer {
        Answer::Silence => {
            let mut rest = Vec::new();
            // Until the client gives up and closes.
            let _ = conn.read_to_end(&mut rest).await;
        }
        Answer::Respond { status, body } => {
            tokio::time::sleep(delay).await;
            let response = format!(
                "HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = conn.write_all(response.as_bytes()).await;
        }
    }
}

async fn read_request(conn: &mut (impl AsyncRead + Unpin)) -> Option<Received> {
    let mut bytes = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = bytes.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        bytes.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&bytes[..head_end]).into_owned();
    let mut lines = head.lines();
    let mut request_line = lines.next()?.split(' ');
    let (method, target) = (
        request_line.next()?.to_string(),
        request_line.next()?.to_string(),
    );
    let headers: BTreeMap<String, String> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    let mut body = bytes[head_end + 4..].to_vec();
    while body.len() < length {
        let n = conn.read(&mut chunk).await.ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some(Received {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    })
}
