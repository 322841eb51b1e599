//! Serving the document (RFC 9728 §3): [`ProtectedResourceMetadataService`]
//! on its own, or [`ProtectedResourceMetadataLayer`] in front of the app.

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{ALLOW, CACHE_CONTROL, CONTENT_LENGTH, CONTENT_TYPE, HeaderValue};
use http::{Method, Request, Response, StatusCode};
use http_body_util::Full;
use tower_layer::Layer;
use tower_service::Service;

use super::ProtectedResourceMetadata;
use crate::challenge::{Rejection, ResponseBody, ResponseFuture};

/// How long clients and caches may keep the document by default: one hour.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(3600);

/// The prepared response and the route it answers.
#[derive(Debug, Clone)]
struct Served {
    /// `/.well-known/oauth-protected-resource` + the resource's path.
    path: String,
    /// The same path without a trailing slash, when the resource's path has
    /// one: some clients strip it before building the well-known URL.
    alias: Option<String>,
    /// The resource's query, which requests must repeat when there is one.
    query: Option<String>,
    body: Bytes,
    cache_control: HeaderValue,
}

impl Served {
    fn new(metadata: &ProtectedResourceMetadata) -> Self {
        let path = metadata.well_known_path().to_owned();
        let alias = path
            .strip_suffix('/')
            .filter(|p| p.len() > super::WELL_KNOWN_PATH.len())
            .map(str::to_owned);
        let query = metadata.well_known_query().map(str::to_owned);
        Self {
            path,
            alias,
            query,
            body: Bytes::copy_from_slice(metadata.as_json().as_bytes()),
            cache_control: cache_control(DEFAULT_MAX_AGE),
        }
    }

    /// Whether `request` targets the document's route (any method).
    fn owns<B>(&self, request: &Request<B>) -> bool {
        let uri = request.uri();
        let path = uri.path();
        let path_matches = path == self.path || self.alias.as_deref() == Some(path);
        let query_matches = self.query.is_none() || uri.query() == self.query.as_deref();
        path_matches && query_matches
    }

    /// The answer to a request on the document's route: the document for
    /// `GET`, its headers for `HEAD`, 405 otherwise.
    fn respond(&self, method: &Method) -> Response<Full<Bytes>> {
        let head = *method == Method::HEAD;
        if !head && *method != Method::GET {
            tracing::debug!(target: "mcp_tower::metadata", %method, "method not allowed");
            return Rejection::new(
                StatusCode::METHOD_NOT_ALLOWED,
                None,
                "the protected resource metadata is read with GET or HEAD",
            )
            .header(ALLOW, HeaderValue::from_static("GET, HEAD"))
            .into_response();
        }
        let mut response = Response::new(if head {
            Full::default()
        } else {
            Full::new(self.body.clone())
        });
        let headers = response.headers_mut();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        headers.insert(CACHE_CONTROL, self.cache_control.clone());
        headers.insert(CONTENT_LENGTH, HeaderValue::from(self.body.len()));
        response
    }

    fn not_found() -> Response<Full<Bytes>> {
        Rejection::new(
            StatusCode::NOT_FOUND,
            None,
            "not found: this service serves only the protected resource metadata",
        )
        .into_response()
    }
}

/// `public, max-age=<seconds>`.
fn cache_control(max_age: Duration) -> HeaderValue {
    HeaderValue::try_from(format!("public, max-age={}", max_age.as_secs()))
        .unwrap_or_else(|_| HeaderValue::from_static("public, max-age=3600"))
}

/// A [`Service`] that serves a [`ProtectedResourceMetadata`] document at its
/// well-known path (RFC 9728 §3.1), whatever the request's host.
///
/// `GET` gets the JSON document with `Content-Type: application/json` and
/// `Cache-Control: public, max-age=N` ([`DEFAULT_MAX_AGE`] unless set with
/// [`max_age`](Self::max_age)); `HEAD` the same headers without the body;
/// other methods 405 with `Allow: GET, HEAD`; other paths 404. When the
/// resource has a query, requests must carry the same query.
///
/// When the resource's path ends with `/`, the path without that slash is
/// answered too, for clients that strip it before building the URL.
#[derive(Debug, Clone)]
pub struct ProtectedResourceMetadataService {
    served: Arc<Served>,
}

impl ProtectedResourceMetadataService {
    /// Serves `metadata`.
    pub fn new(metadata: &ProtectedResourceMetadata) -> Self {
        Self {
            served: Arc::new(Served::new(metadata)),
        }
    }

    /// The `max-age` of the `Cache-Control` header (whole seconds).
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        Arc::make_mut(&mut self.served).cache_control = cache_control(max_age);
        self
    }
}

