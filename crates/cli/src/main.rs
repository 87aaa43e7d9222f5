//! The `civmap` binary: glue over the library crates. Every subcommand parses its flags, calls a
//! library, and turns errors into one line on standard error and a non-zero exit.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand, ValueEnum};

use civmap_app::App;
use civmap_app::config::{Config, Synchronous};
use civmap_app::planning::network::RoadNetwork;
use civmap_domain::CategoryTable;
use civmap_store::{Store, StoreOptions};

mod backup;
mod demo;
mod import;
mod problem_import;
mod user;

/// civmap: problem points of the civilized-city campaign (创文), on a map.
///
/// Every subcommand that opens the database takes `--config FILE` (or `CIVMAP_CONFIG`) and the
/// `CIVMAP_*` environment variables: the database (`db`) and the photo directory (`photo_dir`)
/// come from them unless `--db` / `--photo-dir` are given.
#[derive(Debug, Parser)]
#[command(name = "civmap", version, propagate_version = true)]
struct Cli {
    /// Log filter (`RUST_LOG` syntax), e.g. `info` or `civmap_app=debug`.
    #[arg(long, global = true, env = "RUST_LOG", default_value = "info")]
    log: String,
    /// Log format.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the HTTP server (REST + GeoJSON, OGC API Features, Open311, the web map).
    Serve(ServeArgs),
    /// Write the database and every photo to one FILE, from one snapshot (works while a server
    /// is running; a SQLite file whatever the source backend).
    Backup {
        #[command(flatten)]
        args: backup::BackupArgs,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Fill an EMPTY database and the photo directory from a file written by `civmap backup`.
    Restore {
        #[command(flatten)]
        args: backup::BackupArgs,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Import OpenStreetMap data, problems, points of interest or zones.
    Import {
        #[command(subcommand)]
        what: import::ImportCommand,
        #[command(flatten)]
        db: DbArgs,
        /// Extra categories (default `data/categories.toml` when it exists).
        #[arg(long, global = true)]
        categories: Option<PathBuf>,
    },
    /// Accounts: add (password from standard input), list, disable, enable, reset-password,
    /// token.
    User {
        #[command(subcommand)]
        what: user::UserCommand,
        #[command(flatten)]
        db: DbArgs,
    },
    /// Route planning tools.
    Route {
        #[command(subcommand)]
        what: RouteCommand,
    },
    /// Export all problems as GeoJSON or CSV.
    Export {
        /// Output format.
        #[arg(long, value_enum, default_value_t = ExportFormat::Geojson)]
        format: ExportFormat,
        /// Output file; standard output when omitted.
        #[arg(long, short)]
        out: Option<PathBuf>,
        #[command(flatten)]
        db: DbArgs,
    },
}

#[derive(Debug, Subcommand)]
enum RouteCommand {
    /// Solve a TSPLIB instance (`EUC_2D`, `CEIL_2D`, `ATT`, `GEO`) with civmap's route solver; prints
    /// the tour (1-based node numbers) and, on the last line, `length N` in TSPLIB's own distance.
    Tsplib {
        /// A `.tsp` file.
        file: PathBuf,
        /// Random seed (the same seed gives the same tour unless the time limit ends the run).
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Time limit, seconds.
        #[arg(long, default_value_t = 10.0)]
        time_limit: f64,
    },
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum ExportFormat {
    /// RFC 7946 FeatureCollection, WGS-84 lon/lat.
    Geojson,
    /// One row per problem with `lon` and `lat` columns.
    Csv,
    /// The whole event log: the rectification ledger (整改台账).
    Events,
}

/// Where the database and the photos are: the same layers for every subcommand.
#[derive(Debug, clap::Args)]
struct DbArgs {
    /// Configuration file (TOML, the keys of `civmap serve`'s configuration); `CIVMAP_*`
    /// environment variables override it, flags override both.
    #[arg(long, global = true, env = "CIVMAP_CONFIG")]
    config: Option<PathBuf>,
    /// Database: `sqlite://path` (created on first start), a bare path, or
    /// `postgres://user@host/db`. Default: `db` of the configuration (`CIVMAP_DB`), else
    /// `sqlite://civmap.db` (`serve --demo`: `sqlite://civmap-demo.db`).
    #[arg(long, global = true)]
    db: Option<String>,
    /// Where photos are kept. Default: `photo_dir` of the configuration (`CIVMAP_PHOTO_DIR`),
    /// else `photos/` beside the SQLite file.
    #[arg(long, global = true)]
    photo_dir: Option<PathBuf>,
}

impl DbArgs {
    /// The configuration: the file, the `CIVMAP_*` variables over it, these flags over both.
    fn config(&self) -> Result<Config> {
        let mut config = Config::load(self.config.as_deref(), config_env())?;
        if let Some(db) = &self.db {
            config.db.clone_from(db);
        }
        if let Some(dir) = &self.photo_dir {
            config.photo_dir = Some(dir.clone());
        }
        Ok(config)
    }
}

/// The store options of a configuration.
fn store_options(config: &Config) -> StoreOptions {
    StoreOptions {
        synchronous_full: config.sqlite_synchronous == Synchronous::Full,
        photo_dir: config.photo_dir.clone().unwrap_or_default(),
        ..StoreOptions::default()
    }
}

/// Opens the configuration's database.
async fn open_store(config: &Config) -> Result<Store> {
    Store::open(&config.db, store_options(config))
        .await
        // The store's error names the file or `postgres://user@host:port/db`; the URL itself may
        // hold a password, so it is not repeated here.
        .context("cannot open the database")
}

#[derive(Debug, clap::Args)]
struct ServeArgs {
    #[command(flatten)]
    store: DbArgs,
    /// Address to listen on; port 0 picks a free port (the bound address is logged).
    #[arg(long)]
    addr: Option<std::net::SocketAddr>,
    /// Load the demo (real OSM data of the Tongji/Siping area, synthetic problems) into an empty database.
    #[arg(long)]
    demo: bool,
    /// Serve the web front end from this directory (front-end development: its files win)
    /// instead of the copy built into the binary.
    #[arg(long)]
    web_dir: Option<PathBuf>,
    /// Extra categories (TOML `[[category]]` tables; default `data/categories.toml` when it exists).
    #[arg(long)]
    categories: Option<PathBuf>,
    /// Working-day calendar for deadlines (default `data/calendar.toml` when it exists, else
    /// the built-in one).
    #[arg(long)]
    calendar: Option<PathBuf>,
    /// Test-point kinds and checklists of mock inspections (default `data/inspection.toml` when
    /// it exists, else the built-in one).
    #[arg(long)]
    inspection: Option<PathBuf>,
    /// SQLite durability: `full` survives power loss; `normal` only a crash of civmap, and is faster.
    #[arg(long, value_enum)]
    sqlite_synchronous: Option<SyncArg>,
    /// OpenStreetMap file (PBF, XML or gzipped XML) whose roads routes are planned on, instead
    /// of the roads `civmap import osm` stored in the database (with `--demo` on a database
    /// without them, the demo area's roads).
    #[arg(long)]
    roads: Option<PathBuf>,
}

#[derive(Debug, Clone, Copy, ValueEnum)]
enum SyncArg {
    Full,
    Normal,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    init_logging(&cli.log, cli.log_format);
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("civmap: cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line, naming the problem: the whole chain of causes.
            eprintln!("civmap: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn init_logging(filter: &str, format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

async fn run(command: Command) -> Result<()> {
    match command {
        Command::Serve(args) => serve(args).await,
        Command::Backup { args, db } => {
            let config = db.config()?;
            backup::backup(args, &config.db, store_options(&config)).await
        }
        Command::Restore { args, db } => {
            let config = db.config()?;
            let shown = redact(&config.db);
            backup::restore(args, &config.db, store_options(&config), &shown).await
        }
        Command::Import {
            what,
            db,
            categories,
        } => {
            let config = db.config()?;
            let table = category_table(
                categories
                    .as_deref()
                    .or(config.categories_file.as_deref())
                    .or_else(|| Some(Path::new("data/categories.toml")).filter(|p| p.exists())),
            )?;
            let store = open_store(&config).await?;
            let result = import::run(what, &store, &table).await;
            store.close().await;
            result
        }
        Command::User { what, db } => {
            let store = open_store(&db.config()?).await?;
            let result = user::run(what, &store).await;
            store.close().await;
            result
        }
        Command::Route {
            what:
                RouteCommand::Tsplib {
                    file,
                    seed,
                    time_limit,
                },
        } => {
            let text = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let limit = std::time::Duration::try_from_secs_f64(time_limit)
                .context("--time-limit must be a positive number of seconds")?;
            let solution = civmap_route::tsplib::solve_tsplib(&text, seed, limit)
                .with_context(|| file.display().to_string())?;
            print!("{solution}");
            Ok(())
        }
        Command::Export { format, out, db } => {
            let store = open_store(&db.config()?).await?;
            let sink: Box<dyn std::io::Write + Send> = match &out {
                Some(path) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout())),
            };
            let n = match format {
                ExportFormat::Geojson => store.export_geojson(sink).await?,
                ExportFormat::Csv => store.export_csv(sink).await?,
                ExportFormat::Events => store.export_events_csv(sink).await?,
            };
            if let Some(path) = out {
                eprintln!("civmap: exported {n} rows to {}", path.display());
            }
            Ok(())
        }
    }
}

/// Environment variables that belong to the test harness or to this binary's own flags, not to
/// the configuration (which rejects unknown `CIVMAP_*` names). `CIVMAP_DB` is the
/// configuration's `db`, for every subcommand.
fn config_env() -> impl Iterator<Item = (String, String)> {
    std::env::vars().filter(|(k, _)| {
        !(k.starts_with("CIVMAP_TEST_") || k.starts_with("CIVMAP_REQUIRE_") || k == "CIVMAP_CONFIG")
    })
}

// One straight sequence of glue steps; splitting it would only scatter the order.
#[allow(clippy::too_many_lines)]
async fn serve(args: ServeArgs) -> Result<()> {
    let mut config = args.store.config()?;
    if let Some(addr) = args.addr {
        config.addr = addr;
    }
    config.demo |= args.demo;
    if args.store.db.is_none() && config.demo && config.db == civmap_app::config::DEFAULT_DB {
        "sqlite://civmap-demo.db".clone_into(&mut config.db);
    }
    if let Some(dir) = args.web_dir {
        config.web_dir = Some(dir);
    }
    if let Some(file) = args.categories {
        config.categories_file = Some(file);
    } else if config.categories_file.is_none() && Path::new("data/categories.toml").exists() {
        config.categories_file = Some(PathBuf::from("data/categories.toml"));
    }
    if let Some(file) = args.calendar {
        config.workflow.calendar_file = Some(file);
    } else if config.workflow.calendar_file.is_none() && Path::new("data/calendar.toml").exists() {
        config.workflow.calendar_file = Some(PathBuf::from("data/calendar.toml"));
    }
    if let Some(file) = args.inspection {
        config.inspection_file = Some(file);
    } else if config.inspection_file.is_none() && Path::new("data/inspection.toml").exists() {
        config.inspection_file = Some(PathBuf::from("data/inspection.toml"));
    }
    if let Some(s) = args.sqlite_synchronous {
        config.sqlite_synchronous = match s {
            SyncArg::Full => Synchronous::Full,
            SyncArg::Normal => Synchronous::Normal,
        };
    }
    config.check()?;

    let categories = category_table(config.categories_file.as_deref())?;

    let store = open_store(&config).await?;
    if config.demo {
        demo::load_if_empty(&store, &categories).await?;
    }
    let listener = tokio::net::TcpListener::bind(config.addr)
        .await
        .with_context(|| format!("cannot listen on {}", config.addr))?;
    let roads = road_network(args.roads.as_deref(), &store, config.demo).await?;
    let state = App::load(store, categories, config).await?;
    if let Some(network) = roads {
        state.set_roads(network);
    }
    civmap_server::serve(listener, state, civmap_server::shutdown_signal()).await?;
    tracing::info!("stopped cleanly");
    Ok(())
}

/// The road network routes are planned on: `--roads FILE`, else the road ways `civmap import
/// osm` stored, else (with `--demo`) the demo area's roads; `None` plans on straight lines.
async fn road_network(
    file: Option<&Path>,
    store: &Store,
    demo: bool,
) -> Result<Option<std::sync::Arc<RoadNetwork>>> {
    if let Some(file) = file {
        let network = RoadNetwork::from_osm(&civmap_geodata::osm::read_path(file)?);
        tracing::info!(file = %file.display(), "road network loaded for route planning");
        return Ok(Some(network));
    }
    if let Some(network) = RoadNetwork::from_store(store)
        .await
        .map_err(|e| anyhow::anyhow!("{}", e.chain()))
        .context("loading the stored road network")?
    {
        tracing::info!("road network loaded for route planning from the database");
        return Ok(Some(network));
    }
    if demo {
        tracing::info!("road network of the demo area loaded for route planning");
        return Ok(Some(RoadNetwork::from_osm(&demo::osm()?)));
    }
    tracing::warn!(
        "no road network: routes are planned on straight lines; run `civmap import osm FILE` (or give --roads FILE)"
    );
    Ok(None)
}

/// The built-in categories with those of `file` merged over them.
fn category_table(file: Option<&Path>) -> Result<CategoryTable> {
    let mut categories = CategoryTable::builtin();
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("cannot read the categories file {}", file.display()))?;
        categories
            .merge_toml(&text)
            .with_context(|| format!("categories file {}", file.display()))?;
    }
    Ok(categories)
}

/// A database URL fit for a log line: a password in it is left out.
fn redact(db: &str) -> String {
    if let Some((scheme, rest)) = db.split_once("://")
        && let Some((userinfo, host)) = rest.split_once('@')
    {
        let user = userinfo.split(':').next().unwrap_or_default();
        return format!("{scheme}://{user}@{host}");
    }
    db.to_owned()
}

#[cfg(test)]
mod redact_tests {
    use super::redact;

    #[test]
    fn passwords_are_left_out_of_database_urls() {
        assert_eq!(
            redact("postgres://civmap:s3cret@db.example:5432/civmap"),
            "postgres://civmap@db.example:5432/civmap"
        );
        assert_eq!(redact("postgres://civmap@db/x"), "postgres://civmap@db/x");
        assert_eq!(redact("sqlite://civmap.db"), "sqlite://civmap.db");
    }
}
