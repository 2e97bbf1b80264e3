//! Discovery: `/version`, `/api`, `/api/v1`, `/apis`.
//!
//! kubectl 1.32 first asks for aggregated discovery
//! (`Accept: application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList,...,application/json`).
//! These answers are the legacy documents with `Content-Type:
//! application/json`, which tells kubectl to read them the old way.

use serde_json::{Value, json};

/// The Kubernetes version minipod's API follows.
pub const MAJOR: &str = "1";
/// The minor version.
pub const MINOR: &str = "32";

/// Go's name of this machine's architecture (`amd64`, `arm64`, ...).
fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64le",
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        other => other,
    }
}

/// `/version` (`version.Info`).
pub fn version() -> Value {
    json!({
        "major": MAJOR,
        "minor": MINOR,
        "gitVersion": format!("v{MAJOR}.{MINOR}.0-minipod"),
        "gitCommit": "",
        "gitTreeState": "clean",
        "buildDate": "1970-01-01T00:00:00Z",
        "goVersion": format!("minipod {}", env!("CARGO_PKG_VERSION")),
        "compiler": "rustc",
        "platform": format!("linux/{}", go_arch()),
    })
}

/// `/api` (`APIVersions`).
pub fn api_versions(server_address: &str) -> Value {
    json!({
        "kind": "APIVersions",
        "versions": ["v1"],
        "serverAddressByClientCIDRs": [
            {"clientCIDR": "0.0.0.0/0", "serverAddress": server_address}
        ],
    })
}

/// `/apis` (`APIGroupList`): no groups besides the core one.
pub fn api_groups() -> Value {
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": []})
}

/// `/api/v1` (`APIResourceList`).
pub fn core_v1_resources() -> Value {
    json!({
        "kind": "APIResourceList",
        "groupVersion": "v1",
        "resources": [
            {
                "name": "events",
                "singularName": "event",
                "namespaced": true,
                "kind": "Event",
                "verbs": ["get", "list", "watch"],
                "shortNames": ["ev"]
            },
            {
                "name": "namespaces",
                "singularName": "namespace",
                "namespaced": false,
                "kind": "Namespace",
                "verbs": ["get", "list"],
                "shortNames": ["ns"]
            },
            {
                "name": "pods",
                "singularName": "pod",
                "namespaced": true,
                "kind": "Pod",
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"],
                "shortNames": ["po"],
                "categories": ["all"]
            },
            {
                "name": "pods/exec",
                "singularName": "",
                "namespaced": true,
                "kind": "PodExecOptions",
                "verbs": ["create", "get"]
            },
            {
                "name": "pods/log",
                "singularName": "",
                "namespaced": true,
                "kind": "Pod",
                "verbs": ["get"]
            },
            {
                "name": "pods/status",
                "singularName": "",
                "namespaced": true,
                "kind": "Pod",
                "verbs": ["get"]
            },
            {
                "name": "secrets",
                "singularName": "secret",
                "namespaced": true,
                "kind": "Secret",
                "verbs": ["create", "delete", "get", "list", "patch", "update", "watch"]
            }
        ]
    })
}

/// `/openapi/v3`: the index of the OpenAPI v3 documents, one for `api/v1`.
pub fn openapi_v3_root() -> Value {
    json!({
        "paths": {
            "api/v1": {
                "serverRelativeURL": format!("/openapi/v3/api/v1?hash=minipod-{}", env!("CARGO_PKG_VERSION"))
            }
        }
    })
}

/// `/openapi/v3/api/v1`: just enough OpenAPI for kubectl's check that the
/// server validates fields itself (`fieldValidation` among the parameters of
/// the Pod and Secret PATCH operations), so `kubectl create/apply` send
/// `fieldValidation=Strict` instead of downloading schemas to validate with.
/// Schemas are not served (`kubectl explain` does not work).
pub fn openapi_v3_core() -> Value {
    let field_validation = json!({
        "name": "fieldValidation",
        "in": "query",
        "description": "Strict: unknown or duplicate fields are an error (minipod always decodes strictly).",
        "schema": {"type": "string", "uniqueItems": true}
    });
    let op = |action: &str, kind: &str| {
        json!({
            "operationId": format!("{action}CoreV1Namespaced{kind}"),
            "parameters": [field_validation],
            "responses": {"200": {"description": "OK"}},
            "x-kubernetes-action": action,
            "x-kubernetes-group-version-kind": {"group": "", "version": "v1", "kind": kind},
        })
    };
    json!({
        "openapi": "3.0.0",
        "info": {"title": "minipod", "version": format!("v{MAJOR}.{MINOR}.0-minipod")},
        "paths": {
            "/api/v1/namespaces/{namespace}/pods": {"post": op("post", "Pod")},
            "/api/v1/namespaces/{namespace}/pods/{name}": {
                "put": op("put", "Pod"),
                "patch": op("patch", "Pod"),
            },
            "/api/v1/namespaces/{namespace}/secrets": {"post": op("post", "Secret")},
            "/api/v1/namespaces/{namespace}/secrets/{name}": {
                "put": op("put", "Secret"),
                "patch": op("patch", "Secret"),
            }
        },
        "components": {}
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_shape() {
        let v = version();
        assert_eq!(v["major"], "1");
        assert_eq!(v["minor"], "32");
        assert_eq!(v["gitVersion"], "v1.32.0-minipod");
        assert!(v["platform"].as_str().expect("str").starts_with("linux/"));
    }

    #[test]
    fn pods_are_discoverable() {
        let r = core_v1_resources();
        let pods = r["resources"]
            .as_array()
            .expect("array")
            .iter()
            .find(|r| r["name"] == "pods")
            .expect("pods");
        assert_eq!(pods["shortNames"], json!(["po"]));
        assert_eq!(pods["categories"], json!(["all"]));
        assert!(
            pods["verbs"]
                .as_array()
                .expect("verbs")
                .contains(&json!("watch"))
        );
    }
}
