//! The durable-insert baseline: axum and the same database settings as
//! cityteller (SQLite in WAL with `synchronous = FULL`, one writer; or
//! PostgreSQL), one plain INSERT of the request body per request, each in
//! its own transaction, answered after its commit.

use std::net::SocketAddr;

use anyhow::{Result, anyhow};
use app::config::DatabaseUrl;
use app::store::Db;
use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;

pub async fn run(database: &str, listen: SocketAddr) -> Result<()> {
    let url = DatabaseUrl::parse(database).map_err(|e| anyhow!(e))?;
    let db = Db::connect(&url).await?;
    let mut tx = db.begin().await?;
    sqlx::query("DROP TABLE IF EXISTS bench_baseline")
        .execute(&mut *tx)
        .await?;
    sqlx::query("CREATE TABLE bench_baseline (id BIGINT PRIMARY KEY, body TEXT NOT NULL)")
        .execute(&mut *tx)
        .await?;
    tx.commit().await?;
    let ids = std::sync::Arc::new(std::sync::atomic::AtomicI64::new(1));
    let app = Router::new()
        .route("/insert", post(insert))
        .with_state((db, ids));
    let listener = tokio::net::TcpListener::bind(listen).await?;
    println!("baseline listening on {listen}");
    axum::serve(listener, app).await?;
    Ok(())
}

async fn insert(
    State((db, ids)): State<(Db, std::sync::Arc<std::sync::atomic::AtomicI64>)>,
    body: Bytes,
) -> StatusCode {
    let id = ids.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let body = String::from_utf8_lossy(&body).into_owned();
    let done = async {
        let mut tx = db.begin().await?;
        sqlx::query("INSERT INTO bench_baseline (id, body) VALUES ($1, $2)")
            .bind(id)
            .bind(body)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok::<(), anyhow::Error>(())
    }
    .await;
    match done {
        Ok(()) => StatusCode::OK,
        Err(_) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}
