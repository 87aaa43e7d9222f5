//! Accounts: passwords, secrets, sign-in limits, and who is calling (static tokens, browser
//! sessions, account API tokens).

pub mod guard;
pub mod passwords;
pub mod secrets;
pub mod sessions;
pub mod state;
