//! Reference tables replaced as a whole by an import (the basemap, the road ways): every old row
//! deleted and the new ones inserted in one transaction, on a connection of its own so the
//! writer's queue of live reports is not held behind a large import's statements.

use sqlx::ConnectOptions as _;

use crate::error::{StoreError, from_sqlx};
use crate::reads::Reads;
use crate::sql::{Arg, Conn, RawConn, multi_insert};
use crate::store::Store;

/// A table replaced as a whole: its name, its columns (the first is `seq`, the row's place in
/// the order written), rows per `INSERT`, and how one row becomes its arguments.
pub(crate) struct Table<'a, T> {
    pub name: &'a str,
    pub cols: &'a [&'a str],
    pub rows_per_insert: usize,
    /// The arguments of `row`, the `seq`-th written, in the order of `cols`;
    /// [`StoreError::Invalid`] for a row that may not be stored (nothing is written then).
    pub args: fn(usize, &T, &mut Vec<Arg>) -> Result<(), StoreError>,
}

/// Deletes the old rows and inserts `rows` on `conn`, inside a transaction `conn` is in.
async fn write<T>(conn: &mut Conn<'_>, table: &Table<'_, T>, rows: &[T]) -> Result<(), StoreError> {
    conn.exec(&format!("DELETE FROM {}", table.name), vec![])
        .await?;
    let mut seq = 0usize;
    for chunk in rows.chunks(table.rows_per_insert) {
        let mut a = Vec::with_capacity(chunk.len() * table.cols.len());
        for r in chunk {
            (table.args)(seq, r, &mut a)?;
            seq += 1;
        }
        conn.exec(&multi_insert(table.name, table.cols, chunk.len()), a)
            .await?;
    }
    Ok(())
}

/// Runs `write` in a transaction: committed when it succeeds, rolled back otherwise.
async fn in_transaction<T>(
    conn: &mut Conn<'_>,
    begin: &str,
    table: &Table<'_, T>,
    rows: &[T],
) -> Result<(), StoreError> {
    conn.raw(begin).await?;
    match write(conn, table, rows).await {
        Ok(()) => conn.raw("COMMIT").await,
        Err(e) => {
            // The error that matters is the first one; a failed rollback closes the connection.
            let _ = conn.raw("ROLLBACK").await;
            Err(e)
        }
    }
}

impl Store {
    /// Replaces every row of `table` with `rows` (in this order) in one transaction.
    pub(crate) async fn replace_table<T>(
        &self,
        table: &Table<'_, T>,
        rows: &[T],
    ) -> Result<(), StoreError> {
        let loc = self.location();
        match &**self.reads() {
            Reads::Sqlite(s) => {
                // The readers' options without their `query_only`: a connection of its own.
                let mut c = s.opts.connect().await.map_err(|e| from_sqlx(loc, e))?;
                let mut conn = Conn {
                    raw: RawConn::Sqlite(&mut c),
                    loc,
                };
                // IMMEDIATE: take the write lock now (waiting for the writer), not mid-way.
                in_transaction(&mut conn, "BEGIN IMMEDIATE", table, rows).await
            }
            Reads::Pg(pool) => {
                let mut c = pool.acquire().await.map_err(|e| from_sqlx(loc, e))?;
                let mut conn = Conn {
                    raw: RawConn::Pg(&mut c),
                    loc,
                };
                in_transaction(&mut conn, "BEGIN", table, rows).await
            }
        }
    }
}
