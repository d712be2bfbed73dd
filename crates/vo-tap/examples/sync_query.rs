//! A synchronous TAP query streamed row by row (the example of the root README).
//!
//! ```text
//! cargo run -p vo-tap --example sync_query -- [SERVICE_URL] [ADQL]
//! ```
//! Without arguments it asks ESO's `tap_obs` (or `ESO_ARCHIVE_URL`).
#![allow(clippy::print_stdout)]

use vo_auth::{EsoEndpoints, Url, http::HttpClient};
use vo_tap::{TapQuery, client::TapClient};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let service = match args.next() {
        Some(url) => Url::parse(&url)?,
        None => EsoEndpoints::from_env().tap_obs(),
    };
    let adql = args
        .next()
        .unwrap_or_else(|| "SELECT TOP 5 dp_id, instrument FROM dbo.raw".to_owned());
    let tap = TapClient::builder(service)
        .http(HttpClient::anonymous()?)
        .build()?;
    let stream = tap.query_sync(&TapQuery::new(adql)).await?;
    // Rows are decoded one at a time in a blocking worker: memory stays flat.
    let (n_rows, outcome) = stream
        .read_blocking(|s| {
            let mut row = votable::Row::new();
            let mut n_rows = 0;
            while s.read_row(&mut row)? {
                n_rows += 1;
            }
            Ok(n_rows)
        })
        .await?;
    println!("{n_rows} rows, truncated: {}", outcome.overflow);
    Ok(())
}
