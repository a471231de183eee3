//! What every service and handler needs, built once at start-up and passed
//! explicitly (no global config).

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use secrecy::ExposeSecret;

use crate::clock::Clock;
use crate::config::{Config, Mode, ProcessorKind};
use crate::keys::Keys;
use crate::mail::Mailer;
use crate::processor::Processor;
use crate::processor::sandbox::SandboxProcessor;
use crate::processor::stripe::{StripeProcessor, StripeSettings};
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
    #[error("refusing the processor key: {0}")]
    ProcessorKey(String),
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
        ProcessorKind::Stripe {
            api_url,
            checkout_origin,
            allow_test_key,
        } => {
            check_stripe_key(
                keys.processor_api_key.expose_secret(),
                config.mode,
                *allow_test_key,
            )?;
            Ok(Arc::new(
                StripeProcessor::new(StripeSettings {
                    api_base: api_url.clone(),
                    checkout_origin: checkout_origin.clone(),
                    secret_key: keys.processor_api_key.clone(),
                    webhook_secrets: keys.webhook_secrets.clone(),
                    timeout: config.processor.request_timeout,
                    backoff: vec![
                        Duration::from_millis(500),
                        Duration::from_secs(2),
                        Duration::from_secs(5),
                    ],
                })
                .map_err(StartError::Processor)?,
            ))
        }
    }
}

/// A live key outside production would charge real cards from a test
/// server; a test key in production would take no money at all.
pub fn check_stripe_key(key: &str, mode: Mode, allow_test_key: bool) -> Result<(), StartError> {
    let live = key.starts_with("sk_live_") || key.starts_with("rk_live_");
    let test = key.starts_with("sk_test_") || key.starts_with("rk_test_");
    match (mode, live, test) {
        (_, false, false) => Err(StartError::ProcessorKey(
            "processor.api_key is not a Stripe secret key (sk_live_…, sk_test_… or a restricted rk_ key)"
                .into(),
        )),
        (Mode::Production, false, true) if !allow_test_key => Err(StartError::ProcessorKey(
            "production mode with a Stripe test key takes no money; set processor.allow_test_key = true for a rehearsal"
                .into(),
        )),
        (Mode::Development, true, _) => Err(StartError::ProcessorKey(
            "a live Stripe key outside production mode would charge real cards".into(),
        )),
        _ => Ok(()),
    }
}
