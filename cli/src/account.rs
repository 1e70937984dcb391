//! `fanout auth ...` and `fanout secret ...`.

use std::io::{IsTerminal, Read};
use std::process::ExitCode;

use fanout_core::Engine;

use crate::{AuthCommand, SecretCommand};

pub async fn auth(engine: &Engine, command: AuthCommand) -> anyhow::Result<ExitCode> {
    match command {
        AuthCommand::Google { no_browser } => {
            let account = engine
                .sign_in_google(|url| {
                    println!("Open this page to sign in to Google:\n{url}");
                    if !no_browser {
                        open_browser(url);
                    }
                })
                .await?;
            println!("Signed in as {account}.");
        }
        AuthCommand::Status(flag) => {
            let status = engine.google_status().await?;
            if flag.json {
                println!("{}", serde_json::to_string_pretty(&status)?);
            } else if !status.signed_in {
                println!("Not signed in to Google. Run `fanout auth google`.");
            } else {
                let who = status.account.as_deref().unwrap_or("an account not yet checked");
                let how = match status.method {
                    Some("access-token") => "a fixed access token from the environment",
                    _ => "a refresh token in the keychain",
                };
                println!("Signed in to Google as {who}, with {how}.");
            }
        }
        AuthCommand::Logout => {
            if engine.sign_out_google().await? {
                println!("Signed out: Google revoked Fanout's access and the token was deleted.");
            } else {
                println!(
                    "Signed out locally. No grant was revoked at Google (there was none, or Google could not be \
                     reached): check myaccount.google.com, Security, Third-party access."
                );
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// Opens the system browser; failing that, the printed URL is enough.
fn open_browser(url: &str) {
    let opener = if cfg!(target_os = "macos") { "open" } else { "xdg-open" };
    let spawned = std::process::Command::new(opener)
        .arg(url)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn();
    if spawned.is_err() {
        eprintln!("(could not open a browser; copy the address above into one)");
    }
}

pub fn secret(engine: &Engine, command: SecretCommand) -> anyhow::Result<ExitCode> {
    match command {
        SecretCommand::Set { key, field } => {
            if std::io::stdin().is_terminal() {
                eprintln!("Paste the value of {key} {field} and press Enter, then Ctrl-D:");
            }
            let mut value = String::new();
            std::io::stdin().read_to_string(&mut value)?;
            engine.set_secret(&key, &field, value.trim_end_matches(['\r', '\n']))?;
            println!("Stored {key} {field} in the keychain.");
        }
        SecretCommand::Clear { key, field } => {
            engine.clear_secret(&key, &field)?;
            println!("Deleted {key} {field} from the keychain.");
        }
        SecretCommand::Status(flag) => {
            let statuses = engine.secret_status()?;
            if flag.json {
                println!("{}", serde_json::to_string_pretty(&statuses)?);
            } else {
                for s in statuses {
                    let mark = if s.stored { "stored" } else { "missing" };
                    println!("{:<16} {:<20} {:<8} {}", s.owner, s.field, mark, s.label);
                }
            }
        }
    }
    Ok(ExitCode::SUCCESS)
}
