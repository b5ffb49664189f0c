//! `squirrel pki ca eab add|list|remove`: external account binding keys
//! (RFC 8555 §7.3.4). With `pki ca serve --require-eab`, only a holder of
//! one can register an ACME account: a members-only CA. The leader makes a
//! key per member, hands over its key id and HMAC key once, and removes it
//! when the member leaves (an account already registered stays; revoke its
//! certificates with `pki revoke`).

use anyhow::{bail, Context, Result};
use clap::{Args, Subcommand};
use squirrel_acme::store::{self, Store, StoreError};
use squirrel_pki::ca::default_ca_dir;
use squirrel_pki::CaFiles;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

#[derive(Subcommand)]
pub enum EabCommand {
    /// Make a key for NAME: prints its key id and HMAC key (shown once).
    Add(EabAddArgs),
    /// List the keys: id, name, when made, the account bound to it.
    List(EabListArgs),
    /// Remove a key by key id or name: it can no longer register an account.
    Remove(EabRemoveArgs),
}

#[derive(Args)]
pub struct EabDir {
    /// The CA directory (default: $SQUIRREL_HOME, else the XDG data dir).
    #[arg(long, value_name = "DIR")]
    pub ca_dir: Option<PathBuf>,
    #[command(flatten)]
    pub db: super::db::DbArgs,
}

#[derive(Args)]
pub struct EabAddArgs {
    /// Who the key is for (a label of yours, e.g. the member's name).
    pub name: String,
    #[command(flatten)]
    pub dir: EabDir,
    /// Print JSON: {"name", "kid", "hmac_key"}.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct EabListArgs {
    #[command(flatten)]
    pub dir: EabDir,
    /// Print JSON.
    #[arg(long)]
    pub json: bool,
}

#[derive(Args)]
pub struct EabRemoveArgs {
    /// The key id or the name given to `eab add`.
    pub key: String,
    #[command(flatten)]
    pub dir: EabDir,
}

pub fn run(command: EabCommand) -> Result<ExitCode> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime")?;
    runtime.block_on(async move {
        match command {
            EabCommand::Add(args) => add(args).await,
            EabCommand::List(args) => list(args).await,
            EabCommand::Remove(args) => remove(args).await,
        }
    })
}

async fn open(args: &EabDir) -> Result<Arc<dyn Store>> {
    let dir = match &args.ca_dir {
        Some(d) => d.clone(),
        None => default_ca_dir()?,
    };
    let files = CaFiles::in_dir(&dir);
    if !files.cert.exists() {
        bail!(
            "{} has no CA (no {}); create one with `squirrel pki ca init --dir {}`",
            dir.display(),
            files.cert.display(),
            super::shell_word(&dir)
        );
    }
    Ok(store::backend::open(args.db.db.as_deref(), &files.ledger).await?)
}

async fn add(args: EabAddArgs) -> Result<ExitCode> {
    let name = args.name.trim();
    if name.is_empty() {
        bail!("the key's NAME is empty; give who it is for, e.g. `squirrel pki ca eab add alice`");
    }
    let store = open(&args.dir).await?;
    let key = squirrel_acme::eab::new_key(name);
    match store.add_eab_key(&key).await {
        Ok(()) => {}
        Err(StoreError::Conflict(_)) => bail!(
            "an EAB key named {name:?} exists already; pick another name, or remove it first \
             with `squirrel pki ca eab remove {name}`"
        ),
        Err(e) => return Err(e.into()),
    }
    let hmac = squirrel_acme::eab::encode_hmac_key(&key.hmac_key);
    if args.json {
        println!(
            "{}",
            serde_json::json!({ "name": key.name, "kid": key.kid, "hmac_key": hmac })
        );
    } else {
        println!("EAB key for {}:", key.name);
        println!("  key id:   {}", key.kid);
        println!("  HMAC key: {hmac}");
        println!(
            "Hand both to {} once; the HMAC key is a secret and is not shown again.",
            key.name
        );
        println!(
            "certbot: --eab-kid {} --eab-hmac-key {hmac}\nlego:    --eab --kid {} --hmac {hmac}",
            key.kid, key.kid
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn list(args: EabListArgs) -> Result<ExitCode> {
    let store = open(&args.dir).await?;
    let keys = store.eab_keys().await?;
    if args.json {
        let rows: Vec<_> = keys
            .iter()
            .map(|k| {
                serde_json::json!({
                    "kid": k.kid,
                    "name": k.name,
                    "created_at": k.created_at.format(&time::format_description::well_known::Rfc3339).unwrap_or_default(),
                    "account": k.account_id,
                })
            })
            .collect();
        println!("{}", serde_json::Value::from(rows));
        return Ok(ExitCode::SUCCESS);
    }
    if keys.is_empty() {
        println!("No EAB keys; make one with `squirrel pki ca eab add NAME`.");
        return Ok(ExitCode::SUCCESS);
    }
    println!("{:<24} {:<20} {:<20} ACCOUNT", "KEY ID", "NAME", "CREATED");
    for k in keys {
        let created = k
            .created_at
            .format(time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute]"
            ))
            .unwrap_or_default();
        println!(
            "{:<24} {:<20} {:<20} {}",
            k.kid,
            k.name,
            created,
            k.account_id.as_deref().unwrap_or("(unused)")
        );
    }
    Ok(ExitCode::SUCCESS)
}

async fn remove(args: EabRemoveArgs) -> Result<ExitCode> {
    let store = open(&args.dir).await?;
    if !store.remove_eab_key(&args.key).await? {
        bail!(
            "no EAB key has the id or name {:?}; see them with `squirrel pki ca eab list`",
            args.key
        );
    }
    println!(
        "Removed EAB key {}: it can no longer register an account.",
        args.key
    );
    Ok(ExitCode::SUCCESS)
}
