//! `civmap user`: accounts from the command line. Passwords are read from standard input (one
//! line), never from a flag or a file, so they stay out of shell histories and process lists,
//! and no account is ever created with a default password.
//!
//! ```sh
//! civmap user add admin --role admin                      # asks for the password on stdin
//! printf '%s\n' "$PW" | civmap user add wang --role road_chief --zone road:四平路
//! civmap user list
//! civmap user reset-password wang                          # ends wang's sessions and tokens
//! civmap user disable wang
//! civmap user token wang --days 30                         # prints a bearer token once
//! ```

use std::io::{BufRead as _, IsTerminal as _, Write as _};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use civmap_domain::{Role, User, UserId, ZoneId, validate_user_name};
use civmap_store::Store;
use clap::Subcommand;

/// What `civmap user` does.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create an account; the password is read from standard input (one line).
    Add {
        /// Login name: 2-40 letters (any script), digits, `_`, `-`, `.`.
        name: String,
        /// `admin`, `street_office`, `area_chief`, `road_chief`, `point_chief` or `reporter`.
        #[arg(long)]
        role: String,
        /// A zone the account is responsible for: its id, `code` or `external_id`; repeatable.
        #[arg(long = "zone")]
        zones: Vec<String>,
        /// Name shown to others (default: the login name).
        #[arg(long)]
        display_name: Option<String>,
        /// The street (街道) code, e.g. `310110009`: a street office then sees only the zones
        /// coded with it.
        #[arg(long)]
        street: Option<String>,
    },
    /// List the accounts (name, role, state, zones).
    List,
    /// Disable an account and end its sessions and API tokens.
    Disable { name: String },
    /// Enable a disabled account again.
    Enable { name: String },
    /// Set a new password (read from standard input) and end the account's sessions and tokens.
    ResetPassword { name: String },
    /// Create an API token for an account (scripts, phones, Open311 `api_key`); printed once.
    Token {
        name: String,
        /// Days the token is valid.
        #[arg(long, default_value_t = 90)]
        days: u32,
    },
}

/// Runs one `civmap user` command against `store`.
pub async fn run(cmd: UserCommand, store: &Store) -> Result<()> {
    match cmd {
        UserCommand::Add {
            name,
            role,
            zones,
            display_name,
            street,
        } => add(store, &name, &role, &zones, display_name, street).await,
        UserCommand::List => list(store).await,
        UserCommand::Disable { name } => set_disabled(store, &name, true).await,
        UserCommand::Enable { name } => set_disabled(store, &name, false).await,
        UserCommand::ResetPassword { name } => {
            let mut u = find(store, &name).await?;
            u.password_hash = read_password_hash(&name)?;
            store.update_user(&u).await?;
            store.revoke_sessions_of(u.id).await?;
            eprintln!("civmap: new password set for {name}; its sessions and tokens were ended");
            Ok(())
        }
        UserCommand::Token { name, days } => {
            if !(1..=3660).contains(&days) {
                bail!("--days must be in 1..=3660");
            }
            let u = find(store, &name).await?;
            if u.disabled {
                bail!("user {name} is disabled");
            }
            let (token, expires) =
                civmap_app::accounts::sessions::issue_api_token(store, u.id, days)
                    .await
                    .map_err(|e| anyhow::anyhow!("{e}"))?;
            println!("{token}");
            eprintln!(
                "civmap: API token for {name} (role {}), valid until {}; shown only now",
                u.role,
                expires.to_rfc3339()
            );
            Ok(())
        }
    }
}

async fn add(
    store: &Store,
    name: &str,
    role: &str,
    zones: &[String],
    display_name: Option<String>,
    street: Option<String>,
) -> Result<()> {
    let name = validate_user_name(name)?;
    let role: Role = role.parse()?;
    if role == Role::Public {
        bail!("role public is for callers without an account; choose another role");
    }
    if store.user_by_name(&name).await?.is_some() {
        bail!("user name {name:?} is taken");
    }
    let zone_ids = resolve_zones(store, zones).await?;
    if !(zone_ids.is_empty() || role.is_chief() || role == Role::StreetOffice) {
        bail!("--zone is for chiefs and street offices, not for role {role}");
    }
    let display_name = civmap_domain::error::validate_text(
        "display_name",
        display_name.as_deref().unwrap_or(&name),
        80,
        true,
    )?;
    let street = street
        .map(|s| civmap_domain::error::validate_text("street", &s, 40, true))
        .transpose()?;
    let password_hash = read_password_hash(&name)?;
    let user = User {
        id: UserId::new(),
        name: name.clone(),
        display_name,
        role,
        street,
        password_hash,
        disabled: false,
        created_at: Utc::now(),
    };
    store.create_user(&user).await?;
    for z in &zone_ids {
        store.assign(*z, user.id).await?;
    }
    eprintln!(
        "civmap: user {name} ({role}) created with id {} and {} zone(s)",
        user.id,
        zone_ids.len()
    );
    println!("{}", user.id);
    Ok(())
}

