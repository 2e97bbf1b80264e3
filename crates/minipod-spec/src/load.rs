//! Reading manifests. (stub)