impl<B> Service<Request<B>> for ProtectedResourceMetadataService {
    type Response = Response<Full<Bytes>>;
    type Error = Infallible;
    type Future = Ready<Result<Self::Response, Infallible>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: Request<B>) -> Self::Future {
        ready(Ok(if self.served.owns(&request) {
            self.served.respond(request.method())
        } else {
            Served::not_found()
        }))
    }
}

/// A [`Layer`] that answers the well-known path of a
/// [`ProtectedResourceMetadata`] document (as [`ProtectedResourceMetadataService`]
/// does) and passes every other request to the inner service.
///
/// Put it outside the auth layers, so the document is served without a
/// token:
///
/// ```
/// use mcp_tower_layers::bearer::BearerLayer;
/// use mcp_tower_layers::challenge::ChallengeConfig;
/// use mcp_tower_layers::metadata::{ProtectedResourceMetadata, ProtectedResourceMetadataLayer};
/// use tower_layer::{Layer, Stack};
///
/// let metadata = ProtectedResourceMetadata::builder("https://mcp.example.com/mcp")
///     .authorization_server("https://auth.example.com")
///     .build()?;
/// let auth = BearerLayer::with_challenges(ChallengeConfig::new().resource_metadata(metadata.url()));
/// // Outermost first: metadata, then auth, then the app.
/// let stack = Stack::new(auth, ProtectedResourceMetadataLayer::new(&metadata));
/// # let _ = stack;
/// # Ok::<(), mcp_tower_layers::ConfigError>(())
/// ```
#[derive(Debug, Clone)]
pub struct ProtectedResourceMetadataLayer {
    served: Arc<Served>,
}

impl ProtectedResourceMetadataLayer {
    /// Serves `metadata` in front of the inner service.
    pub fn new(metadata: &ProtectedResourceMetadata) -> Self {
        Self {
            served: Arc::new(Served::new(metadata)),
        }
    }

    /// The `max-age` of the `Cache-Control` header (whole seconds).
    #[must_use]
    pub fn max_age(mut self, max_age: Duration) -> Self {
        Arc::make_mut(&mut self.served).cache_control = cache_control(max_age);
        self
    }
}

impl<S> Layer<S> for ProtectedResourceMetadataLayer {
    type Service = ProtectedResourceMetadataRoute<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ProtectedResourceMetadataRoute {
            inner,
            served: Arc::clone(&self.served),
        }
    }
}

