//! One module per subcommand.

pub mod image;
pub mod plan;
pub mod run;
