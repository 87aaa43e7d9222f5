//! The configuration of civmap: a typed struct with named defaults, layered
//! file -> environment (`CIVMAP_*`) -> command-line flags (applied by the CLI), unknown keys
//! rejected at every layer.
//!
//! ```
//! use civmap_app::config::Config;
//! let file = "addr = \"127.0.0.1:9000\"\n[limits]\npage_max = 500\n";
//! let env = [("CIVMAP_DB".to_owned(), "sqlite://x.db".to_owned()),
//!            ("CIVMAP_LIMITS__PAGE_DEFAULT".to_owned(), "50".to_owned())];
//! let c = Config::from_layers(Some(file), env.into_iter()).unwrap();
//! assert_eq!(c.addr.port(), 9000);
//! assert_eq!(c.db, "sqlite://x.db");
//! assert_eq!((c.limits.page_max, c.limits.page_default), (500, 50));
//! assert!(Config::from_layers(Some("adr = \"x\""), std::iter::empty()).is_err());
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use civmap_domain::{PoiKind, Role, UserId, ZoneKind};
use serde::{Deserialize, Serialize};

/// Why a configuration could not be loaded. Messages name the file, variable or key.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("config file {path}: {message}")]
    File { path: String, message: String },
    #[error("environment variable {var}: {message}")]
    Env { var: String, message: String },
    #[error("config: {0}")]
    Invalid(String),
}

/// The whole configuration of `civmap serve`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on; port 0 picks a free port (the bound address is logged).
    pub addr: SocketAddr,
    /// Database URL: `sqlite://path`, a bare path, or `postgres://user@host/db`.
    pub db: String,
    /// SQLite durability: `full` (default; survives power loss) or `normal` (survives a crash
    /// of the process, may lose the last transactions on power loss; faster).
    pub sqlite_synchronous: Synchronous,
    /// Load the demo data set on an empty database (done by the CLI).
    pub demo: bool,
    /// Directory with the built web front end, served at `/` when set.
    pub web_dir: Option<PathBuf>,
    /// TOML file of categories merged over the built-in table (`[[category]]` tables).
    pub categories_file: Option<PathBuf>,
    /// TOML file of test-point kinds and checklists for mock inspections (`[[kind]]`,
    /// `[[item]]`); the built-in `data/inspection.toml` when unset.
    pub inspection_file: Option<PathBuf>,
    /// Where photo bytes are kept (default: beside the SQLite file).
    pub photo_dir: Option<PathBuf>,
    /// Public base URL used in links (`https://civmap.example.org`); when unset, links are
    /// built from the request's `Host` header.
    pub public_url: Option<String>,
    /// Role of callers without credentials. `public` (default) may read public data and
    /// report problems; a single-user installation behind a firewall may choose
    /// `street_office`.
    pub anonymous_role: Role,
    /// Static API tokens (`Authorization: Bearer <token>`, Open311 `api_key`). They keep
    /// working beside accounts: the token acts with its `role` (and as its `user`, if given);
    /// accounts get their own, revocable tokens with `POST /api/v1/tokens`.
    pub api_tokens: Vec<ApiToken>,
    /// Sign-in: session and token lifetimes, login rate limits and lockout.
    pub auth: AuthConfig,
    /// Limits on input size and query cost.
    pub limits: Limits,
    /// Dispatch, deadlines, escalation, look-back and recurrence.
    pub workflow: WorkflowConfig,
    /// Radii of the three-surroundings zones made for a school, park or market added by hand.
    pub surroundings: SurroundingsConfig,
    /// What memory holds: the hot window (`[memory]`).
    pub memory: MemoryConfig,
}

/// The hot window (`[memory]`): memory holds the open problems and those closed (or merged)
/// within the last `hot_days` days; older ones stay in the database and are read from it on
/// request (a problem's page, its history, a zone's ledger, a past period's assessment, items
/// with a past date range).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct MemoryConfig {
    /// Days a closed or merged problem stays in memory after its last change (default
    /// [`DEFAULT_HOT_DAYS`]).
    pub hot_days: u32,
    /// How often each replica evicts the problems that aged out of the window, seconds
    /// (default [`DEFAULT_EVICT_EVERY_S`]).
    pub evict_every_s: u64,
}

