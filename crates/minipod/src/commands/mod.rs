//! One module per subcommand (`target`: what the daemon's client commands
//! share).

pub mod apply;
pub mod delete;
pub mod describe;
pub mod events;
pub mod exec;
pub mod get;
pub mod image;
pub mod kubeconfig;
pub mod logs;
pub mod monitor;
pub mod plan;
pub mod run;
pub mod secrets;
pub mod target;
