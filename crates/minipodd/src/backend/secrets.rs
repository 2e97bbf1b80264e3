//! Secret calls: the daemon's own objects, kept in memory and on disk
//! ([`crate::secrets::SecretStore`]).

use minipod_api::ApiError;
use minipod_api::backend::{EventType, ObjectList, Resource, WatchEvent};
use minipod_api::handlers::now;
use serde_json::Value;

use super::state::{Change, State, with_version};
use super::{Daemon, list_watch};

/// Stamps `secret` with the next version, keeps it and tells the watchers.
fn publish(daemon: &Daemon, state: &mut State, event_type: EventType, secret: Value) -> Value {
    let (namespace, name) = (
        secret["metadata"]["namespace"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
        secret["metadata"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_owned(),
    );
    let version = state.next();
    let object = with_version(secret, version);
    if event_type == EventType::Deleted {
        state.secrets.remove(&(namespace.clone(), name));
    } else {
        state
            .secrets
            .insert((namespace.clone(), name), object.clone());
    }
    daemon.publish(
        state,
        Change {
            version,
            resource: Resource::Secrets,
            namespace,
            event: WatchEvent {
                event_type,
                object: object.clone(),
            },
        },
    );
    object
}

/// Stores a new Secret (already admitted by the API layer) on disk and
/// in memory. The write is small and done under the lock, so two
/// creates of one name cannot both succeed.
pub(super) fn create(
    daemon: &Daemon,
    namespace: &str,
    mut secret: Value,
    dry_run: bool,
) -> Result<Value, ApiError> {
    let name = secret["metadata"]["name"]
        .as_str()
        .unwrap_or_default()
        .to_owned();
    let mut state = daemon.lock();
    if state
        .secrets
        .contains_key(&(namespace.to_owned(), name.clone()))
    {
        return Err(ApiError::secret_exists(&name));
    }
    secret["metadata"]["namespace"] = namespace.into();
    secret["metadata"]["uid"] = minipod_node::assigned::server_assigned().uid.into();
    secret["metadata"]["creationTimestamp"] = now().to_string().into();
    if dry_run {
        return Ok(secret);
    }
    daemon
        .secrets
        .write(namespace, &name, &secret)
        .map_err(ApiError::internal)?;
    Ok(publish(daemon, &mut state, EventType::Added, secret))
}

pub(super) fn get(daemon: &Daemon, namespace: &str, name: &str) -> Result<Value, ApiError> {
    daemon
        .lock()
        .secrets
        .get(&(namespace.to_owned(), name.to_owned()))
        .cloned()
        .ok_or_else(|| ApiError::secret_not_found(name))
}

pub(super) fn list(daemon: &Daemon, namespace: Option<&str>) -> Result<ObjectList, ApiError> {
    list_watch::list(daemon, Resource::Secrets, namespace)
}

/// Replaces a Secret. Pods created before keep the logins they were
/// given (as the record holds them); pods created after get the new ones.
pub(super) fn update(
    daemon: &Daemon,
    namespace: &str,
    name: &str,
    mut secret: Value,
) -> Result<Value, ApiError> {
    let mut state = daemon.lock();
    if !state
        .secrets
        .contains_key(&(namespace.to_owned(), name.to_owned()))
    {
        return Err(ApiError::secret_not_found(name));
    }
    if let Some(metadata) = secret.get_mut("metadata").and_then(Value::as_object_mut) {
        metadata.remove("resourceVersion");
    }
    daemon
        .secrets
        .write(namespace, name, &secret)
        .map_err(ApiError::internal)?;
    Ok(publish(daemon, &mut state, EventType::Modified, secret))
}

pub(super) fn delete(daemon: &Daemon, namespace: &str, name: &str) -> Result<Value, ApiError> {
    let mut state = daemon.lock();
    let secret = state
        .secrets
        .get(&(namespace.to_owned(), name.to_owned()))
        .cloned()
        .ok_or_else(|| ApiError::secret_not_found(name))?;
    daemon
        .secrets
        .remove(namespace, name)
        .map_err(ApiError::internal)?;
    Ok(publish(daemon, &mut state, EventType::Deleted, secret))
}
