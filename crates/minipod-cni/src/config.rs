//! The network configuration, found and validated as containerd finds it.
//!
//! containerd's CRI plugin (through go-cni and libcni's `ConfFiles`) lists the
//! conf dir's `.conf`, `.conflist` and `.json` files, sorts them by name and
//! uses the first; a single-plugin file (`.conf`/`.json`) becomes a list of
//! one. The fields are those of the specification's "Configuration format"
//! section:
//! <https://github.com/containernetworking/cni/blob/main/SPEC.md#configuration-format>.

use std::fs;
use std::io::Read;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde_json::{Map, Value};

use crate::error::ConfigError;
use crate::version::Version;

/// containerd's default conf dir (`plugins."io.containerd.grpc.v1.cri".cni.conf_dir`).
pub const DEFAULT_CONF_DIR: &str = "/etc/cni/net.d";
/// The bin dirs searched in order: the upstream release's place, then
/// Debian's `containernetworking-plugins`.
pub const DEFAULT_BIN_DIRS: [&str; 2] = ["/opt/cni/bin", "/usr/lib/cni"];
/// A configuration larger than this is refused (real ones are a few KiB).
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// One plugin of the chain: its `type` and its whole object, passed to the
/// plugin unchanged (fields minipod does not know belong to the plugin).
#[derive(Debug, Clone, PartialEq)]
pub struct PluginConfig {
    pub plugin_type: String,
    pub conf: Map<String, Value>,
}

impl PluginConfig {
    /// Whether the plugin declares the capability `name` (`capabilities`
    /// object, SPEC.md "Deriving runtimeConfig").
    pub fn has_capability(&self, name: &str) -> bool {
        self.conf
            .get("capabilities")
            .and_then(|c| c.get(name))
            .and_then(Value::as_bool)
            .unwrap_or(false)
    }
}

/// A validated network configuration list.
#[derive(Debug, Clone, PartialEq)]
pub struct NetworkConfig {
    pub name: String,
    pub cni_version: String,
    pub version: Version,
    /// `disableCheck`: the runtime must not call `CHECK`.
    pub disable_check: bool,
    /// `disableGC` (CNI 1.1): the runtime must not call `GC`.
    pub disable_gc: bool,
    pub plugins: Vec<PluginConfig>,
    /// The file it came from; `None` for minipod's default chain.
    pub source: Option<PathBuf>,
}

/// The configuration file of `dir` that containerd would use: the first
/// `.conf`, `.conflist` or `.json` regular file by name. `Ok(None)` when there
/// is none (or the dir does not exist): minipod then uses its default chain.
pub fn find_config_file(dir: &Path) -> Result<Option<PathBuf>, ConfigError> {
    let entries = match fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(ConfigError::ListDir {
                dir: dir.to_owned(),
                source,
            });
        }
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry.map_err(|source| ConfigError::ListDir {
            dir: dir.to_owned(),
            source,
        })?;
        let path = entry.path();
        let wanted = matches!(
            path.extension().and_then(|e| e.to_str()),
            Some("conf" | "conflist" | "json")
        );
        // libcni follows symbolic links here (`os.Stat`) and skips directories.
        if wanted && fs::metadata(&path).is_ok_and(|m| m.is_file()) {
            files.push(path);
        }
    }
    files.sort();
    Ok(files.into_iter().next())
}

/// Finds and loads the conf dir's configuration; `Ok(None)` when there is none.
pub fn load_from_dir(dir: &Path) -> Result<Option<NetworkConfig>, ConfigError> {
    match find_config_file(dir)? {
        Some(path) => load_file(&path).map(Some),
        None => Ok(None),
    }
}

/// Reads one configuration file (at most [`MAX_CONFIG_BYTES`]) and validates
/// it: a `.conflist` as a list, anything else as a single plugin.
pub fn load_file(path: &Path) -> Result<NetworkConfig, ConfigError> {
    let read_err = |source| ConfigError::Read {
        path: path.to_owned(),
        source,
    };
    let file = fs::File::open(path).map_err(read_err)?;
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(read_err)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(ConfigError::TooLarge {
            path: path.to_owned(),
            limit: MAX_CONFIG_BYTES,
        });
    }
    let value: Value = serde_json::from_slice(&bytes).map_err(|source| ConfigError::Json {
        path: path.to_owned(),
        source,
    })?;
    let list = path.extension().is_some_and(|e| e == "conflist");
    let mut config = if list {
        parse_list(value, path)?
    } else {
        parse_single(value, path)?
    };
    config.source = Some(path.to_owned());
    Ok(config)
}

fn invalid(path: &Path, field: impl Into<String>, why: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        path: path.to_owned(),
        field: field.into(),
        why: why.into(),
    }
}

fn string_field(obj: &Map<String, Value>, field: &str, path: &Path) -> Result<String, ConfigError> {
    match obj.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) | None => Err(invalid(path, field, "is required")),
        Some(_) => Err(invalid(path, field, "must be a string")),
    }
}

