//! What the client does when the server asks something of it (sampling,
//! elicitation, roots, ping) or tells it something (notifications).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::jsonrpc::{ErrorObject, Notification};
use crate::protocol::{
    ClientCapabilities, CreateMessageRequestParams, CreateMessageResult, ElicitRequestParams,
    ElicitResult, ElicitationCapability, ListRootsResult, Root, RootsCapability,
    SamplingCapability, methods,
};

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;
type RequestHandler =
    Arc<dyn Fn(Option<Value>) -> BoxFuture<Result<Value, ErrorObject>> + Send + Sync>;
/// A callback for notifications from the server.
pub type NotificationHandler = Arc<dyn Fn(Notification) + Send + Sync>;

/// The client's answers to the server's requests.
#[derive(Clone, Default)]
pub(crate) struct Handlers {
    sampling: Option<RequestHandler>,
    elicitation: Option<RequestHandler>,
    pub(crate) roots: Option<Arc<Mutex<Vec<Root>>>>,
    pub(crate) notification: Option<NotificationHandler>,
}

fn typed<P, R, F, Fut>(handler: F) -> RequestHandler
where
    P: DeserializeOwned + Send + 'static,
    R: Serialize + 'static,
    F: Fn(P) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<R, ErrorObject>> + Send + 'static,
{
    let handler = Arc::new(handler);
    Arc::new(move |params: Option<Value>| {
        let params = params.unwrap_or_else(|| Value::Object(serde_json::Map::new()));
        match serde_json::from_value::<P>(params) {
            Err(e) => Box::pin(std::future::ready(Err(ErrorObject::invalid_params(
                format!("invalid params: {e}"),
            )))),
            Ok(params) => {
                let future = handler(params);
                Box::pin(async move {
                    let result = future.await?;
                    serde_json::to_value(result)
                        .map_err(|e| ErrorObject::internal_error(e.to_string()))
                })
            }
        }
    })
}

impl Handlers {
    pub(crate) fn set_sampling<F, Fut>(&mut self, handler: F)
    where
        F: Fn(CreateMessageRequestParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<CreateMessageResult, ErrorObject>> + Send + 'static,
    {
        self.sampling = Some(typed(handler));
    }

    pub(crate) fn set_elicitation<F, Fut>(&mut self, handler: F)
    where
        F: Fn(ElicitRequestParams) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<ElicitResult, ErrorObject>> + Send + 'static,
    {
        self.elicitation = Some(typed(handler));
    }

    /// The capabilities these handlers make the client declare.
    pub(crate) fn capabilities(&self) -> ClientCapabilities {
        let mut capabilities = ClientCapabilities::default();
        if self.sampling.is_some() {
            capabilities.sampling = Some(SamplingCapability::default());
        }
        if self.elicitation.is_some() {
            capabilities.elicitation = Some(ElicitationCapability::default());
        }
        if self.roots.is_some() {
            capabilities.roots = Some(RootsCapability {
                list_changed: Some(true),
                ..RootsCapability::default()
            });
        }
        capabilities
    }

    /// Answers one request from the server.
    pub(crate) async fn answer(
        &self,
        method: &str,
        params: Option<Value>,
    ) -> Result<Value, ErrorObject> {
        let handler = match method {
            methods::PING => return Ok(Value::Object(serde_json::Map::new())),
            methods::ROOTS_LIST => {
                let Some(roots) = &self.roots else {
                    return Err(ErrorObject::method_not_found(method));
                };
                let roots = roots.lock().unwrap_or_else(PoisonError::into_inner).clone();
                return serde_json::to_value(ListRootsResult::new(roots))
                    .map_err(|e| ErrorObject::internal_error(e.to_string()));
            }
            methods::SAMPLING_CREATE_MESSAGE => self.sampling.as_ref(),
            methods::ELICITATION_CREATE => self.elicitation.as_ref(),
            _ => None,
        };
        match handler {
            Some(handler) => handler(params).await,
            None => Err(ErrorObject::method_not_found(method)),
        }
    }
}
