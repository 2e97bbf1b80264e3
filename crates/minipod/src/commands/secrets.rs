//! Secrets on the daemon, for `apply`, `get` and `delete`: the requests and
//! kubectl's output (`secret/regcred created`, NAME TYPE DATA AGE,
//! `secret "regcred" deleted`).

use anyhow::Result;
use minipod_lifecycle::Timestamp;
use minipod_lifecycle::duration::human_duration;
use minipod_spec::Secret;
use serde_json::Value;

use crate::client::{Client, status_error};
use crate::exit;
use crate::table;

/// `/api/v1/namespaces/{ns}/secrets`.
pub fn secrets_path(namespace: &str) -> String {
    format!("/api/v1/namespaces/{namespace}/secrets")
}

/// Creates `secret`, or replaces the stored one with it, and prints what
/// happened as `kubectl apply` does. The daemon decodes and validates it
/// (and answers an unchanged Secret with its old resourceVersion).
///
/// Unlike `kubectl apply`'s three-way merge, an existing Secret is replaced
/// whole (a PUT): its labels, annotations and keys become the manifest's.
pub fn apply(client: &Client, secret: &Secret, default_namespace: &str) -> Result<u8> {
    let namespace = match secret.namespace() {
        "" => default_namespace,
        ns => ns,
    };
    let name = secret.name();
    let mut body = serde_json::to_value(secret)?;
    body["metadata"]["namespace"] = namespace.into();
    let path = format!("{}/{name}", secrets_path(namespace));
    let existing = client.get(&path)?;
    let (response, before) = if existing.status == 404 || name.is_empty() {
        drop(existing);
        let body = serde_json::to_vec(&body)?;
        let created = client.request(
            "POST",
            &secrets_path(namespace),
            Some(&body),
            "application/json",
        )?;
        (created, None)
    } else {
        let current = existing.json()?;
        body["metadata"]["resourceVersion"] = current["metadata"]["resourceVersion"].clone();
        let body = serde_json::to_vec(&body)?;
        let replaced = client.request("PUT", &path, Some(&body), "application/json")?;
        (replaced, Some(current))
    };
    let status = response.status;
    let value: Value = serde_json::from_slice(&response.bytes()?).unwrap_or_default();
    if !(200..300).contains(&status) {
        eprintln!("{}", status_error(&value, status));
        return Ok(if status == 422 || status == 400 {
            exit::INVALID_INPUT
        } else {
            exit::FAILURE
        });
    }
    let version = |v: &Value| v["metadata"]["resourceVersion"].clone();
    let verb = match before {
        None => "created",
        Some(before) if version(&before) == version(&value) => "unchanged",
        Some(_) => "configured",
    };
    let name = value["metadata"]["name"].as_str().unwrap_or(name);
    println!("secret/{name} {verb}");
    Ok(exit::OK)
}

/// `kubectl get secrets`' header.
pub fn header(all_namespaces: bool) -> Vec<String> {
    let mut header = Vec::new();
    if all_namespaces {
        header.push("NAMESPACE".to_owned());
    }
    header.extend(["NAME", "TYPE", "DATA", "AGE"].map(String::from));
    header
}

/// One Secret's row: the number of keys of `data`, and its age.
pub fn row(secret: &Value, now: Timestamp, all_namespaces: bool) -> Vec<String> {
    let metadata = &secret["metadata"];
    let text = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    let mut row = Vec::new();
    if all_namespaces {
        row.push(text(&metadata["namespace"]));
    }
    let keys = secret["data"].as_object().map_or(0, serde_json::Map::len);
    let age = metadata["creationTimestamp"]
        .as_str()
        .and_then(|t| Timestamp::parse_rfc3339(t).ok())
        .map_or_else(
            || "<unknown>".to_owned(),
            |t| human_duration(now.nanos_since(t)),
        );
    row.extend([
        text(&metadata["name"]),
        text(&secret["type"]),
        keys.to_string(),
        age,
    ]);
    row
}

/// The table of `secrets` (kubectl's layout).
pub fn render(secrets: &[Value], now: Timestamp, all_namespaces: bool) -> String {
    let mut rows = vec![header(all_namespaces)];
    rows.extend(secrets.iter().map(|s| row(s, now, all_namespaces)));
    table::render(&rows)
}

/// Deletes one Secret and prints `secret "x" deleted` (or the error).
pub fn delete(client: &Client, namespace: &str, name: &str) -> Result<u8> {
    let path = format!("{}/{name}", secrets_path(namespace));
    let response = client.request("DELETE", &path, None, "application/json")?;
    let status = response.status;
    if (200..300).contains(&status) {
        drop(response);
        println!("secret \"{name}\" deleted");
        Ok(exit::OK)
    } else {
        let message = response
            .json()
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        eprintln!("{message}");
        Ok(exit::FAILURE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rows_look_like_kubectls() {
        let now = Timestamp::parse_rfc3339("2024-05-01T12:05:00Z").unwrap();
        let secrets = [
            json!({"metadata": {"name": "regcred", "namespace": "default", "creationTimestamp": "2024-05-01T12:00:00Z"},
                   "type": "kubernetes.io/dockerconfigjson", "data": {".dockerconfigjson": "e30="}}),
            json!({"metadata": {"name": "empty", "namespace": "lab", "creationTimestamp": "2024-05-01T12:04:30Z"},
                   "type": "Opaque"}),
        ];
        assert_eq!(
            render(&secrets, now, false),
            "NAME      TYPE                             DATA   AGE\n\
             regcred   kubernetes.io/dockerconfigjson   1      5m\n\
             empty     Opaque                           0      30s\n"
        );
        assert_eq!(header(true), ["NAMESPACE", "NAME", "TYPE", "DATA", "AGE"]);
        assert_eq!(row(&secrets[1], now, true)[0], "lab");
    }
}