async fn list(store: &Store) -> Result<()> {
    let users = store.list_users().await?;
    let assignments = store.assignments().await?;
    println!("name\trole\tstate\tzones\tstreet\tdisplay_name\tid");
    for u in users {
        let n = assignments.iter().filter(|(_, who)| *who == u.id).count();
        let state = if u.disabled {
            "disabled"
        } else if u.password_hash.is_empty() {
            "no-password"
        } else {
            "active"
        };
        println!(
            "{}\t{}\t{state}\t{n}\t{}\t{}\t{}",
            u.name,
            u.role,
            u.street.as_deref().unwrap_or("-"),
            u.display_name,
            u.id
        );
    }
    Ok(())
}

async fn set_disabled(store: &Store, name: &str, disabled: bool) -> Result<()> {
    let mut u = find(store, name).await?;
    u.disabled = disabled;
    store.update_user(&u).await?;
    if disabled {
        store.revoke_sessions_of(u.id).await?;
        eprintln!("civmap: user {name} disabled; its sessions and tokens were ended");
    } else {
        eprintln!("civmap: user {name} enabled");
    }
    Ok(())
}

async fn find(store: &Store, name: &str) -> Result<User> {
    store
        .user_by_name(name)
        .await?
        .with_context(|| format!("no user {name:?}"))
}

/// Zones named by id, `code` or `external_id`, else by their name (`四平路`) when exactly one
/// zone has it; an ambiguous name lists the external ids to choose from.
async fn resolve_zones(store: &Store, wanted: &[String]) -> Result<Vec<ZoneId>> {
    /// External ids named in an "ambiguous" message before the rest are only counted.
    const CANDIDATES_SHOWN: usize = 8;
    if wanted.is_empty() {
        return Ok(Vec::new());
    }
    let zones = store.list_zones().await?;
    let mut out = Vec::with_capacity(wanted.len());
    for w in wanted {
        let mut hits: Vec<&civmap_domain::Zone> = zones
            .iter()
            .filter(|z| {
                z.id.to_string() == *w
                    || z.code.as_deref() == Some(w.as_str())
                    || z.external_id.as_deref() == Some(w.as_str())
            })
            .collect();
        if hits.is_empty() {
            hits = zones.iter().filter(|z| z.name == *w).collect();
        }
        match hits.as_slice() {
            [one] => out.push(one.id),
            [] => bail!("no zone with id, code, external id or name {w:?}"),
            many => {
                let mut ids: Vec<String> = many
                    .iter()
                    .take(CANDIDATES_SHOWN)
                    .map(|z| {
                        format!(
                            "{} ({})",
                            z.external_id.clone().unwrap_or_else(|| z.id.to_string()),
                            z.kind
                        )
                    })
                    .collect();
                if many.len() > CANDIDATES_SHOWN {
                    ids.push(format!("{} more", many.len() - CANDIDATES_SHOWN));
                }
                bail!(
                    "{w:?} names {} zones; give one of: {}",
                    many.len(),
                    ids.join(", ")
                )
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Ok(out)
}

/// Reads one line from standard input (a prompt goes to standard error when it is a terminal)
/// and hashes it.
fn read_password_hash(name: &str) -> Result<String> {
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        eprint!("password for {name} (one line; it is shown as you type): ");
        let _ = std::io::stderr().flush();
    }
    let mut line = String::new();
    let n = stdin
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    if n == 0 {
        bail!(
            "no password on standard input (send it as one line, e.g. `printf '%s\\n' \"$PW\" | civmap user ...`)"
        );
    }
    let password = line.strip_suffix('\n').unwrap_or(&line);
    let password = password.strip_suffix('\r').unwrap_or(password);
    civmap_app::accounts::passwords::hash_password(password).map_err(|e| anyhow::anyhow!("{e}"))
}
