//! A secret the functions read from SSM Parameter Store (a SecureString: a REST or API key, a
//! webhook secret) when first needed and keep; forgotten when the service refuses it, or read
//! again once it is old enough, so a key the merchant replaced is read again. In tests, a value
//! given as is.

/// Where a secret comes from, and what was read when.
pub struct Secret {
    source: Source,
    read: tokio::sync::Mutex<Option<(String, std::time::Instant)>>,
}

enum Source {
    Parameter { client: aws_sdk_ssm::Client, name: String },
    Fixed(String),
}

impl Secret {
    /// The value of the SSM SecureString `name`.
    pub fn parameter(client: aws_sdk_ssm::Client, name: String) -> Self {
        Self::of(Source::Parameter { client, name })
    }

    /// A value given as is.
    pub fn fixed(value: &str) -> Self {
        Self::of(Source::Fixed(value.to_owned()))
    }

    fn of(source: Source) -> Self {
        Self {
            source,
            read: tokio::sync::Mutex::new(None),
        }
    }

    /// The value (read from SSM the first time); why not, naming the parameter (never the value).
    pub async fn get(&self) -> Result<String, String> {
        self.get_unless_older(None).await
    }

    /// [`Secret::get`], read again when what was read is older than `age` (a webhook secret
    /// rotated since).
    pub async fn get_again_after(&self, age: std::time::Duration) -> Result<String, String> {
        self.get_unless_older(Some(age)).await
    }

    async fn get_unless_older(&self, age: Option<std::time::Duration>) -> Result<String, String> {
        let mut read = self.read.lock().await;
        if let Some((value, at)) = read.as_ref()
            && age.is_none_or(|age| at.elapsed() < age)
        {
            return Ok(value.clone());
        }
        let value = match &self.source {
            Source::Fixed(value) => value.clone(),
            Source::Parameter { client, name } => client
                .get_parameter()
                .name(name)
                .with_decryption(true)
                .send()
                .await
                .map_err(|e| format!("SSM parameter {name}: {}", aws_sdk_ssm::error::DisplayErrorContext(e)))?
                .parameter()
                .and_then(|p| p.value())
                .map(str::trim)
                .filter(|v| !v.is_empty())
                .ok_or_else(|| format!("SSM parameter {name} has no value"))?
                .to_owned(),
        };
        *read = Some((value.clone(), std::time::Instant::now()));
        Ok(value)
    }

    /// Forgets what was read: the next [`Secret::get`] reads it again.
    pub async fn forget(&self) {
        *self.read.lock().await = None;
    }

    /// Forgets what was read when a service answered `status` 401 or 403 (the key refused).
    pub async fn forget_on(&self, status: reqwest::StatusCode) {
        if status == reqwest::StatusCode::UNAUTHORIZED || status == reqwest::StatusCode::FORBIDDEN {
            self.forget().await;
        }
    }
}