/// The service made by [`ProtectedResourceMetadataLayer`].
#[derive(Debug, Clone)]
pub struct ProtectedResourceMetadataRoute<S> {
    inner: S,
    served: Arc<Served>,
}

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for ProtectedResourceMetadataRoute<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResponseBody<ResBody>>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Request<ReqBody>) -> Self::Future {
        if self.served.owns(&request) {
            ResponseFuture::ready(self.served.respond(request.method()))
        } else {
            ResponseFuture::inner(self.inner.call(request))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use http_body_util::BodyExt;
    use tower::{ServiceExt, service_fn};

    fn metadata(resource: &str) -> ProtectedResourceMetadata {
        ProtectedResourceMetadata::builder(resource)
            .authorization_server("https://as.example")
            .build()
            .unwrap()
    }

    fn request(method: Method, uri: &str) -> Request<()> {
        Request::builder().method(method).uri(uri).body(()).unwrap()
    }

    async fn body<B: http_body::Body>(response: Response<B>) -> Bytes
    where
        B::Error: std::fmt::Debug,
    {
        response.into_body().collect().await.unwrap().to_bytes()
    }

    async fn call(
        service: &ProtectedResourceMetadataService,
        method: Method,
        uri: &str,
    ) -> Response<Full<Bytes>> {
        service.clone().oneshot(request(method, uri)).await.unwrap()
    }

    #[tokio::test]
    async fn serves_the_document_at_the_well_known_path() {
        let metadata = metadata("https://r.example/mcp");
        let service = ProtectedResourceMetadataService::new(&metadata);
        let response = call(
            &service,
            Method::GET,
            "/.well-known/oauth-protected-resource/mcp",
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(response.headers()[CACHE_CONTROL], "public, max-age=3600");
        assert_eq!(
            response.headers()[CONTENT_LENGTH],
            metadata.as_json().len().to_string()
        );
        assert_eq!(body(response).await, metadata.as_json().as_bytes());

        // Absolute-form request targets match on the path too.
        let response = call(
            &service,
            Method::GET,
            "https://r.example/.well-known/oauth-protected-resource/mcp",
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
    }

    #[tokio::test]
    async fn head_has_the_headers_and_no_body() {
        let metadata = metadata("https://r.example/mcp");
        let service = ProtectedResourceMetadataService::new(&metadata);
        let response = call(
            &service,
            Method::HEAD,
            "/.well-known/oauth-protected-resource/mcp",
        )
        .await;
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CONTENT_TYPE], "application/json");
        assert_eq!(
            response.headers()[CONTENT_LENGTH],
            metadata.as_json().len().to_string()
        );
        assert!(body(response).await.is_empty());
    }

    #[tokio::test]
    async fn other_methods_get_405_with_allow() {
        let service = ProtectedResourceMetadataService::new(&metadata("https://r.example/mcp"));
        for method in [Method::POST, Method::PUT, Method::DELETE, Method::OPTIONS] {
            let response = call(
                &service,
                method,
                "/.well-known/oauth-protected-resource/mcp",
            )
            .await;
            assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);
            assert_eq!(response.headers()[ALLOW], "GET, HEAD");
        }
    }

    #[tokio::test]
    async fn other_paths_get_404() {
        let service = ProtectedResourceMetadataService::new(&metadata("https://r.example/mcp"));
        for uri in [
            "/",
            "/mcp",
            "/.well-known/oauth-protected-resource",
            "/.well-known/oauth-protected-resource/mcp/",
            "/.well-known/oauth-protected-resource/mcpx",
            "/.well-known/oauth-authorization-server/mcp",
        ] {
            let response = call(&service, Method::GET, uri).await;
            assert_eq!(response.status(), StatusCode::NOT_FOUND, "{uri}");
        }
    }

    #[tokio::test]
    async fn root_resource_is_served_at_the_bare_well_known_path() {
        let service = ProtectedResourceMetadataService::new(&metadata("https://r.example"));
        let ok = call(
            &service,
            Method::GET,
            "/.well-known/oauth-protected-resource",
        )
        .await;
        assert_eq!(ok.status(), StatusCode::OK);
        let other = call(
            &service,
            Method::GET,
            "/.well-known/oauth-protected-resource/",
        )
        .await;
        assert_eq!(other.status(), StatusCode::NOT_FOUND);
    }

    #[tokio::test]
    async fn trailing_slash_resource_is_served_with_and_without_it() {
        let metadata = metadata("https://r.example/mcp/");
        assert_eq!(
            metadata.url(),
            "https://r.example/.well-known/oauth-protected-resource/mcp/"
        );
        let service = ProtectedResourceMetadataService::new(&metadata);
        for uri in [
            "/.well-known/oauth-protected-resource/mcp/",
            "/.well-known/oauth-protected-resource/mcp",
        ] {
            assert_eq!(
                call(&service, Method::GET, uri).await.status(),
                StatusCode::OK
            );
        }
    }

    #[tokio::test]
    async fn resource_query_must_be_repeated() {
        let service =
            ProtectedResourceMetadataService::new(&metadata("https://r.example/mcp?tenant=a"));
        let path = "/.well-known/oauth-protected-resource/mcp";
        let ok = call(&service, Method::GET, &format!("{path}?tenant=a")).await;
        assert_eq!(ok.status(), StatusCode::OK);
        for uri in [path.to_owned(), format!("{path}?tenant=b")] {
            assert_eq!(
                call(&service, Method::GET, &uri).await.status(),
                StatusCode::NOT_FOUND
            );
        }
    }

    #[tokio::test]
    async fn max_age_is_configurable() {
        let service = ProtectedResourceMetadataService::new(&metadata("https://r.example/mcp"))
            .max_age(Duration::from_secs(60));
        let response = call(
            &service,
            Method::GET,
            "/.well-known/oauth-protected-resource/mcp",
        )
        .await;
        assert_eq!(response.headers()[CACHE_CONTROL], "public, max-age=60");
    }

    #[tokio::test]
    async fn layer_answers_its_path_and_passes_the_rest() {
        let metadata = metadata("https://r.example/mcp");
        let app = service_fn(|request: Request<()>| async move {
            Ok::<_, Infallible>(Response::new(Full::new(Bytes::from(format!(
                "app saw {}",
                request.uri().path()
            )))))
        });
        let service = ProtectedResourceMetadataLayer::new(&metadata)
            .max_age(Duration::from_secs(5))
            .layer(app);

        let response = service
            .clone()
            .oneshot(request(
                Method::GET,
                "/.well-known/oauth-protected-resource/mcp",
            ))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()[CACHE_CONTROL], "public, max-age=5");
        assert_eq!(body(response).await, metadata.as_json().as_bytes());

        let response = service
            .clone()
            .oneshot(request(
                Method::POST,
                "/.well-known/oauth-protected-resource/mcp",
            ))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::METHOD_NOT_ALLOWED);

        let response = service
            .clone()
            .oneshot(request(Method::POST, "/mcp"))
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(body(response).await, "app saw /mcp");
    }
}
