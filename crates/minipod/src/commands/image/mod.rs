//! `minipod image`: the local image store (`pull`, `import`, `ls`, `rm`).

use std::path::PathBuf;

use anyhow::Result;
use clap::{Args, Subcommand};
use minipod_image::{Error, ImageName, ImageRecord, Store};

use crate::exit;

mod pull;
mod size;
pub use pull::RegistryArgs;
use size::human_size;

#[derive(Debug, Args)]
pub struct ImageArgs {
    /// The image store's directory.
    #[arg(
        long,
        global = true,
        value_name = "DIR",
        env = "MINIPOD_IMAGE_ROOT",
        default_value = minipod_image::DEFAULT_ROOT
    )]
    root: PathBuf,

    #[command(subcommand)]
    command: ImageCommand,
}

#[derive(Debug, Subcommand)]
enum ImageCommand {
    /// Pull an image from its registry into the store (`nginx`,
    /// `127.0.0.1:5000/team/app:1.4`, `app@sha256:...`).
    ///
    /// Logins come from the node's auth file (Docker's `config.json`
    /// format). Plain HTTP is used only for loopback registries and those
    /// named with `--insecure-registry`.
    Pull {
        /// The image name, as a pod's `image:` holds it.
        name: String,
        #[command(flatten)]
        registry: RegistryArgs,
    },
    /// Import an OCI image layout (a directory, or a tar of one, plain, gzip
    /// or zstd) or a `docker save`/`podman save` archive.
    ///
    /// Without NAME the image gets the names the archive gives it
    /// (`RepoTags`, or the index's name annotations).
    Import {
        /// The layout directory or archive file.
        path: PathBuf,
        /// The name to record it under, e.g. `busybox:1.36`.
        name: Option<String>,
    },
    /// List the images, as `crictl images` does.
    #[command(visible_alias = "list")]
    Ls,
    /// Remove image names, then every blob and layer no other image uses.
    Rm {
        /// The names, e.g. `busybox` (= docker.io/library/busybox:latest).
        #[arg(required = true)]
        names: Vec<String>,
    },
}

pub fn run(args: &ImageArgs) -> Result<u8> {
    let store = Store::new(&args.root);
    let result = match &args.command {
        ImageCommand::Pull { name, registry } => return pull::run(store, name, registry),
        ImageCommand::Import { path, name } => import(&store, path, name.as_deref()),
        ImageCommand::Ls => list(&store),
        ImageCommand::Rm { names } => remove(&store, names),
    };
    Ok(match result {
        Ok(()) => exit::OK,
        Err(error) => {
            // The store's errors name the file, digest or entry; the
            // chain adds each cause once.
            eprintln!("error: {}", minipod_spec::error_chain(&error));
            if error.is_invalid_input() {
                exit::INVALID_INPUT
            } else {
                exit::FAILURE
            }
        }
    })
}

fn import(store: &Store, path: &std::path::Path, name: Option<&str>) -> Result<(), Error> {
    let report = store.import(path, name)?;
    for image in &report.images {
        let plural = if image.layers == 1 { "" } else { "s" };
        println!(
            "imported {} (ID {}, {} layer{plural})",
            image.name,
            image.id.short(),
            image.layers
        );
    }
    eprintln!(
        "{} new blobs, {} new layers in {}",
        report.new_blobs,
        report.new_layers,
        store.root().display()
    );
    Ok(())
}

fn list(store: &Store) -> Result<(), Error> {
    print!("{}", render_list(&store.list()?));
    Ok(())
}

fn remove(store: &Store, names: &[String]) -> Result<(), Error> {
    // Check every name first: a typo should not leave the others half done.
    for name in names {
        ImageName::parse(name)?;
    }
    for name in names {
        let removed = store.remove(name)?;
        for name in &removed.names {
            println!("removed {name}");
        }
        if removed.blobs + removed.layers > 0 {
            eprintln!(
                "deleted {} blobs and {} layers no other image uses",
                removed.blobs, removed.layers
            );
        }
    }
    Ok(())
}

/// NAME, ID (12 hex digits of the config digest) and SIZE columns.
fn render_list(records: &[ImageRecord]) -> String {
    let rows: Vec<[String; 3]> = records
        .iter()
        .map(|r| {
            [
                r.name.clone(),
                r.config.short().to_owned(),
                human_size(r.size),
            ]
        })
        .collect();
    let header = ["NAME", "ID", "SIZE"].map(str::to_owned);
    let width = |column: usize| {
        rows.iter()
            .chain(std::iter::once(&header))
            .map(|row| row[column].len())
            .max()
            .unwrap_or(0)
    };
    let (name_width, id_width) = (width(0), width(1));
    let mut out = String::new();
    for row in std::iter::once(&header).chain(&rows) {
        out.push_str(&format!(
            "{:<name_width$}   {:<id_width$}   {}\n",
            row[0], row[1], row[2]
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_list_has_aligned_name_id_and_size_columns() {
        let digest = |c: char| {
            minipod_image::Digest::parse(&format!("sha256:{}", c.to_string().repeat(64))).unwrap()
        };
        let record = |name: &str, c: char, size: u64| ImageRecord {
            name: name.into(),
            manifest: digest('0'),
            config: digest(c),
            layers: Vec::new(),
            size,
            imported: 0,
        };
        let text = render_list(&[
            record("docker.io/library/busybox:1.36", 'a', 1_066_000),
            record("localhost:5000/app:v1", 'b', 512),
        ]);
        assert_eq!(
            text,
            "NAME                             ID             SIZE\n\
             docker.io/library/busybox:1.36   aaaaaaaaaaaa   1.07MB\n\
             localhost:5000/app:v1            bbbbbbbbbbbb   512B\n"
        );
        assert_eq!(render_list(&[]), "NAME   ID   SIZE\n");
    }
}