/// Default hot window: a year and a month, so this year's and last year's figures for the same
/// month (the year-on-year comparison of monthly reports) come from memory.
pub const DEFAULT_HOT_DAYS: u32 = 400;

/// Default eviction period: an hour; a problem leaves memory at most this late after aging out,
/// which only costs memory, never an answer.
pub const DEFAULT_EVICT_EVERY_S: u64 = 3600;

/// The longest hot window (a century: "keep everything in memory").
pub const MAX_HOT_DAYS: u32 = 36_500;

impl Default for MemoryConfig {
    fn default() -> Self {
        Self {
            hot_days: DEFAULT_HOT_DAYS,
            evict_every_s: DEFAULT_EVICT_EVERY_S,
        }
    }
}

/// The radii of three-surroundings zones (`[surroundings]`), metres: the zone the console
/// makes at once around a school, park or wet market a street office adds. Defaults: school
/// 200 (the strict-management zone several cities use), park 100, market 150.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SurroundingsConfig {
    pub school_m: f64,
    pub park_m: f64,
    pub market_m: f64,
}

impl Default for SurroundingsConfig {
    fn default() -> Self {
        Self {
            school_m: PoiKind::School.default_radius_m(),
            park_m: PoiKind::Park.default_radius_m(),
            market_m: PoiKind::Market.default_radius_m(),
        }
    }
}

/// Largest surroundings radius, metres (a zone beyond this is a district, not a surrounding).
pub const MAX_SURROUNDINGS_M: f64 = 2_000.0;

/// The rectification workflow (`[workflow]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct WorkflowConfig {
    /// Working-day calendar for deadlines (`data/calendar.toml` format); the built-in one
    /// (China's public holidays, 09:00–12:00 and 13:00–18:00 UTC+8) when unset.
    pub calendar_file: Option<PathBuf>,
    /// Dispatch a new report at once to the chief of the most specific zone containing it
    /// (default true). Reports no chief's zone contains wait for the street office.
    pub auto_dispatch: bool,
    /// Which zone kinds win when a report lies in several chiefs' zones, first wins (default:
    /// `point`, `road`, `surroundings`, `area`, `grid_cell`).
    pub dispatch_order: Vec<ZoneKind>,
    /// A rectification needs an after photo (default true) and always a note.
    pub rectify_needs_photo: bool,
    /// Days after closing when the look-back re-inspection (回头看) is due (default 7).
    pub reinspect_after_days: u32,
    /// A new report of the same category this close (m) to a problem closed in the last
    /// `recurrence_days` is flagged as its recurrence (回潮) (defaults 30 m, 90 days).
    pub recurrence_m: f64,
    pub recurrence_days: u32,
    /// Open problems of the same category this close (m) to a new report are offered as
    /// duplicates (default 25).
    pub duplicate_m: f64,
    /// How often overdue problems are looked for and escalated, seconds (default 60; 0 turns
    /// automatic escalation off).
    pub escalation_check_s: u64,
    /// A point or road zone with no patrol track inside it and no check-in ("checked, clean")
    /// for this many days is listed as unvisited on the office's map and in the weekly report
    /// (default 7: the campaign's weekly rhythm; 1..=90).
    pub unvisited_days: u32,
}

impl Default for WorkflowConfig {
    fn default() -> Self {
        Self {
            calendar_file: None,
            auto_dispatch: true,
            dispatch_order: vec![
                ZoneKind::Point,
                ZoneKind::Road,
                ZoneKind::Surroundings,
                ZoneKind::Area,
                ZoneKind::GridCell,
            ],
            rectify_needs_photo: true,
            reinspect_after_days: 7,
            recurrence_m: 30.0,
            recurrence_days: 90,
            duplicate_m: 25.0,
            escalation_check_s: 60,
            unvisited_days: 7,
        }
    }
}

impl WorkflowConfig {
    /// The dispatch precedence of a zone kind (lower wins); kinds not listed come last.
    #[must_use]
    pub fn dispatch_rank(&self, kind: ZoneKind) -> usize {
        self.dispatch_order
            .iter()
            .position(|k| *k == kind)
            .unwrap_or(self.dispatch_order.len())
    }
}