fn bool_field(obj: &Map<String, Value>, field: &str, path: &Path) -> Result<bool, ConfigError> {
    match obj.get(field) {
        None => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(invalid(path, field, "must be true or false")),
    }
}

/// libcni's rule for network names (`^[a-zA-Z0-9][a-zA-Z0-9_.\-]*$`): the name
/// also becomes part of cache file names, so nothing else may pass.
fn valid_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    bytes.next().is_some_and(|b| b.is_ascii_alphanumeric())
        && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

/// A plugin type is a file name in a bin dir: no path separators, no `..`.
fn valid_type(plugin_type: &str) -> bool {
    !plugin_type.is_empty()
        && plugin_type != "."
        && plugin_type != ".."
        && !plugin_type.contains('/')
        && !plugin_type.contains('\0')
}

fn header(obj: &Map<String, Value>, path: &Path) -> Result<(String, String, Version), ConfigError> {
    let cni_version = string_field(obj, "cniVersion", path)?;
    let version = Version::parse(&cni_version).ok_or_else(|| {
        invalid(
            path,
            "cniVersion",
            format!("{cni_version:?} is not a version"),
        )
    })?;
    let name = string_field(obj, "name", path)?;
    if !valid_name(&name) {
        return Err(invalid(
            path,
            "name",
            format!(
                "{name:?} must be letters, digits, '_', '.' or '-', starting with a letter or digit"
            ),
        ));
    }
    Ok((name, cni_version, version))
}

fn plugin(value: Value, field: &str, path: &Path) -> Result<PluginConfig, ConfigError> {
    let Value::Object(conf) = value else {
        return Err(invalid(path, field, "must be an object"));
    };
    let plugin_type = string_field(&conf, "type", path)
        .map_err(|_| invalid(path, format!("{field}.type"), "is required (a string)"))?;
    if !valid_type(&plugin_type) {
        return Err(invalid(
            path,
            format!("{field}.type"),
            format!("{plugin_type:?} must be a plain file name"),
        ));
    }
    if conf.get("capabilities").is_some_and(|c| !c.is_object()) {
        return Err(invalid(
            path,
            format!("{field}.capabilities"),
            "must be an object",
        ));
    }
    Ok(PluginConfig { plugin_type, conf })
}

/// A `.conflist`: `cniVersion`, `name`, `plugins` (at least one).
pub fn parse_list(value: Value, path: &Path) -> Result<NetworkConfig, ConfigError> {
    let Value::Object(mut obj) = value else {
        return Err(invalid(path, "(top level)", "must be a JSON object"));
    };
    let (name, cni_version, version) = header(&obj, path)?;
    let disable_check = bool_field(&obj, "disableCheck", path)?;
    let disable_gc = bool_field(&obj, "disableGC", path)?;
    let Some(Value::Array(items)) = obj.remove("plugins") else {
        return Err(invalid(
            path,
            "plugins",
            "is required (a list of plugin objects)",
        ));
    };
    if items.is_empty() {
        return Err(invalid(path, "plugins", "holds no plugin"));
    }
    let plugins = items
        .into_iter()
        .enumerate()
        .map(|(i, item)| plugin(item, &format!("plugins[{i}]"), path))
        .collect::<Result<_, _>>()?;
    Ok(NetworkConfig {
        name,
        cni_version,
        version,
        disable_check,
        disable_gc,
        plugins,
        source: None,
    })
}

/// A single-plugin `.conf`/`.json`: the plugin object itself carries
/// `cniVersion` and `name`; it becomes a list of one, as libcni's
/// `ConfListFromConf` makes it.
pub fn parse_single(value: Value, path: &Path) -> Result<NetworkConfig, ConfigError> {
    let Value::Object(obj) = &value else {
        return Err(invalid(path, "(top level)", "must be a JSON object"));
    };
    if obj.contains_key("plugins") {
        return Err(invalid(
            path,
            "plugins",
            "a list belongs in a .conflist file, not a single-plugin file",
        ));
    }
    let (name, cni_version, version) = header(obj, path)?;
    let plugin = plugin(value, "(top level)", path)?;
    Ok(NetworkConfig {
        name,
        cni_version,
        version,
        disable_check: false,
        disable_gc: false,
        plugins: vec![plugin],
        source: None,
    })
}

