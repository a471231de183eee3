//! Backups on a schedule inside `serve`: each interval gets one job in the
//! database queue (its dedupe key names the interval), so however many
//! nodes share a PostgreSQL database, one of them takes the backup; the
//! job then prunes the folder with the configured policy.

use serde_json::json;

use super::{BackupError, create, prune};
use crate::app::App;
use crate::audit::Actor;
use crate::store::jobs::NewJob;
use crate::store::{self, StoreError};

pub const JOB_KIND: &str = "scheduled_backup";
const HOUR_US: i64 = 3_600_000_000;

/// Queues this interval's backup unless it is queued or done already;
/// `true` when it queued one.
pub async fn enqueue_due(app: &App) -> Result<bool, StoreError> {
    let hours = app.config.backup.interval_hours;
    if hours <= 0 || app.config.backup.recipient.is_none() {
        return Ok(false);
    }
    let now = app.now_us();
    let slot = now.div_euclid(hours * HOUR_US);
    let key = format!("backup:{hours}h:{slot}");
    let payload = json!({}).to_string();
    let mut tx = app.db.begin().await?;
    let queued = store::jobs::enqueue(
        &mut tx,
        &NewJob {
            kind: JOB_KIND,
            payload: &payload,
            dedupe_key: Some(&key),
            run_at: now,
            max_attempts: 3,
        },
        now,
    )
    .await?;
    tx.commit().await?;
    Ok(queued)
}

/// The job: a backup into `backup.dir`, then `prune` with the policy.
pub async fn run(app: &App) -> Result<(), BackupError> {
    let cfg = &app.config.backup;
    let Some(recipient) = &cfg.recipient else {
        return Err(BackupError::Crypto(
            "backup.recipient is not set; no scheduled backup".into(),
        ));
    };
    let actor = Actor::System("backup");
    let made = create(app, &cfg.dir, recipient, &actor, |_, _| {}).await?;
    tracing::info!(
        file = %made.path.display(),
        rows = made.rows(),
        bytes = made.bytes,
        "scheduled backup written"
    );
    prune(app, &cfg.dir, cfg.keep, &actor, false).await?;
    Ok(())
}