/// Sign-in settings (`[auth]`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AuthConfig {
    /// Lifetime of a browser session (cookie), hours (default 12; a new sign-in is needed
    /// after it).
    pub session_hours: u32,
    /// Lifetime of an API token created with `POST /api/v1/tokens` or `civmap user token`,
    /// days (default 90).
    pub token_days: u32,
    /// Sign-in attempts per client address per minute (default 10), burst the same.
    pub login_per_minute: u32,
    /// Failed sign-ins in a row for one account name before it is locked (default 5).
    pub lockout_failures: u32,
    /// How long an account name stays locked, seconds (default 900).
    pub lockout_s: u64,
}

impl Default for AuthConfig {
    fn default() -> Self {
        Self {
            session_hours: 12,
            token_days: 90,
            login_per_minute: 10,
            lockout_failures: 5,
            lockout_s: 900,
        }
    }
}

/// SQLite `synchronous` setting.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Synchronous {
    #[default]
    Full,
    Normal,
}

/// A static API token and who it acts as.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApiToken {
    /// The secret, at least 16 characters.
    pub token: String,
    /// The role the bearer acts with.
    pub role: Role,
    /// The user recorded as actor in the event log (none: the system).
    #[serde(default)]
    pub user: Option<UserId>,
    /// A label for logs.
    #[serde(default)]
    pub name: String,
}

/// Limits on what one request may ask for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Limits {
    /// Largest request body, bytes (413 above).
    pub body_bytes: usize,
    /// Largest photo upload (`POST /api/v1/photos`), bytes (413 above).
    pub photo_bytes: usize,
    /// Largest page (`limit`) of any list endpoint.
    pub page_max: usize,
    /// Page size when `limit` is not given.
    pub page_default: usize,
    /// Most vertices in a `polygon` filter (5,000 by default: a street or district outline
    /// drawn from OSM has a few thousand; `POST /api/v1/problems/search` carries them in a body
    /// since they do not fit in a URL).
    pub polygon_vertices: usize,
    /// Largest `bbox` area for anonymous callers, square degrees (0.25 deg² ≈ 50 km × 50 km at
    /// 31°N, a whole city district and more).
    pub anonymous_bbox_deg2: f64,
    /// Largest radius of a `radius` filter, metres.
    pub radius_max_m: f64,
    /// Most values in a list-valued filter (`category=a,b,...`) or ids in one request.
    pub filter_values: usize,
    /// Anonymous writes per address: sustained rate per minute.
    pub anonymous_writes_per_minute: u32,
    /// Anonymous writes per address: burst size.
    pub anonymous_write_burst: u32,
    /// Requests are aborted after this many seconds (408 is not used: the response is 503).
    pub request_timeout_s: u64,
    /// Bytes of encoded vector tiles kept in memory (default 64 MiB). Each tile is kept in the
    /// form its first client took — gzipped for browsers, a third to a half of its size — and
    /// both forms count. 64 MiB holds about 800 of the densest z14 point tiles (82 KB gzipped) of a
    /// million-problem city, far more of a street's; raise it for a city-wide public map.
    pub tile_cache_bytes: usize,
    /// Largest photo accepted, pixels (422 above): a phone's 48 MP camera fits, a 20000 ×
    /// 20000 image that decodes to 1.6 GB does not.
    pub photo_pixels: u64,
    /// Memory all photo decodes (thumbnails) may use at once, MiB: decodes wait for their
    /// share, so concurrent uploads cannot take the server's memory.
    pub decode_memory_mib: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            body_bytes: 1 << 20,
            photo_bytes: 10 << 20,
            page_max: 1000,
            page_default: 100,
            polygon_vertices: 5000,
            anonymous_bbox_deg2: 0.25,
            radius_max_m: 50_000.0,
            filter_values: 64,
            anonymous_writes_per_minute: 30,
            anonymous_write_burst: 10,
            request_timeout_s: 30,
            tile_cache_bytes: crate::tiles::state::DEFAULT_CACHE_BYTES,
            photo_pixels: 50_000_000,
            decode_memory_mib: 256,
        }
    }
}

/// Default listening address.
pub const DEFAULT_ADDR: &str = "127.0.0.1:8080";
/// Default database.
pub const DEFAULT_DB: &str = "sqlite://civmap.db";