/// The executable `plugin_type` in the first bin dir that has it.
pub fn find_plugin(plugin_type: &str, bin_dirs: &[PathBuf]) -> Result<PathBuf, ConfigError> {
    if valid_type(plugin_type) {
        for dir in bin_dirs {
            let candidate = dir.join(plugin_type);
            if fs::metadata(&candidate)
                .is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
            {
                return Ok(candidate);
            }
        }
    }
    Err(ConfigError::PluginNotFound {
        plugin: plugin_type.to_owned(),
        dirs: bin_dirs.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        fs::write(&path, text).expect("write");
        path
    }

    const LIST: &str = r#"{"cniVersion":"1.0.0","name":"net-a","plugins":[
        {"type":"bridge","bridge":"cni0","ipam":{"type":"host-local"}},
        {"type":"portmap","capabilities":{"portMappings":true}}]}"#;

    #[test]
    fn the_first_file_by_name_wins_whatever_its_extension() {
        let dir = tempfile::tempdir().expect("tempdir");
        write(dir.path(), "20-b.conflist", LIST);
        write(
            dir.path(),
            "10-a.conf",
            r#"{"cniVersion":"0.4.0","name":"single","type":"ptp"}"#,
        );
        write(dir.path(), "00-ignored.txt", "not json");
        fs::create_dir(dir.path().join("05-dir.conflist")).expect("mkdir");
        let found = find_config_file(dir.path()).expect("list");
        assert_eq!(found, Some(dir.path().join("10-a.conf")));
        let config = load_from_dir(dir.path()).expect("load").expect("some");
        assert_eq!(config.name, "single");
        assert_eq!(config.plugins.len(), 1);
        assert_eq!(config.plugins[0].plugin_type, "ptp");
        assert_eq!(config.version, Version(0, 4, 0));
    }

    #[test]
    fn no_dir_or_no_file_means_no_configuration() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(
            load_from_dir(&dir.path().join("absent"))
                .expect("ok")
                .is_none()
        );
        write(dir.path(), "README", "x");
        assert!(load_from_dir(dir.path()).expect("ok").is_none());
    }

    #[test]
    fn a_conflist_keeps_each_plugin_object_whole() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), "10.conflist", LIST);
        let config = load_file(&path).expect("load");
        assert_eq!(config.name, "net-a");
        assert_eq!(config.source.as_deref(), Some(path.as_path()));
        assert_eq!(config.plugins[0].conf["ipam"], json!({"type":"host-local"}));
        assert!(config.plugins[1].has_capability("portMappings"));
        assert!(!config.plugins[0].has_capability("portMappings"));
    }

    fn error_of(name: &str, text: &str) -> String {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = write(dir.path(), name, text);
        let e = load_file(&path).expect_err("must fail");
        let msg = e.to_string();
        assert!(msg.contains(name), "{msg}");
        msg
    }

    #[test]
    fn errors_name_the_file_and_the_field() {
        assert!(error_of("a.conflist", "{").contains("not valid JSON"));
        assert!(
            error_of("a.conflist", r#"{"name":"n","plugins":[]}"#)
                .contains("cniVersion: is required")
        );
        assert!(
            error_of(
                "a.conflist",
                r#"{"cniVersion":"1.0.0","plugins":[{"type":"x"}]}"#
            )
            .contains("name: is required")
        );
        assert!(
            error_of(
                "a.conflist",
                r#"{"cniVersion":"1.0.0","name":"../x","plugins":[{"type":"x"}]}"#
            )
            .contains("name: \"../x\"")
        );
        assert!(
            error_of(
                "a.conflist",
                r#"{"cniVersion":"1.0.0","name":"n","plugins":[]}"#
            )
            .contains("plugins: holds no plugin")
        );
        assert!(
            error_of(
                "a.conflist",
                r#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"x"},{}]}"#
            )
            .contains("plugins[1].type: is required")
        );
        assert!(
            error_of(
                "a.conflist",
                r#"{"cniVersion":"1.0.0","name":"n","plugins":[{"type":"../../bin/sh"}]}"#
            )
            .contains("must be a plain file name")
        );
        assert!(
            error_of("a.conf", r#"{"cniVersion":"x","name":"n","type":"t"}"#)
                .contains("cniVersion: \"x\"")
        );
        assert!(
            error_of(
                "a.conflist",
                r#"{"cniVersion":"1.0.0","name":"n","disableCheck":"yes","plugins":[{"type":"x"}]}"#
            )
            .contains("disableCheck")
        );
    }

    #[test]
    fn a_huge_file_is_refused_before_parsing() {
        let big = format!("{{\"x\":\"{}\"}}", "a".repeat(MAX_CONFIG_BYTES as usize));
        assert!(error_of("big.conflist", &big).contains("larger than"));
    }

    #[test]
    fn plugins_are_found_in_bin_dir_order_and_must_be_executable() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        let dirs = vec![a.path().to_owned(), b.path().to_owned()];
        let in_b = write(b.path(), "bridge", "#!/bin/sh\n");
        fs::set_permissions(&in_b, fs::Permissions::from_mode(0o755)).expect("chmod");
        write(a.path(), "bridge", "not executable");
        assert_eq!(find_plugin("bridge", &dirs).expect("found"), in_b);
        let e = find_plugin("portmap", &dirs)
            .expect_err("absent")
            .to_string();
        assert!(e.contains("\"portmap\" not found"), "{e}");
        assert!(find_plugin("../bridge", &dirs).is_err());
    }
}
