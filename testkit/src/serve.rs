//! Serving a test double on 127.0.0.1 until its handle is dropped.

use std::net::SocketAddr;

use tokio::net::TcpListener;
use tokio::sync::oneshot;

/// A running server; dropping it shuts the server down gracefully.
pub struct Served {
    pub addr: SocketAddr,
    shutdown: Option<oneshot::Sender<()>>,
}

impl Served {
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

/// Serves `app` on an already bound listener (so its address can be known beforehand).
pub fn spawn(listener: TcpListener, app: axum::Router) -> std::io::Result<Served> {
    let addr = listener.local_addr()?;
    // Without TCP_NODELAY every small response waits out a 40 ms delayed ACK on loopback; the
    // real services do not behave like that, so neither may their doubles.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        let _ = tcp.set_nodelay(true);
    });
    let (tx, rx) = oneshot::channel();
    tokio::spawn(async move {
        let _ = axum::serve(listener, app)
            .with_graceful_shutdown(async {
                let _ = rx.await;
            })
            .await;
    });
    Ok(Served { addr, shutdown: Some(tx) })
}

impl Drop for Served {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}
