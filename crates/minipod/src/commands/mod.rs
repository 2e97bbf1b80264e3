//! One module per subcommand.

pub mod client_cmds;
pub mod exec;
pub mod image;
pub mod monitor;
pub mod plan;
pub mod run;
pub mod secrets;