impl Default for Config {
    fn default() -> Self {
        Self {
            addr: DEFAULT_ADDR.parse().expect("the default address parses"),
            db: DEFAULT_DB.to_owned(),
            sqlite_synchronous: Synchronous::Full,
            demo: false,
            web_dir: None,
            categories_file: None,
            inspection_file: None,
            photo_dir: None,
            public_url: None,
            anonymous_role: Role::Public,
            api_tokens: Vec::new(),
            auth: AuthConfig::default(),
            limits: Limits::default(),
            workflow: WorkflowConfig::default(),
            surroundings: SurroundingsConfig::default(),
            memory: MemoryConfig::default(),
        }
    }
}

/// Prefix of the environment variables read by [`Config::load`].
pub const ENV_PREFIX: &str = "CIVMAP_";

impl Config {
    /// Loads the file (if any), then the `CIVMAP_*` variables of `env` over it. Nested keys use
    /// a double underscore: `CIVMAP_LIMITS__PAGE_MAX=500`. Variables without the prefix are
    /// ignored; an unknown `CIVMAP_*` variable or file key is an error naming it.
    pub fn load(
        file: Option<&Path>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let text = match file {
            Some(path) => {
                Some(
                    std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
                        path: path.to_owned(),
                        source,
                    })?,
                )
            }
            None => None,
        };
        let label = file.map_or_else(String::new, |p| p.display().to_string());
        Self::layers(text.as_deref(), &label, env)
    }

    /// [`Config::load`] with the file given as text.
    pub fn from_layers(
        file_text: Option<&str>,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        Self::layers(file_text, "<text>", env)
    }

    fn layers(
        file_text: Option<&str>,
        label: &str,
        env: impl Iterator<Item = (String, String)>,
    ) -> Result<Config, ConfigError> {
        let mut table = match file_text {
            Some(t) => {
                let table: toml::Table = toml::from_str(t).map_err(|e| ConfigError::File {
                    path: label.to_owned(),
                    message: one_line(&e.to_string()),
                })?;
                // Check the file alone first, so its errors name the file.
                Config::deserialize(toml::Value::Table(table.clone())).map_err(|e| {
                    ConfigError::File {
                        path: label.to_owned(),
                        message: one_line(&e.to_string()),
                    }
                })?;
                table
            }
            None => toml::Table::new(),
        };
        let mut env: Vec<(String, String)> =
            env.filter(|(k, _)| k.starts_with(ENV_PREFIX)).collect();
        env.sort();
        for (var, value) in env {
            let key = var[ENV_PREFIX.len()..].to_ascii_lowercase();
            let path: Vec<&str> = key.split("__").collect();
            if path.iter().any(|p| p.is_empty()) {
                return Err(ConfigError::Env {
                    var,
                    message: "malformed name".into(),
                });
            }
            let parsed = env_value(&value);
            let mut probe = toml::Table::new();
            insert_path(&mut probe, &path, parsed.clone());
            // Each variable alone must be a known key with a valid value, so the error names it.
            if let Err(e) = Config::deserialize(toml::Value::Table(probe)) {
                // A string may have been read as a number or boolean: retry as a string.
                let mut probe = toml::Table::new();
                insert_path(&mut probe, &path, toml::Value::String(value.clone()));
                if Config::deserialize(toml::Value::Table(probe)).is_err() {
                    return Err(ConfigError::Env {
                        var,
                        message: one_line(&e.to_string()),
                    });
                }
                insert_path(&mut table, &path, toml::Value::String(value));
            } else {
                insert_path(&mut table, &path, parsed);
            }
        }
        let config = Config::deserialize(toml::Value::Table(table))
            .map_err(|e| ConfigError::Invalid(one_line(&e.to_string())))?;
        config.check()?;
        Ok(config)
    }

    /// Checks values that serde cannot: limits that must be positive, token lengths.
    pub fn check(&self) -> Result<(), ConfigError> {
        self.check_limits()?;
        self.check_rest()
    }

    /// The `[limits]` section.
    fn check_limits(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let bad = |what: &str| Err(ConfigError::Invalid(what.to_owned()));
        if l.body_bytes < 1024 {
            return bad("limits.body_bytes must be at least 1024");
        }
        if l.photo_bytes < 1024 {
            return bad("limits.photo_bytes must be at least 1024");
        }
        if l.photo_pixels == 0 {
            return bad("limits.photo_pixels must be at least 1");
        }
        if l.decode_memory_mib < 16 {
            return bad("limits.decode_memory_mib must be at least 16");
        }
        if l.page_max == 0 || l.page_default == 0 || l.page_default > l.page_max {
            return bad("limits.page_default must be in 1..=limits.page_max");
        }
        if l.polygon_vertices < 4 {
            return bad("limits.polygon_vertices must be at least 4");
        }
        if !(l.anonymous_bbox_deg2.is_finite() && l.anonymous_bbox_deg2 > 0.0) {
            return bad("limits.anonymous_bbox_deg2 must be a positive number");
        }
        if !(l.radius_max_m.is_finite() && l.radius_max_m > 0.0) {
            return bad("limits.radius_max_m must be a positive number");
        }
        if l.filter_values == 0 {
            return bad("limits.filter_values must be positive");
        }
        if l.anonymous_write_burst == 0 || l.anonymous_writes_per_minute == 0 {
            return bad("limits.anonymous_write_* must be positive");
        }
        if l.request_timeout_s == 0 {
            return bad("limits.request_timeout_s must be positive");
        }
        Ok(())
    }

    /// Every section but `[limits]`.
    fn check_rest(&self) -> Result<(), ConfigError> {
        let bad = |what: &str| Err(ConfigError::Invalid(what.to_owned()));
        let w = &self.workflow;
        for (name, m) in [
            ("recurrence_m", w.recurrence_m),
            ("duplicate_m", w.duplicate_m),
        ] {
            if !(m.is_finite() && (0.0..=1000.0).contains(&m)) {
                return Err(ConfigError::Invalid(format!(
                    "workflow.{name} must be a distance in metres between 0 and 1000"
                )));
            }
        }
        let r = &self.surroundings;
        for (name, m) in [
            ("school_m", r.school_m),
            ("park_m", r.park_m),
            ("market_m", r.market_m),
        ] {
            if !(m.is_finite() && m > 0.0 && m <= MAX_SURROUNDINGS_M) {
                return Err(ConfigError::Invalid(format!(
                    "surroundings.{name} must be a distance in metres above 0 and at most {MAX_SURROUNDINGS_M}"
                )));
            }
        }
        if w.reinspect_after_days == 0 || w.reinspect_after_days > 365 {
            return bad("workflow.reinspect_after_days must be in 1..=365");
        }
        if w.unvisited_days == 0 || w.unvisited_days > 90 {
            return bad("workflow.unvisited_days must be in 1..=90");
        }
        if w.recurrence_days > 3650 {
            return bad("workflow.recurrence_days must be at most 3650");
        }
        let m = &self.memory;
        if m.hot_days == 0 || m.hot_days > MAX_HOT_DAYS {
            return Err(ConfigError::Invalid(format!(
                "memory.hot_days must be in 1..={MAX_HOT_DAYS}"
            )));
        }
        if m.evict_every_s == 0 {
            return bad("memory.evict_every_s must be positive");
        }
        let a = &self.auth;
        if a.session_hours == 0 || a.session_hours > 24 * 31 {
            return bad("auth.session_hours must be in 1..=744");
        }
        if a.token_days == 0 || a.token_days > 3660 {
            return bad("auth.token_days must be in 1..=3660");
        }
        if a.login_per_minute == 0 || a.lockout_failures == 0 || a.lockout_s == 0 {
            return bad(
                "auth.login_per_minute, auth.lockout_failures and auth.lockout_s must be positive",
            );
        }
        for t in &self.api_tokens {
            if t.token.chars().count() < 16 {
                return Err(ConfigError::Invalid(format!(
                    "api token {:?} is shorter than 16 characters",
                    t.name
                )));
            }
        }
        if let Some(url) = &self.public_url
            && !(url.starts_with("http://") || url.starts_with("https://"))
        {
            return bad("public_url must start with http:// or https://");
        }
        Ok(())
    }
}

