//! Lists and watches: every object of a resource, and the changes after a
//! resourceVersion from the history, then live ones.

use minipod_api::ApiError;
use minipod_api::backend::{ObjectList, Resource, WatchStream};
use serde_json::Value;
use tokio::sync::{broadcast, mpsc};

use super::Daemon;
use super::state::Change;

pub(super) fn list(
    daemon: &Daemon,
    resource: Resource,
    namespace: Option<&str>,
) -> Result<ObjectList, ApiError> {
    let state = daemon.lock();
    let items: Vec<Value> = match resource {
        Resource::Pods => state
            .pods
            .values()
            .filter(|e| namespace.is_none_or(|n| n == e.namespace))
            .map(|e| e.object.clone())
            .collect(),
        Resource::Events => state
            .events
            .iter()
            .filter(|e| namespace.is_none_or(|n| e["metadata"]["namespace"] == n))
            .cloned()
            .collect(),
        Resource::Secrets => state
            .secrets
            .iter()
            .filter(|((ns, _), _)| namespace.is_none_or(|n| n == ns))
            .map(|(_, secret)| secret.clone())
            .collect(),
    };
    Ok(ObjectList {
        items,
        resource_version: state.version,
    })
}

pub(super) fn watch(
    daemon: &Daemon,
    resource: Resource,
    namespace: Option<&str>,
    after: u64,
) -> Result<WatchStream, ApiError> {
    let (sender, receiver) = mpsc::channel(256);
    let namespace = namespace.map(String::from);
    let wanted = move |c: &Change| {
        c.resource == resource
            && c.version > after
            && namespace.as_ref().is_none_or(|n| *n == c.namespace)
    };
    let (backlog, mut live) = {
        let state = daemon.lock();
        if after > 0
            && state
                .history
                .front()
                .is_some_and(|first| first.version > after + 1)
        {
            let oldest = state.history.front().map_or(0, |c| c.version);
            return Err(ApiError::Gone {
                requested: after,
                oldest,
            });
        }
        let backlog: Vec<Change> = if after == 0 {
            Vec::new()
        } else {
            state
                .history
                .iter()
                .filter(|c| wanted(c))
                .cloned()
                .collect()
        };
        (backlog, daemon.changes.subscribe())
    };
    tokio::spawn(async move {
        let mut last = after;
        for change in backlog {
            last = change.version;
            if sender.send(change.event).await.is_err() {
                return;
            }
        }
        loop {
            match live.recv().await {
                Ok(change) if wanted(&change) && change.version > last => {
                    last = change.version;
                    if sender.send(change.event).await.is_err() {
                        return;
                    }
                }
                Ok(_) => {}
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => return,
            }
        }
    });
    Ok(receiver)
}
