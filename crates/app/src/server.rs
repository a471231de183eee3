//! Running the listeners and the job worker, and stopping them cleanly.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use crate::app::App;
use crate::web;

pub struct Running {
    pub public_addr: SocketAddr,
    pub staff_addr: SocketAddr,
    shutdown: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
}

/// Serves the resident site on `public` and the staff listener on `staff`,
/// and runs background jobs.
pub fn start(app: App, public: TcpListener, staff: TcpListener) -> std::io::Result<Running> {
    let public_addr = public.local_addr()?;
    let staff_addr = staff.local_addr()?;
    let (tx, rx) = watch::channel(false);
    let mut tasks = Vec::new();
    for (listener, router, name) in [
        (public, web::public_router(app.clone()), "public"),
        (staff, web::staff_router(app.clone()), "staff"),
    ] {
        let mut stop = rx.clone();
        tasks.push(tokio::spawn(async move {
            let served = axum::serve(
                listener,
                router.into_make_service_with_connect_info::<SocketAddr>(),
            )
            .with_graceful_shutdown(async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
            if let Err(e) = served {
                tracing::error!(listener = name, error = %e, "listener failed");
            }
        }));
    }
    if app.config.jobs_in_process {
        tasks.push(tokio::spawn(crate::jobs::run_worker(app, rx)));
    }
    Ok(Running {
        public_addr,
        staff_addr,
        shutdown: tx,
        tasks,
    })
}

impl Running {
    /// Stops accepting requests, lets in-flight ones finish, stops the
    /// worker.
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