/// Reads an environment value as a TOML scalar when it looks like one (`true`, `42`, `0.5`),
/// otherwise as a string.
fn env_value(v: &str) -> toml::Value {
    if let Ok(b) = v.parse::<bool>() {
        return toml::Value::Boolean(b);
    }
    if let Ok(i) = v.parse::<i64>() {
        return toml::Value::Integer(i);
    }
    if let Ok(f) = v.parse::<f64>()
        && f.is_finite()
    {
        return toml::Value::Float(f);
    }
    toml::Value::String(v.to_owned())
}

fn insert_path(table: &mut toml::Table, path: &[&str], value: toml::Value) {
    let (first, rest) = path.split_first().expect("a path has at least one key");
    if rest.is_empty() {
        table.insert((*first).to_owned(), value);
        return;
    }
    let entry = table
        .entry((*first).to_owned())
        .or_insert_with(|| toml::Value::Table(toml::Table::new()));
    if !entry.is_table() {
        *entry = toml::Value::Table(toml::Table::new());
    }
    if let toml::Value::Table(t) = entry {
        insert_path(t, rest, value);
    }
}

fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> impl Iterator<Item = (String, String)> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn defaults() {
        let c = Config::from_layers(None, std::iter::empty()).unwrap();
        assert_eq!(c, Config::default());
        assert_eq!(c.addr.to_string(), DEFAULT_ADDR);
        assert_eq!(c.limits.page_max, 1000);
        assert_eq!(c.sqlite_synchronous, Synchronous::Full);
        assert_eq!(c.memory.hot_days, DEFAULT_HOT_DAYS);
    }

    #[test]
    fn the_hot_window_is_configured_and_checked() {
        let c = Config::from_layers(
            Some("[memory]\nhot_days = 30\n"),
            env(&[("CIVMAP_MEMORY__EVICT_EVERY_S", "60")]),
        )
        .unwrap();
        assert_eq!(c.memory.hot_days, 30);
        assert_eq!(c.memory.evict_every_s, 60);
        let e = Config::from_layers(Some("[memory]\nhot_days = 0\n"), std::iter::empty())
            .unwrap_err()
            .to_string();
        assert!(e.contains("memory.hot_days"), "{e}");
    }

    #[test]
    fn env_overrides_file_and_other_vars_are_ignored() {
        let file = "db = \"sqlite://file.db\"\ndemo = false\n[limits]\nbody_bytes = 2048\n";
        let c = Config::from_layers(
            Some(file),
            env(&[
                ("CIVMAP_DEMO", "true"),
                ("CIVMAP_SQLITE_SYNCHRONOUS", "normal"),
                ("CIVMAP_LIMITS__ANONYMOUS_BBOX_DEG2", "1"),
                ("PATH", "/usr/bin"),
            ]),
        )
        .unwrap();
        assert_eq!(c.db, "sqlite://file.db");
        assert!(c.demo);
        assert_eq!(c.sqlite_synchronous, Synchronous::Normal);
        assert_eq!(c.limits.body_bytes, 2048);
        assert!((c.limits.anonymous_bbox_deg2 - 1.0).abs() < 1e-12);
    }

    #[test]
    fn unknown_keys_are_named() {
        let e = Config::from_layers(Some("[limits]\npage_maxx = 3\n"), std::iter::empty())
            .unwrap_err()
            .to_string();
        assert!(e.contains("page_maxx"), "{e}");
        let e = Config::from_layers(None, env(&[("CIVMAP_COLOUR", "red")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("CIVMAP_COLOUR"), "{e}");
        let e = Config::from_layers(None, env(&[("CIVMAP_LIMITS__PAGE_MAX", "many")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("CIVMAP_LIMITS__PAGE_MAX"), "{e}");
    }

    #[test]
    fn numeric_looking_strings_stay_strings() {
        let c = Config::from_layers(None, env(&[("CIVMAP_DB", "12345")])).unwrap();
        assert_eq!(c.db, "12345");
    }

    #[test]
    fn invalid_values_are_rejected() {
        assert!(
            Config::from_layers(Some("[limits]\npage_default = 0\n"), std::iter::empty()).is_err()
        );
        assert!(
            Config::from_layers(
                Some("[[api_tokens]]\ntoken = \"short\"\nrole = \"admin\"\n"),
                std::iter::empty()
            )
            .is_err()
        );
        assert!(
            Config::from_layers(Some("anonymous_role = \"king\""), std::iter::empty()).is_err()
        );
        assert!(Config::from_layers(Some("addr = \"nowhere\""), std::iter::empty()).is_err());
    }
}
