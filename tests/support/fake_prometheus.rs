//! A fake Prometheus HTTP API on loopback: it records what it receives and
//! answers every request the same way (a status and body, a large or an
//! endless matrix made while it is sent, a length and silence, or silence).

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
    /// A matrix of many series, written as it is made.
    Matrix(GeneratedMatrix),
    /// A chunked matrix that never ends: series after series until the
    /// client hangs up.
    Endless,
    /// A 200 answer that says its body is `length` bytes long, then says
    /// nothing: only a client that believes the length answers in time.
    Announced {
        length: u64,
    },
    /// Read the request, then hold the connection and say nothing.
    Silence,
}

/// How the length of a body is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Framing {
    ContentLength,
    Chunked,
}

/// A range query's answer of `series` series of `samples` samples each,
/// made piece by piece so that even a huge one is never held whole.
#[derive(Clone, Copy, Debug)]
pub struct GeneratedMatrix {
    pub series: usize,
    pub samples: usize,
    pub framing: Framing,
}

impl GeneratedMatrix {
    /// The body, in pieces: the envelope's start, each series, its end.
    pub fn pieces(self) -> impl Iterator<Item = String> {
        let head = r#"{"status":"success","data":{"resultType":"matrix","result":["#;
        // The same samples in every series: only the labels tell them apart.
        let values: Vec<String> = (0..self.samples)
            .map(|s| format!(r#"[{},"{}.25"]"#, 1_700_000_000 + 15 * s, s % 10))
            .collect();
        let values = values.join(",");
        let series = (0..self.series).map(move |i| {
            let comma = if i == 0 { "" } else { "," };
            format!(
                r#"{comma}{{"metric":{{"__name__":"http_requests_total","namespace":"shop","pod":"checkout-{i:06}","version":"v{i}"}},"values":[{values}]}}"#
            )
        });
        std::iter::once(head.to_string())
            .chain(series)
            .chain(std::iter::once("]}}".to_string()))
    }

    /// The length of the whole body, made once to be counted.
    pub fn len(self) -> usize {
        self.pieces().map(|p| p.len()).sum()
    }
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
    tokio::time::sleep(delay).await;
    match answer {
        Answer::Silence => until_closed(&mut conn).await,
        Answer::Respond { status, body } => {
            let head = head(status, &format!("Content-Length: {}", body.len()));
            let _ = conn.write_all(format!("{head}{body}").as_bytes()).await;
        }
        Answer::Matrix(matrix) => stream(&mut conn, matrix).await,
        Answer::Endless => {
            let endless = GeneratedMatrix {
                series: usize::MAX,
                samples: 50,
                framing: Framing::Chunked,
            };
            stream(&mut conn, endless).await;
        }
        Answer::Announced { length } => {
            let head = head(200, &format!("Content-Length: {length}"));
            if conn.write_all(head.as_bytes()).await.is_ok() {
                until_closed(&mut conn).await;
            }
        }
    }
}

/// Read until the client gives up and closes.
async fn until_closed(conn: &mut (impl AsyncRead + Unpin)) {
    let mut rest = Vec::new();
    let _ = conn.read_to_end(&mut rest).await;
}

/// The head of an answer with a JSON body, its length told by `framing`
/// (a `Content-Length` or a `Transfer-Encoding` header).
fn head(status: u16, framing: &str) -> String {
    format!(
        "HTTP/1.1 {status} Whatever\r\nContent-Type: application/json\r\n{framing}\r\nConnection: close\r\n\r\n"
    )
}

/// Send `matrix` as a 200 answer, a few series at a time as a server
/// streaming its answer would, until the last or until the client hangs up.
async fn stream(conn: &mut (impl AsyncWrite + Unpin), matrix: GeneratedMatrix) {
    let framing = matrix.framing;
    let length = match framing {
        Framing::ContentLength => format!("Content-Length: {}", matrix.len()),
        Framing::Chunked => "Transfer-Encoding: chunked".to_string(),
    };
    if conn.write_all(head(200, &length).as_bytes()).await.is_err() {
        return;
    }
    let mut pieces = matrix.pieces().peekable();
    while pieces.peek().is_some() {
        let mut data = String::new();
        while data.len() < 64 * 1024
            && let Some(piece) = pieces.next()
        {
            data.push_str(&piece);
        }
        let framed = match framing {
            Framing::ContentLength => data,
            Framing::Chunked => format!("{:x}\r\n{data}\r\n", data.len()),
        };
        if conn.write_all(framed.as_bytes()).await.is_err() {
            return;
        }
    }
    if framing == Framing::Chunked {
        let _ = conn.write_all(b"0\r\n\r\n").await;
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
