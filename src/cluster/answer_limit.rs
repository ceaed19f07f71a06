//! A size limit on what the Kubernetes API answers, enforced while the
//! answer streams in: a list page or any other answer is read up to the
//! limit and no further, and a watch, which never ends, is limited per
//! event (one line of the stream). Without it, one huge answer (a
//! misbehaving server, an object stuffed with data) would be held whole.

use crate::size::byte_size;
use bytes::Bytes;
use futures::future::BoxFuture;
use http::{Request, Response};
use http_body::{Body, Frame, SizeHint};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use tower::{BoxError, Layer, Service};

/// The default of `[kubernetes] max_answer_bytes`: far above any list
/// page kube's watchers ask for (500 objects) and any object etcd stores
/// (1.5 MiB by default).
pub const DEFAULT_MAX_ANSWER_BYTES: usize = 64 << 20;

/// Limits every answer of the service it wraps to `limit` bytes.
#[derive(Debug, Clone, Copy)]
pub struct AnswerLimitLayer {
    pub limit: usize,
}

impl<S> Layer<S> for AnswerLimitLayer {
    type Service = AnswerLimit<S>;

    fn layer(&self, inner: S) -> AnswerLimit<S> {
        AnswerLimit {
            inner,
            limit: self.limit,
        }
    }
}

#[derive(Debug, Clone)]
pub struct AnswerLimit<S> {
    inner: S,
    limit: usize,
}

/// The request an answer belongs to, for the message.
#[derive(Debug, Clone)]
struct Asked {
    /// `GET /api/v1/namespaces/shop/pods`, without the query.
    request: String,
    watch: bool,
}

impl Asked {
    fn of<B>(request: &Request<B>) -> Asked {
        let uri = request.uri();
        let watch = uri.query().is_some_and(|q| {
            q.split('&')
                .any(|pair| matches!(pair, "watch=true" | "watch=1"))
        });
        Asked {
            request: format!("{} {}", request.method(), uri.path()),
            watch,
        }
    }
}

/// An answer (or one watch event) longer than the limit.
#[derive(Debug)]
pub struct AnswerTooLarge {
    asked: Asked,
    limit: usize,
}

impl AnswerTooLarge {
    /// What was too large.
    pub fn problem(&self) -> String {
        let (limit, request) = (byte_size(self.limit), &self.asked.request);
        if self.asked.watch {
            format!("an event of the watch {request} is larger than {limit}")
        } else {
            format!("the answer to {request} is larger than {limit}")
        }
    }

    pub fn fix(&self) -> &'static str {
        if self.asked.watch {
            "raise [kubernetes] max_answer_bytes if objects this large are expected"
        } else {
            "read fewer objects at once (-n NAMESPACE), or raise [kubernetes] max_answer_bytes"
        }
    }
}

impl std::fmt::Display for AnswerTooLarge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.problem(), self.fix())
    }
}

impl std::error::Error for AnswerTooLarge {}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for AnswerLimit<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
{
    type Response = Response<Limited<ResBody>>;
    type Error = BoxError;
    type Future = BoxFuture<'static, Result<Self::Response, BoxError>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        let asked = Asked::of(&request);
        let limit = self.limit;
        let answer = self.inner.call(request);
        Box::pin(async move {
            let response = answer.await.map_err(Into::into)?;
            let announced = response
                .headers()
                .get(http::header::CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
            // Refused before a byte of it is read.
            if !asked.watch && announced.is_some_and(|n| n > limit as u64) {
                return Err(AnswerTooLarge { asked, limit }.into());
            }
            Ok(response.map(|body| Limited {
                body,
                asked,
                limit,
                counted: 0,
                failed: false,
            }))
        })
    }
}

/// A body that fails once it passes the limit: in all, or, for a watch,
/// within one line.
pub struct Limited<B> {
    body: B,
    asked: Asked,
    limit: usize,
    /// Bytes of the answer so far, or of a watch's current line.
    counted: usize,
    failed: bool,
}

impl<B> Limited<B> {
    /// Count `data`; true while within the limit.
    fn count(&mut self, data: &[u8]) -> bool {
        if !self.asked.watch {
            self.counted += data.len();
            return self.counted <= self.limit;
        }
        let mut lines = data.split(|b| *b == b'\n');
        self.counted += lines.next().map_or(0, <[u8]>::len);
        let mut within = self.counted <= self.limit;
        for line in lines {
            self.counted = line.len();
            within &= self.counted <= self.limit;
        }
        within
    }
}

impl<B> Body for Limited<B>
where
    B: Body<Data = Bytes> + Unpin,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        if self.failed {
            return Poll::Ready(None);
        }
        let frame = match ready!(Pin::new(&mut self.body).poll_frame(cx)) {
            Some(Ok(frame)) => frame,
            Some(Err(e)) => return Poll::Ready(Some(Err(e.into()))),
            None => return Poll::Ready(None),
        };
        if let Some(data) = frame.data_ref()
            && !self.count(data)
        {
            self.failed = true;
            let error = AnswerTooLarge {
                asked: self.asked.clone(),
                limit: self.limit,
            };
            return Poll::Ready(Some(Err(error.into())));
        }
        Poll::Ready(Some(Ok(frame)))
    }

    fn is_end_stream(&self) -> bool {
        self.failed || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests;
