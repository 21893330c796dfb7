//! The app's Admin API credentials: a Dev Dashboard app's client id and secret (exchanged for a
//! token that expires within a day), or a legacy custom app's `shpat_…` access token. Kept as an
//! SSM SecureString, read when first needed (a missing parameter defers coupon emails only).

use super::AdminError;
use serde::Deserialize;

/// What the parameter holds.
#[derive(Clone, PartialEq, Eq)]
pub enum Credentials {
    /// A legacy Admin API access token (`shpat_…`), used as is.
    Token(String),
    /// A client id and secret, exchanged for a token (client credentials grant).
    Client {
        /// The app's client id.
        id: String,
        /// The app's client secret.
        secret: String,
    },
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret itself.
        match self {
            Self::Token(_) => f.write_str("Credentials::Token(..)"),
            Self::Client { .. } => f.write_str("Credentials::Client { .. }"),
        }
    }
}

#[derive(Deserialize)]
struct Stored {
    access_token: Option<String>,
    client_id: Option<String>,
    client_secret: Option<String>,
}

impl Credentials {
    /// Parses the parameter's value: `{"client_id": …, "client_secret": …}`, `{"access_token": …}`
    /// or a bare `shpat_…` token.
    pub fn parse(value: &str) -> Result<Self, AdminError> {
        let value = value.trim();
        if value.starts_with("shpat_") {
            return Ok(Self::Token(value.to_owned()));
        }
        let stored: Stored = serde_json::from_str(value).map_err(|_| {
            AdminError::Credentials("not JSON with client_id and client_secret, nor a shpat_ token".into())
        })?;
        match stored {
            Stored {
                client_id: Some(id),
                client_secret: Some(secret),
                ..
            } => Ok(Self::Client { id, secret }),
            Stored {
                access_token: Some(token),
                ..
            } => Ok(Self::Token(token)),
            _ => Err(AdminError::Credentials(
                "needs client_id and client_secret, or access_token".into(),
            )),
        }
    }
}

/// Where the credentials come from.
pub enum CredentialSource {
    /// Given (tests, the CLI).
    Fixed(Credentials),
    /// An SSM SecureString parameter, by name.
    Parameter {
        /// The SSM client, built once at init.
        client: aws_sdk_ssm::Client,
        /// The parameter's name (`/tidings/shopify/credentials`).
        name: String,
    },
}

impl CredentialSource {
    pub(super) async fn read(&self) -> Result<Credentials, AdminError> {
        match self {
            Self::Fixed(credentials) => Ok(credentials.clone()),
            Self::Parameter { client, name } => {
                let answer = client
                    .get_parameter()
                    .name(name)
                    .with_decryption(true)
                    .send()
                    .await
                    .map_err(|e| {
                        AdminError::Credentials(format!(
                            "SSM parameter {name}: {}",
                            aws_sdk_ssm::error::DisplayErrorContext(e)
                        ))
                    })?;
                let value = answer
                    .parameter()
                    .and_then(|p| p.value())
                    .ok_or_else(|| AdminError::Credentials(format!("SSM parameter {name} has no value")))?;
                Credentials::parse(value)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Credentials;

    #[test]
    fn the_three_shapes_of_the_parameter() {
        assert_eq!(
            Credentials::parse(" shpat_abc \n").ok(),
            Some(Credentials::Token("shpat_abc".into()))
        );
        assert_eq!(
            Credentials::parse(r#"{"access_token":"shpat_x"}"#).ok(),
            Some(Credentials::Token("shpat_x".into()))
        );
        assert_eq!(
            Credentials::parse(r#"{"client_id":"id","client_secret":"s"}"#).ok(),
            Some(Credentials::Client {
                id: "id".into(),
                secret: "s".into()
            })
        );
        let error = Credentials::parse(r#"{"client_id":"id"}"#).expect_err("no secret");
        assert!(!format!("{error}").contains("id\""), "{error}");
        assert_eq!(
            format!("{:?}", Credentials::Token("shpat_secret".into())),
            "Credentials::Token(..)"
        );
    }
}
