//! Streams that end when the gateway shuts down: a job watch or a health watch
//! still open at SIGTERM ends with UNAVAILABLE, so the client can tell it from a
//! finished stream (which ends OK) and re-attaches to another replica, and the
//! drain does not wait on streams that would otherwise stay open for as long as
//! their clients like.

use std::pin::Pin;

use futures::{Stream, StreamExt};
use tokio::sync::watch;
use tonic::{Request, Response, Status};
use tonic_health::{
    pb::{HealthCheckRequest, HealthCheckResponse, health_server::Health},
    server::HealthService,
};

/// What a stream cut by the shutdown ends with.
pub const SHUTTING_DOWN: &str = "the gateway is shutting down: call again (another replica answers)";

/// A boxed stream of gRPC items, as the services return them.
pub type Items<T> = Pin<Box<dyn Stream<Item = Result<T, Status>> + Send>>;

/// `stream` until it ends by itself (then as it ended), or until `closing`
/// turns true (then one UNAVAILABLE). An item already waiting is delivered
/// before the cut, so a health watch still sees the NOT_SERVING set just before.
pub fn until_closing<T: Send + 'static>(stream: Items<T>, closing: watch::Receiver<bool>) -> Items<T> {
    Box::pin(futures::stream::unfold(Some((stream, closing)), |state| async move {
        let (mut stream, mut closing) = state?;
        tokio::select! {
            biased;
            item = stream.next() => item.map(|item| (item, Some((stream, closing)))),
            () = closed(&mut closing) => Some((Err(Status::unavailable(SHUTTING_DOWN)), None)),
        }
    }))
}

/// Resolves once `closing` is true. A dropped sender means no server is left
/// to shut down (a gateway built outside [`crate::serve`]): never resolves.
async fn closed(closing: &mut watch::Receiver<bool>) {
    if closing.wait_for(|c| *c).await.is_err() {
        std::future::pending::<()>().await;
    }
}

/// `grpc.health.v1.Health` as tonic-health serves it, but with watches that end
/// at shutdown (tonic-health's stay open until the client goes away, which
/// held a gateway's exit for as long as the client's deadline).
pub struct ClosingHealth {
    inner: HealthService,
    closing: watch::Receiver<bool>,
}

impl ClosingHealth {
    pub fn new(inner: HealthService, closing: watch::Receiver<bool>) -> Self {
        ClosingHealth { inner, closing }
    }
}

#[tonic::async_trait]
impl Health for ClosingHealth {
    async fn check(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<HealthCheckResponse>, Status> {
        self.inner.check(request).await
    }

    type WatchStream = Items<HealthCheckResponse>;

    async fn watch(
        &self,
        request: Request<HealthCheckRequest>,
    ) -> Result<Response<Self::WatchStream>, Status> {
        let statuses = self.inner.watch(request).await?.into_inner();
        Ok(Response::new(until_closing(Box::pin(statuses), self.closing.clone())))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[tokio::test]
    async fn a_finished_stream_ends_as_it_ended() {
        let (_closing, closed) = watch::channel(false);
        let items: Items<u32> = Box::pin(futures::stream::iter([Ok(1), Ok(2)]));
        let seen: Vec<_> = until_closing(items, closed).map(|i| i.unwrap()).collect().await;
        assert_eq!(seen, [1, 2]);
    }

    #[tokio::test]
    async fn closing_delivers_what_waits_then_ends_unavailable() {
        let (closing, closed) = watch::channel(false);
        let items: Items<u32> = Box::pin(futures::stream::iter([Ok(1)]).chain(futures::stream::pending()));
        let mut cut = until_closing(items, closed);
        closing.send(true).unwrap();
        assert_eq!(cut.next().await.unwrap().unwrap(), 1);
        assert_eq!(cut.next().await.unwrap().unwrap_err().code(), tonic::Code::Unavailable);
        assert!(cut.next().await.is_none());
    }

    #[tokio::test]
    async fn without_a_server_nothing_cuts() {
        let (closing, closed) = watch::channel(false);
        drop(closing);
        let items: Items<u32> = Box::pin(futures::stream::iter([Ok(7)]));
        let seen: Vec<_> = until_closing(items, closed).map(|i| i.unwrap()).collect().await;
        assert_eq!(seen, [7]);
    }
}
