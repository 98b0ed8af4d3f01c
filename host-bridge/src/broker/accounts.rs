//! The broker's accounts: one per PRT record of this device, as `getAccounts` lists them (MSAL's
//! account shape), and finding the record a request names by its username or account ids.

use cxh_wire::broker::{Account, AUTHORITY_TYPE_MSSTS};
use cxh_wire::prt::ClientInfo;
use cxh_wire::prt_crypto::b64url;

use super::BrokerFailure;
use crate::prt::store::PrtRecord;

/// Host of an authority URL (`environment` of an account).
fn environment(authority: &str) -> String {
    url::Url::parse(authority)
        .ok()
        .and_then(|u| {
            let host = u.host_str()?.to_string();
            Some(match u.port() {
                Some(port) => format!("{host}:{port}"),
                None => host,
            })
        })
        .unwrap_or_default()
}

/// The account of a PRT record.
pub fn account_of(record: &PrtRecord) -> Account {
    let object_id = record.object_id.clone().unwrap_or_default();
    let client_info = serde_json::to_vec(&ClientInfo {
        uid: object_id.clone(),
        utid: record.tenant_id.clone(),
    })
    .map(|json| b64url(&json))
    .unwrap_or_default();
    Account {
        authority_type: AUTHORITY_TYPE_MSSTS.into(),
        client_info,
        environment: environment(&record.authority),
        family_name: record.profile.family_name.clone(),
        given_name: record.profile.given_name.clone(),
        home_account_id: format!("{object_id}.{}", record.tenant_id),
        local_account_id: object_id,
        name: record.profile.name.clone(),
        realm: record.tenant_id.clone(),
        username: record.upn.clone(),
    }
}

/// The record a request names: by the account passed (username, else its ids) or a username.
/// With none named and exactly one account on the device, that one (a single-user session).
pub fn find<'a>(
    records: &'a [PrtRecord],
    account: Option<&Account>,
    username: Option<&str>,
) -> Result<&'a PrtRecord, BrokerFailure> {
    let wanted_name = account
        .map(|a| a.username.as_str())
        .filter(|u| !u.trim().is_empty())
        .or(username.filter(|u| !u.trim().is_empty()));
    if let Some(name) = wanted_name {
        return records
            .iter()
            .find(|r| r.upn.eq_ignore_ascii_case(name.trim()))
            .ok_or_else(|| BrokerFailure::UnknownAccount(name.to_string()));
    }
    if let Some(id) = account
        .map(|a| a.local_account_id.as_str())
        .filter(|id| !id.is_empty())
    {
        return records
            .iter()
            .find(|r| r.object_id.as_deref() == Some(id))
            .ok_or_else(|| BrokerFailure::UnknownAccount(id.to_string()));
    }
    match records {
        [only] => Ok(only),
        [] => Err(BrokerFailure::UnknownAccount(String::new())),
        _ => Err(BrokerFailure::BadRequest(
            "several accounts are signed in: name one (account or username)".into(),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prt::store::UserProfile;

    fn record(upn: &str, oid: &str) -> PrtRecord {
        PrtRecord {
            upn: upn.into(),
            tenant_id: "tid".into(),
            authority: "https://127.0.0.1:8443".into(),
            federated: false,
            issued_at: 0,
            updated_at: 0,
            expires_at: 0,
            object_id: Some(oid.into()),
            prt: Some("secret".into()),
            session_key_blob: String::new(),
            session_key_tpm_held: true,
            dead_reason: None,
            profile: UserProfile {
                name: "Zoë Ångström".into(),
                given_name: "Zoë".into(),
                family_name: "Ångström".into(),
            },
        }
    }

    #[test]
    fn an_account_has_msals_ids_and_names_and_no_secret() {
        let account = account_of(&record("zoe@contoso.com", "oid"));
        assert_eq!(account.home_account_id, "oid.tid");
        assert_eq!(account.local_account_id, "oid");
        assert_eq!(account.realm, "tid");
        assert_eq!(account.environment, "127.0.0.1:8443");
        assert_eq!(account.name, "Zoë Ångström");
        let info = cxh_wire::prt_crypto::b64url_decode(&account.client_info).unwrap();
        let info: ClientInfo = serde_json::from_slice(&info).unwrap();
        assert_eq!((info.uid.as_str(), info.utid.as_str()), ("oid", "tid"));
        assert!(!serde_json::to_string(&account).unwrap().contains("secret"));
    }

    #[test]
    fn a_request_finds_its_record_by_username_or_id_and_an_unknown_one_is_refused() {
        let records = [record("a@x", "1"), record("b@x", "2")];
        assert_eq!(find(&records, None, Some("B@X")).unwrap().upn, "b@x");
        let by_id = Account {
            local_account_id: "1".into(),
            ..Default::default()
        };
        assert_eq!(find(&records, Some(&by_id), None).unwrap().upn, "a@x");
        assert!(matches!(
            find(&records, None, Some("mallory@x")),
            Err(BrokerFailure::UnknownAccount(_))
        ));
        assert!(matches!(
            find(&records, None, None),
            Err(BrokerFailure::BadRequest(_))
        ));
        assert_eq!(find(&records[..1], None, None).unwrap().upn, "a@x");
    }
}
