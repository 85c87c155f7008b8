//! What every call of a service does first: check that the connection enables it, and take
//! the state the instance keeps for it (caches), fresh when the account changed.

use crate::connection;
use crate::docs::links;
use crate::http::WasiTransport;
use crate::wit_types::{Error, Service};
use std::sync::Mutex;

/// Runs `run` with the transport, the service's state and the connected account ID.
pub fn with_state<S: Default, T>(
    service: Service,
    state: &Mutex<(String, S)>,
    run: impl FnOnce(&WasiTransport, &mut S, &str) -> Result<T, Error>,
) -> Result<T, Error> {
    let connection = connection::current()?;
    if !connection.has(service) {
        return Err(Error::ServiceDisabled(service));
    }
    let mut guard = state.lock().unwrap_or_else(|e| e.into_inner());
    let (account, kept) = &mut *guard;
    if *account != connection.account_id {
        *account = connection.account_id.clone();
        *kept = S::default();
    }
    run(&WasiTransport, kept, &connection.account_id).map_err(|mut error| {
        links::link_error(&mut error, Some(service));
        error
    })
}
