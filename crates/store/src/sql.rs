//! One way to run SQL on either backend.
//!
//! The two schemas have the same tables and columns, and sqlx's SQLite driver accepts the `$1`
//! placeholders PostgreSQL needs, so every statement is written once. What differs is the driver
//! type behind a connection; [`Conn`] hides it, [`Arg`] carries typed parameters (PostgreSQL wants
//! a type even for a NULL) and [`Get`] reads a row of either kind.

use futures_util::TryStreamExt;
use sqlx::postgres::{PgConnection, PgRow, Postgres};
use sqlx::sqlite::{Sqlite, SqliteConnection, SqliteRow};
use sqlx::{Row as _, query::Query};
use uuid::Uuid;

use crate::error::{Location, StoreError, from_sqlx};

/// A typed statement parameter.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Arg {
    I64(Option<i64>),
    F64(Option<f64>),
    Text(Option<String>),
    /// A text known at compile time (enum names): bound without an allocation.
    Static(&'static str),
    Uuid(Option<Uuid>),
    Bool(bool),
}

impl From<i64> for Arg {
    fn from(v: i64) -> Self {
        Arg::I64(Some(v))
    }
}
impl From<Option<i64>> for Arg {
    fn from(v: Option<i64>) -> Self {
        Arg::I64(v)
    }
}
impl From<f64> for Arg {
    fn from(v: f64) -> Self {
        Arg::F64(Some(v))
    }
}
impl From<String> for Arg {
    fn from(v: String) -> Self {
        Arg::Text(Some(v))
    }
}
impl From<&str> for Arg {
    fn from(v: &str) -> Self {
        Arg::Text(Some(v.to_owned()))
    }
}
impl From<Option<String>> for Arg {
    fn from(v: Option<String>) -> Self {
        Arg::Text(v)
    }
}
impl From<Uuid> for Arg {
    fn from(v: Uuid) -> Self {
        Arg::Uuid(Some(v))
    }
}
impl From<Option<Uuid>> for Arg {
    fn from(v: Option<Uuid>) -> Self {
        Arg::Uuid(v)
    }
}
impl From<bool> for Arg {
    fn from(v: bool) -> Self {
        Arg::Bool(v)
    }
}

type SqliteQuery<'q> = Query<'q, Sqlite, sqlx::sqlite::SqliteArguments<'q>>;
type PgQuery<'q> = Query<'q, Postgres, sqlx::postgres::PgArguments>;

/// SQLite resolves a named parameter (`$7`, and `?7` alike) by walking a list of every name in
/// the statement, so binding the 9,500 parameters of a multi-row `INSERT` costs O(n²) (it was
/// 78% of an import's time). Anonymous `?` parameters bind by position in O(1). Statements whose
/// placeholders are `$1, $2, ...` each once and in order become `?`; others (a placeholder used
/// twice) stay as they are.
fn sqlite_positional(sql: &str) -> std::borrow::Cow<'_, str> {
    let bytes = sql.as_bytes();
    let mut out = String::with_capacity(sql.len());
    let mut next = 1usize;
    let mut last = 0;
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'$' {
            let start = i + 1;
            let mut end = start;
            while end < bytes.len() && bytes[end].is_ascii_digit() {
                end += 1;
            }
            if end > start {
                if sql[start..end].parse::<usize>().ok() != Some(next) {
                    return std::borrow::Cow::Borrowed(sql);
                }
                next += 1;
                out.push_str(&sql[last..i]);
                out.push('?');
                last = end;
                i = end;
                continue;
            }
        }
        i += 1;
    }
    if next == 1 {
        return std::borrow::Cow::Borrowed(sql);
    }
    out.push_str(&sql[last..]);
    std::borrow::Cow::Owned(out)
}

fn bind_sqlite(sql: &str, args: Vec<Arg>) -> SqliteQuery<'_> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = match a {
            Arg::I64(v) => q.bind(v),
            Arg::F64(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Static(v) => q.bind(v),
            Arg::Uuid(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
        };
    }
    q
}

fn bind_pg(sql: &str, args: Vec<Arg>) -> PgQuery<'_> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = match a {
            Arg::I64(v) => q.bind(v),
            Arg::F64(v) => q.bind(v),
            Arg::Text(v) => q.bind(v),
            Arg::Static(v) => q.bind(v),
            Arg::Uuid(v) => q.bind(v),
            Arg::Bool(v) => q.bind(v),
        };
    }
    q
}

