use super::*;
use futures::{Stream, StreamExt, stream};
use http_body_util::{BodyExt, StreamBody};
use std::convert::Infallible;
use std::future::Ready;

type Chunks = stream::BoxStream<'static, Result<Frame<Bytes>, Infallible>>;

/// A server that answers every request with `chunks`, announcing `length`.
#[derive(Clone)]
struct Answering {
    chunks: fn() -> Chunks,
    length: Option<usize>,
}

impl Service<Request<()>> for Answering {
    type Response = Response<StreamBody<Chunks>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, _: Request<()>) -> Self::Future {
        let mut response = Response::new(StreamBody::new((self.chunks)()));
        if let Some(n) = self.length {
            response
                .headers_mut()
                .insert(http::header::CONTENT_LENGTH, n.into());
        }
        std::future::ready(Ok(response))
    }
}

fn frames(s: impl Stream<Item = Bytes> + Send + 'static) -> Chunks {
    s.map(|b| Ok(Frame::data(b))).boxed()
}

/// Endless kilobytes with no line end.
fn endless() -> Chunks {
    frames(stream::repeat(Bytes::from(vec![b'x'; 1024])))
}

/// Endless lines of 100 bytes, in chunks that cut lines anywhere.
fn endless_short_lines() -> Chunks {
    let line: Vec<u8> = [vec![b'x'; 99], vec![b'\n']].concat();
    let chunk = Bytes::from(line.repeat(10)[..777].to_vec());
    frames(stream::repeat(chunk))
}

async fn answer(server: Answering, uri: &str, limit: usize) -> Result<Bytes, String> {
    let mut service = AnswerLimitLayer { limit }.layer(server);
    let request = Request::get(uri).body(()).unwrap();
    let response = service.call(request).await.map_err(|e| e.to_string())?;
    let body = response.into_body().collect().await;
    body.map(|b| b.to_bytes()).map_err(|e| e.to_string())
}

#[tokio::test]
async fn an_endless_answer_fails_at_the_limit_without_being_held() {
    let server = Answering {
        chunks: endless,
        length: None,
    };
    let error = answer(server, "/api/v1/pods?limit=500", 64 << 10)
        .await
        .unwrap_err();
    assert_eq!(
        error,
        "the answer to GET /api/v1/pods is larger than 64 KiB: read fewer objects at once (-n NAMESPACE), or raise [kubernetes] max_answer_bytes"
    );
}

#[tokio::test]
async fn an_announced_length_over_the_limit_is_refused_before_reading() {
    let server = Answering {
        chunks: endless,
        length: Some(100 << 20),
    };
    let error = answer(server, "/apis/argoproj.io/v1alpha1/rollouts", 64 << 20)
        .await
        .unwrap_err();
    assert!(
        error.starts_with(
            "the answer to GET /apis/argoproj.io/v1alpha1/rollouts is larger than 64 MiB"
        ),
        "{error}"
    );
}

#[tokio::test]
async fn an_answer_within_the_limit_arrives_whole() {
    fn small() -> Chunks {
        frames(stream::iter([
            Bytes::from("{\"items\":"),
            Bytes::from("[]}"),
        ]))
    }
    let server = Answering {
        chunks: small,
        length: Some(12),
    };
    let body = answer(server, "/api/v1/pods", 12).await.unwrap();
    assert_eq!(body, "{\"items\":[]}");
}

#[tokio::test]
async fn a_watch_is_limited_per_event_not_in_all() {
    // Far more than the limit in all, in lines well within it: the watch
    // goes on (read a good way past the limit, then let go).
    let mut service = AnswerLimitLayer { limit: 1024 }.layer(Answering {
        chunks: endless_short_lines,
        length: None,
    });
    let request = Request::get("/api/v1/pods?watch=true&resourceVersion=5")
        .body(())
        .unwrap();
    let mut body = service.call(request).await.unwrap().into_body();
    let mut read = 0;
    while read < 1 << 20 {
        let frame = body.frame().await.unwrap().expect("within the limit");
        read += frame.into_data().unwrap().len();
    }
    // One event without an end is cut at the limit.
    let error = answer(
        Answering {
            chunks: endless,
            length: None,
        },
        "/api/v1/pods?watch=1",
        1024,
    )
    .await
    .unwrap_err();
    assert!(
        error.starts_with("an event of the watch GET /api/v1/pods is larger than 1 KiB"),
        "{error}"
    );
}

#[test]
fn a_long_line_between_short_ones_in_one_chunk_is_caught() {
    let mut body = Limited {
        body: (),
        asked: Asked {
            request: "GET /api/v1/pods".into(),
            watch: true,
        },
        limit: 10,
        counted: 0,
        failed: false,
    };
    assert!(body.count(b"short\nalso\n"));
    assert!(!body.count(b"ok\nthis line is too long\nok"));
    body.counted = 0;
    assert!(body.count(b"12345"));
    assert!(!body.count(b"678901\n"), "one line over two chunks");
}
