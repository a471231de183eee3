//! What every service and handler needs, built once at start-up and passed
//! explicitly (no global config).

use std::ops::Deref;
use std::sync::Arc;

use crate::clock::Clock;
use crate::config::{Config, ProcessorKind};
use crate::keys::Keys;
use crate::mail::Mailer;
use crate::processor::Processor;
use crate::processor::sandbox::SandboxProcessor;
use crate::store::Db;
use crate::telemetry::Metrics;

#[derive(Clone)]
pub struct App(Arc<AppInner>);

pub struct AppInner {
    pub config: Config,
    pub db: Db,
    pub keys: Keys,
    pub processor: Arc<dyn Processor>,
    pub mailer: Mailer,
    pub clock: Arc<dyn Clock>,
    pub metrics: Metrics,
    /// Argon2id, at most two at a time.
    pub hasher: crate::staff::password::Hasher,
    pub limiter: crate::web::limits::Limiter,
}

impl Deref for App {
    type Target = AppInner;
    fn deref(&self) -> &AppInner {
        &self.0
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Keys(#[from] crate::keys::KeysError),
    #[error("cannot connect to the database {0}: {1}")]
    Database(String, crate::store::StoreError),
    #[error("cannot set up the payment processor: {0}")]
    Processor(crate::processor::ProcessorError),
    #[error("cannot set up e-mail: {0}")]
    Mail(String),
    #[error("refusing to start in production mode: {0}")]
    Unsafe(String),
}

impl App {
    pub fn new(
        config: Config,
        db: Db,
        keys: Keys,
        processor: Arc<dyn Processor>,
        mailer: Mailer,
        clock: Arc<dyn Clock>,
    ) -> App {
        App(Arc::new(AppInner {
            config,
            db,
            keys,
            processor,
            mailer,
            clock,
            metrics: Metrics::default(),
            hasher: crate::staff::password::Hasher::new(2),
            limiter: crate::web::limits::Limiter::default(),
        }))
    }

    /// Connects everything the config names: database (migrated), keys,
    /// processor, mailer.
    pub async fn from_config(config: Config, clock: Arc<dyn Clock>) -> Result<App, StartError> {
        let keys = Keys::load(&config.keys_file, std::env::var("CITYTELLER_KEYS").ok())?;
        if config.mode == crate::config::Mode::Production && keys.audit_signing.is_none() {
            return Err(StartError::Unsafe(
                "the key file has no audit_signing_key (audit checkpoints could not be signed)"
                    .into(),
            ));
        }
        let db = Db::connect(&config.database)
            .await
            .map_err(|e| StartError::Database(config.database.redacted(), e))?;
        db.migrate()
            .await
            .map_err(|e| StartError::Database(config.database.redacted(), e))?;
        let processor = processor_for(&config, &keys)?;
        let mailer = Mailer::from_config(&config.mail, keys.smtp_password.clone())
            .map_err(StartError::Mail)?;
        Ok(App::new(config, db, keys, processor, mailer, clock))
    }

    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    pub fn now_us(&self) -> i64 {
        self.clock.now().as_microsecond()
    }
}

pub fn processor_for(config: &Config, keys: &Keys) -> Result<Arc<dyn Processor>, StartError> {
    match &config.processor.kind {
        ProcessorKind::Sandbox { url } => Ok(Arc::new(
            SandboxProcessor::new(
                url.clone(),
                keys.processor_api_key.clone(),
                keys.webhook_secrets.clone(),
                config.processor.request_timeout,
            )
            .map_err(StartError::Processor)?,
        )),
    }
}
