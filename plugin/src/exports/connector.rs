use crate::cloudflare::{catalog, verify};
use crate::connection::{self, Connection};
use crate::http::WasiTransport;
use crate::wit_connector::{
    ConnectionInfo, Guest, PermissionRequirement, ServiceInfo, VerifyReport,
};
use crate::wit_types::{ConnectOptions, Error};
use crate::{Component, time};

impl Guest for Component {
    fn connect(options: ConnectOptions) -> Result<ConnectionInfo, Error> {
        let connection = connection::from_options(&options.account_id, &options.enabled_services)?;
        let info = connection_info(&connection);
        connection::configure(connection);
        Ok(info)
    }

    fn verify() -> Result<VerifyReport, Error> {
        let connection = connection::current()?;
        Ok(verify::verify(
            &connection,
            &WasiTransport,
            time::now_unix(),
        ))
    }
}

/// The services, what each needs, and every host the plugin will call.
pub fn connection_info(connection: &Connection) -> ConnectionInfo {
    let services: Vec<ServiceInfo> = connection
        .services
        .iter()
        .map(|&service| ServiceInfo {
            service,
            display_name: catalog::display_name(service).to_string(),
            permissions: catalog::required_permissions(service)
                .iter()
                .map(|&permission| PermissionRequirement {
                    permission,
                    dashboard_name: catalog::dashboard_name(permission).to_string(),
                    reason: catalog::reason(service, permission).to_string(),
                })
                .collect(),
            hosts: catalog::hosts(service)
                .iter()
                .map(|h| h.to_string())
                .collect(),
        })
        .collect();
    let mut hosts: Vec<String> = services.iter().flat_map(|s| s.hosts.clone()).collect();
    hosts.sort();
    hosts.dedup();
    ConnectionInfo {
        account_id: connection.account_id.clone(),
        services,
        hosts,
        source: connection.source.to_string(),
    }
}