/// Reads the columns of a result row by position, on either backend.
pub(crate) trait Get {
    fn i64(&self, i: usize) -> Result<i64, sqlx::Error>;
    fn opt_i64(&self, i: usize) -> Result<Option<i64>, sqlx::Error>;
    fn f64(&self, i: usize) -> Result<f64, sqlx::Error>;
    fn opt_f64(&self, i: usize) -> Result<Option<f64>, sqlx::Error>;
    fn str(&self, i: usize) -> Result<&str, sqlx::Error>;
    fn opt_str(&self, i: usize) -> Result<Option<&str>, sqlx::Error>;
    fn uuid(&self, i: usize) -> Result<Uuid, sqlx::Error>;
    fn opt_uuid(&self, i: usize) -> Result<Option<Uuid>, sqlx::Error>;
    fn bool(&self, i: usize) -> Result<bool, sqlx::Error>;
}

macro_rules! impl_get {
    ($row:ty) => {
        impl Get for $row {
            fn i64(&self, i: usize) -> Result<i64, sqlx::Error> {
                self.try_get(i)
            }
            fn opt_i64(&self, i: usize) -> Result<Option<i64>, sqlx::Error> {
                self.try_get(i)
            }
            fn f64(&self, i: usize) -> Result<f64, sqlx::Error> {
                self.try_get(i)
            }
            fn opt_f64(&self, i: usize) -> Result<Option<f64>, sqlx::Error> {
                self.try_get(i)
            }
            fn str(&self, i: usize) -> Result<&str, sqlx::Error> {
                self.try_get(i)
            }
            fn opt_str(&self, i: usize) -> Result<Option<&str>, sqlx::Error> {
                self.try_get(i)
            }
            fn uuid(&self, i: usize) -> Result<Uuid, sqlx::Error> {
                self.try_get(i)
            }
            fn opt_uuid(&self, i: usize) -> Result<Option<Uuid>, sqlx::Error> {
                self.try_get(i)
            }
            fn bool(&self, i: usize) -> Result<bool, sqlx::Error> {
                self.try_get(i)
            }
        }
    };
}
impl_get!(SqliteRow);
impl_get!(PgRow);

/// A decoder from a row to a value.
pub(crate) type Decode<'f, T> = &'f (dyn Fn(&dyn Get) -> Result<T, StoreError> + Sync);

/// A connection of either backend, with the location for error messages.
pub(crate) struct Conn<'c> {
    pub(crate) raw: RawConn<'c>,
    pub(crate) loc: &'c Location,
}

