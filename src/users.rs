//! `possync user add|passwd|list`, and the first manager created on a fresh database.
//!
//! These commands take the data directory's lock like the server does, so they
//! refuse to run next to a server instead of racing it for the database.

use crate::console::say;
use crate::database::DatabaseArgs;
use anyhow::{Context, Result, anyhow, bail};
use clap::{Subcommand, ValueEnum};
use possync_core::{Login, Name, Password, Role};
use possync_server::auth::hash_password;
use possync_server::clock::{Clock, SystemClock};
use possync_store::{Conflict, Store, StoreError, UserEdit};
use rand::Rng;
use rand::distributions::Alphanumeric;
use std::io::{BufRead, IsTerminal};
use std::path::Path;

/// The login of the manager created on the first start without `--demo`.
pub const FIRST_MANAGER_LOGIN: &str = "admin";
/// Characters in a generated password: about 95 bits of entropy.
const GENERATED_PASSWORD_CHARS: usize = 16;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RoleArg {
    Manager,
    Cashier,
}

impl From<RoleArg> for Role {
    fn from(role: RoleArg) -> Role {
        match role {
            RoleArg::Manager => Role::Manager,
            RoleArg::Cashier => Role::Cashier,
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Add a user. Without --password, the password is read from the terminal or stdin.
    Add {
        #[arg(long)]
        login: String,
        #[arg(long)]
        name: String,
        #[arg(long, value_enum)]
        role: RoleArg,
        /// The password (visible in the shell history; prefer the prompt or stdin).
        #[arg(long)]
        password: Option<String>,
    },
    /// Set a user's password. Without --password, it is read from the terminal or stdin.
    Passwd {
        #[arg(long)]
        login: String,
        #[arg(long)]
        password: Option<String>,
    },
    /// List the users.
    List,
}

pub async fn run(data_dir: &Path, database: &DatabaseArgs, command: UserCommand) -> Result<()> {
    let database = database.open(data_dir, "managing users").await?;
    let store = database.store.as_ref();
    match command {
        UserCommand::Add {
            login,
            name,
            role,
            password,
        } => {
            let login =
                Login::parse(&login).map_err(|error| anyhow!("login {login:?}: {error}"))?;
            let name = Name::parse(&name).map_err(|error| anyhow!("name {name:?}: {error}"))?;
            let password = password_from_argument_or_input(password)?;
            let password_hash = hash_off_thread(password).await?;
            let user = match store
                .create_user(&login, &name, role.into(), &password_hash, &[])
                .await
            {
                Ok(user) => user,
                Err(StoreError::Conflict(Conflict::LoginTaken)) => {
                    bail!("the login `{}` is already taken", login.as_str())
                }
                Err(error) => return Err(error).context("could not add the user"),
            };
            say(format!(
                "Added {} `{}` ({}), id {}.",
                user.role.as_str(),
                user.login.as_str(),
                user.name,
                user.id
            ));
        }
        UserCommand::Passwd { login, password } => {
            let login =
                Login::parse(&login).map_err(|error| anyhow!("login {login:?}: {error}"))?;
            let (user, _) = store
                .find_login(&login)
                .await
                .context("could not look up the user")?
                .ok_or_else(|| anyhow!("no user has the login `{}`", login.as_str()))?;
            let password = password_from_argument_or_input(password)?;
            let password_hash = hash_off_thread(password).await?;
            store
                .update_user(
                    user.id,
                    &UserEdit {
                        password_hash: Some(&password_hash),
                        ..UserEdit::default()
                    },
                )
                .await
                .context("could not change the password")?;
            // Every token of the user stops working, as after a change in the back office.
            store
                .revoke_user_tokens(user.id, SystemClock.now())
                .await
                .context("could not revoke the user's tokens")?;
            say(format!("Changed the password of `{}`.", login.as_str()));
        }
        UserCommand::List => {
            for user in store
                .list_users()
                .await
                .context("could not list the users")?
            {
                say(format!(
                    "{}\t{}\t{}\t{}",
                    user.id,
                    user.login.as_str(),
                    user.role.as_str(),
                    user.name
                ));
            }
        }
    }
    Ok(())
}

/// On an empty user table, creates the manager `admin` with a random password and
/// returns that password, to be printed once. Otherwise returns `None`.
pub async fn create_first_manager_if_none(store: &dyn Store) -> Result<Option<String>> {
    if store.count_users().await.context("could not count users")? > 0 {
        return Ok(None);
    }
    let password_text: String = rand::thread_rng()
        .sample_iter(&Alphanumeric)
        .take(GENERATED_PASSWORD_CHARS)
        .map(char::from)
        .collect();
    let password =
        Password::parse(&password_text).map_err(|error| anyhow!("generated password: {error}"))?;
    let password_hash = hash_off_thread(password).await?;
    let login = Login::parse(FIRST_MANAGER_LOGIN).map_err(|error| anyhow!("{error}"))?;
    let name = Name::parse("Administrator").map_err(|error| anyhow!("{error}"))?;
    store
        .create_user(&login, &name, Role::Manager, &password_hash, &[])
        .await
        .context("could not create the first manager")?;
    Ok(Some(password_text))
}

/// Hashes on the blocking pool: argon2 is slow on purpose.
pub async fn hash_off_thread(password: Password) -> Result<String> {
    tokio::task::spawn_blocking(move || hash_password(&password))
        .await
        .context("the password hashing task failed")?
        .context("could not hash the password")
}

/// The `--password` argument, else a hidden prompt (typed twice) on a terminal,
/// else the first line of stdin (for scripts: `echo secret | possync user passwd ...`).
fn password_from_argument_or_input(argument: Option<String>) -> Result<Password> {
    let text = match argument {
        Some(text) => text,
        None if std::io::stdin().is_terminal() => {
            let first =
                rpassword::prompt_password("Password: ").context("could not read the password")?;
            let second = rpassword::prompt_password("Password again: ")
                .context("could not read the password")?;
            if first != second {
                bail!("the two passwords differ");
            }
            first
        }
        None => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("could not read the password from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_owned()
        }
    };
    Password::parse(&text).map_err(|error| anyhow!("password: {error}"))
}
