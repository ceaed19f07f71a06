//! The Prometheus text exposition (format 0.0.4) of the simulated traffic,
//! and the plain-HTTP endpoint Prometheus scrapes it from.

use super::Traffic;
use super::latency::{MILLIS_BOUNDS, SECONDS_BOUNDS};
use super::meters::{CodeMeter, PodMeter};
use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{self, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use std::convert::Infallible;
use std::fmt::Write;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::task::{JoinHandle, JoinSet};

/// What Prometheus's client libraries announce for the text format.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A label value with `\`, `"` and newlines escaped, as the format requires.
fn escape(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

/// The labels every series of a pod carries, without braces.
fn pod_labels(m: &PodMeter) -> String {
    format!(
        "namespace=\"{}\",app=\"{}\",pod=\"{}\",{}=\"{}\"",
        escape(&m.namespace),
        escape(&m.app),
        escape(&m.pod),
        m.hash_label.prometheus_name(),
        escape(&m.hash),
    )
}

/// `le` as the Prometheus clients write it: shortest decimal, `+Inf` last.
fn bucket_lines(
    out: &mut String,
    name: &str,
    labels: &str,
    bounds: &[f64],
    counts: &[f64],
    total: f64,
) {
    for (bound, count) in bounds.iter().zip(counts) {
        // Sums in another order may round a near-total bucket a hair above the count.
        let count = count.min(total);
        let _ = writeln!(out, "{name}_bucket{{{labels},le=\"{bound}\"}} {count}");
    }
    let _ = writeln!(out, "{name}_bucket{{{labels},le=\"+Inf\"}} {total}");
}

const RESPONSE_CODES: [&str; 2] = ["200", "500"];

/// Every series of the given pods, family by family (the format wants each
/// family's samples together).
pub fn render(pods: &[&PodMeter]) -> String {
    let mut out = String::with_capacity(pods.len() * 2048 + 512);
    let labels: Vec<String> = pods.iter().map(|m| pod_labels(m)).collect();

    family(
        &mut out,
        "http_requests_total",
        "counter",
        "HTTP requests served, by response status code.",
    );
    for (m, l) in pods.iter().zip(&labels) {
        let _ = writeln!(out, "http_requests_total{{{l},code=\"200\"}} {}", m.ok);
        let _ = writeln!(out, "http_requests_total{{{l},code=\"500\"}} {}", m.errors);
    }

    family(
        &mut out,
        "http_request_duration_seconds",
        "histogram",
        "HTTP request latency in seconds.",
    );
    for (m, l) in pods.iter().zip(&labels) {
        let count = m.ok + m.errors;
        let name = "http_request_duration_seconds";
        bucket_lines(&mut out, name, l, &SECONDS_BOUNDS, &m.buckets, count);
        let _ = writeln!(out, "{name}_sum{{{l}}} {}", m.sum_seconds);
        let _ = writeln!(out, "{name}_count{{{l}}} {count}");
    }

    let istio: Vec<(String, &CodeMeter, &str)> = pods
        .iter()
        .flat_map(|m| {
            m.istio.iter().flat_map(move |series| {
                let l = &series.labels;
                let base = format!(
                    "reporter=\"destination\",destination_workload=\"{}\",destination_workload_namespace=\"{}\",destination_service_name=\"{}\",destination_version=\"{}\",pod=\"{}\"",
                    escape(&l.workload),
                    escape(&m.namespace),
                    escape(&l.service),
                    escape(&l.version),
                    escape(&m.pod),
                );
                series
                    .by_code
                    .iter()
                    .zip(RESPONSE_CODES)
                    .map(move |(meter, code)| (base.clone(), meter, code))
            })
        })
        .collect();
    if istio.is_empty() {
        return out;
    }
    family(
        &mut out,
        "istio_requests_total",
        "counter",
        "Requests reported by the destination's Istio proxy.",
    );
    for (base, meter, code) in &istio {
        let _ = writeln!(
            out,
            "istio_requests_total{{{base},response_code=\"{code}\"}} {}",
            meter.count
        );
    }
    family(
        &mut out,
        "istio_request_duration_milliseconds",
        "histogram",
        "Request durations reported by the destination's Istio proxy, in milliseconds.",
    );
    for (base, meter, code) in &istio {
        let name = "istio_request_duration_milliseconds";
        let l = format!("{base},response_code=\"{code}\"");
        bucket_lines(
            &mut out,
            name,
            &l,
            &MILLIS_BOUNDS,
            &meter.buckets,
            meter.count,
        );
        let _ = writeln!(out, "{name}_sum{{{l}}} {}", meter.sum_ms);
        let _ = writeln!(out, "{name}_count{{{l}}} {}", meter.count);
    }
    out
}

fn respond_text(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(body.into()));
    *resp.status_mut() = status;
    resp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    resp
}

async fn handle(traffic: Arc<Traffic>, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.uri().path() != "/metrics" {
        return respond_text(StatusCode::NOT_FOUND, "404 page not found\n");
    }
    if req.method() != Method::GET && req.method() != Method::HEAD {
        let mut resp = respond_text(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n");
        resp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("GET, HEAD"));
        return resp;
    }
    // Thousands of pods make a large page: render off the async workers.
    let body = tokio::task::spawn_blocking(move || traffic.render())
        .await
        .unwrap_or_default();
    let mut resp = Response::new(Full::new(Bytes::from(body)));
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    resp
}

/// Serve `GET /metrics` over plain HTTP (Prometheus scrapes without TLS) on
/// `addr`; port 0 lets the OS choose. Returns the bound address and the
/// serving task; aborting the task closes the listener and its connections.
pub async fn serve_metrics(
    traffic: Arc<Traffic>,
    addr: SocketAddr,
) -> std::io::Result<(SocketAddr, JoinHandle<()>)> {
    let listener = TcpListener::bind(addr).await?;
    let bound = listener.local_addr()?;
    let task = tokio::spawn(async move {
        // Dropping this set (when the task is aborted) aborts every connection.
        let mut connections = JoinSet::new();
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => {
                        let traffic = traffic.clone();
                        connections.spawn(async move {
                            let service = hyper::service::service_fn(move |req| {
                                let traffic = traffic.clone();
                                async move { Ok::<_, Infallible>(handle(traffic, req).await) }
                            });
                            let _ = hyper::server::conn::http1::Builder::new()
                                .serve_connection(TokioIo::new(stream), service)
                                .await;
                        });
                    }
                    Err(e) => {
                        tracing::warn!("metrics endpoint: accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(_) = connections.join_next(), if !connections.is_empty() => {}
            }
        }
    });
    Ok((bound, task))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn bounds_print_as_prometheus_clients_print_them() {
        let mut out = String::new();
        bucket_lines(
            &mut out,
            "h",
            "a=\"b\"",
            &[0.005, 1.0, 2.5],
            &[1.0, 2.0, 3.0],
            4.0,
        );
        assert_eq!(
            out,
            "h_bucket{a=\"b\",le=\"0.005\"} 1\nh_bucket{a=\"b\",le=\"1\"} 2\nh_bucket{a=\"b\",le=\"2.5\"} 3\nh_bucket{a=\"b\",le=\"+Inf\"} 4\n"
        );
    }
}