pub(crate) enum RawConn<'c> {
    Sqlite(&'c mut SqliteConnection),
    Pg(&'c mut PgConnection),
}

impl Conn<'_> {
    pub(crate) fn is_pg(&self) -> bool {
        matches!(self.raw, RawConn::Pg(_))
    }

    /// Runs a statement; returns the number of rows it changed.
    pub(crate) async fn exec(&mut self, sql: &str, args: Vec<Arg>) -> Result<u64, StoreError> {
        let r = match &mut self.raw {
            RawConn::Sqlite(c) => bind_sqlite(&sqlite_positional(sql), args)
                .execute(&mut **c)
                .await
                .map(|r| r.rows_affected()),
            RawConn::Pg(c) => bind_pg(sql, args)
                .execute(&mut **c)
                .await
                .map(|r| r.rows_affected()),
        };
        r.map_err(|e| from_sqlx(self.loc, e))
    }

    /// Runs a statement without parameters and without preparing it (transaction control,
    /// pragmas, `VACUUM`).
    pub(crate) async fn raw(&mut self, sql: &str) -> Result<(), StoreError> {
        use sqlx::Executor as _;
        let r = match &mut self.raw {
            RawConn::Sqlite(c) => c.execute(sqlx::raw_sql(sql)).await.map(|_| ()),
            RawConn::Pg(c) => c.execute(sqlx::raw_sql(sql)).await.map(|_| ()),
        };
        r.map_err(|e| from_sqlx(self.loc, e))
    }

    /// Runs a query and decodes every row as it streams in.
    pub(crate) async fn all<T: Send>(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
        decode: Decode<'_, T>,
    ) -> Result<Vec<T>, StoreError> {
        let mut out = Vec::new();
        self.each(sql, args, &mut |g| {
            out.push(decode(g)?);
            Ok(())
        })
        .await?;
        Ok(out)
    }

    /// Runs a query and hands every row to `f` as it streams in.
    pub(crate) async fn each(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
        f: &mut (dyn FnMut(&dyn Get) -> Result<(), StoreError> + Send),
    ) -> Result<(), StoreError> {
        let loc = self.loc;
        match &mut self.raw {
            RawConn::Sqlite(c) => {
                let sql = sqlite_positional(sql);
                let mut rows = bind_sqlite(&sql, args).fetch(&mut **c);
                while let Some(row) = rows.try_next().await.map_err(|e| from_sqlx(loc, e))? {
                    f(&row)?;
                }
            }
            RawConn::Pg(c) => {
                let mut rows = bind_pg(sql, args).fetch(&mut **c);
                while let Some(row) = rows.try_next().await.map_err(|e| from_sqlx(loc, e))? {
                    f(&row)?;
                }
            }
        }
        Ok(())
    }

    /// Runs a query expected to give at most one row.
    pub(crate) async fn opt<T>(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
        decode: Decode<'_, T>,
    ) -> Result<Option<T>, StoreError> {
        let r = match &mut self.raw {
            RawConn::Sqlite(c) => bind_sqlite(&sqlite_positional(sql), args)
                .fetch_optional(&mut **c)
                .await
                .map_err(|e| from_sqlx(self.loc, e))?
                .map(|row| decode(&row)),
            RawConn::Pg(c) => bind_pg(sql, args)
                .fetch_optional(&mut **c)
                .await
                .map_err(|e| from_sqlx(self.loc, e))?
                .map(|row| decode(&row)),
        };
        r.transpose()
    }

    /// Runs a query that gives exactly one row.
    pub(crate) async fn one<T>(
        &mut self,
        sql: &str,
        args: Vec<Arg>,
        decode: Decode<'_, T>,
    ) -> Result<T, StoreError> {
        self.opt(sql, args, decode)
            .await?
            .ok_or_else(|| StoreError::Internal(format!("{}: query gave no row: {sql}", self.loc)))
    }
}

/// Maps a column read error (the database holds what the schema should not allow).
/// By value so that it can be passed to `map_err` as is.
#[allow(clippy::needless_pass_by_value)]
pub(crate) fn col(e: sqlx::Error) -> StoreError {
    StoreError::corrupt(format!("unreadable column: {e}"))
}

/// `$start, $start+1, ...` (n placeholders) in parentheses: one row of a multi-row `VALUES`.
pub(crate) fn placeholders(out: &mut String, start: usize, n: usize) {
    use std::fmt::Write as _;
    out.push('(');
    for i in 0..n {
        if i > 0 {
            out.push_str(", ");
        }
        // Writing to a String cannot fail.
        let _ = write!(out, "${}", start + i);
    }
    out.push(')');
}

/// `INSERT INTO table (cols) VALUES (...), (...)` for `rows` rows, numbered from `$1`.
pub(crate) fn multi_insert(table: &str, cols: &[&str], rows: usize) -> String {
    let mut sql = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
    for r in 0..rows {
        if r > 0 {
            sql.push_str(", ");
        }
        placeholders(&mut sql, 1 + r * cols.len(), cols.len());
    }
    sql
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_gets_positional_parameters_only_when_in_order() {
        assert_eq!(
            sqlite_positional("INSERT INTO t VALUES ($1, $2), ($3, $4)"),
            "INSERT INTO t VALUES (?, ?), (?, ?)"
        );
        // Reused or out-of-order numbers keep their names.
        let reused = "SELECT 1 WHERE $1 IS NULL OR id = $1";
        assert_eq!(sqlite_positional(reused), reused);
        assert_eq!(sqlite_positional("SELECT $2, $1"), "SELECT $2, $1");
        assert_eq!(sqlite_positional("SELECT 1"), "SELECT 1");
        assert_eq!(sqlite_positional("SELECT $1 || '$'"), "SELECT ? || '$'");
    }

    #[test]
    fn multi_row_insert_numbers_every_parameter_once() {
        assert_eq!(
            multi_insert("t", &["a", "b"], 2),
            "INSERT INTO t (a, b) VALUES ($1, $2), ($3, $4)"
        );
    }
}
