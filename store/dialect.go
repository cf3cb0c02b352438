package store

import (
	"context"
	"database/sql"
	"errors"
)

// A dialect is what differs between the two engines the store runs on,
// SQLite and PostgreSQL, for the SQL that the store writes once for both.
//
// Every query is one text, written in the subset of SQL that both engines
// accept (INSERT ... ON CONFLICT, RETURNING, CTEs, coalesce, nullif,
// CASE, || and so on), with SQLite's placeholders: "?" for positional
// arguments and ":name" for sql.Named ones. The dialect binds that text to
// its engine (bind), and supplies the few fragments that no common
// spelling covers; a query that needs one builds its text with the
// fragment, so that the text stays the same for each engine and call.
//
// The reasons for one text rather than a set of queries per engine are in
// the README (Configuration, PostgreSQL).
type dialect interface {
	// bind returns the query and arguments to send to the engine.
	bind(query string, args []any) (string, []any, error)

	// greatest and least are the larger and the smaller of two values:
	// SQLite's scalar max(a, b) and min(a, b), PostgreSQL's GREATEST and
	// LEAST.
	greatest(a, b string) string
	least(a, b string) string
	// like is the operator that matches a LIKE pattern ignoring the case
	// of ASCII letters: LIKE on SQLite, ILIKE on PostgreSQL (whose LIKE
	// is case-sensitive). Text columns on PostgreSQL are COLLATE "C",
	// under which ILIKE folds ASCII letters only, as SQLite's LIKE does.
	like() string
	// fold is expr compared and ordered ignoring the case of ASCII
	// letters: expr COLLATE NOCASE on SQLite, lower(expr) on PostgreSQL
	// (ASCII only under COLLATE "C"). Indexes are built on the same
	// expression, so that lookups and orders use them.
	fold(expr string) string
	// position is where needle first occurs in haystack, from 1, or 0:
	// SQLite's instr, PostgreSQL's strpos.
	position(haystack, needle string) string
	// inStrings is a condition that col is one of values, with the one
	// argument it takes: a JSON array read with json_each on SQLite, a
	// text[] compared with = ANY on PostgreSQL.
	inStrings(col string, values []string) (string, any, error)
	// skipLocked is the clause that ends a SELECT which claims rows from
	// a queue: FOR UPDATE SKIP LOCKED on PostgreSQL, so that concurrent
	// claimers take different rows without waiting for each other, and
	// nothing on SQLite, whose one writer claims alone. of names the
	// table whose rows are locked.
	skipLocked(of string) string

	// writeTx, readTx and queueTx are the options of the transactions of
	// inWrite, inRead and inQueue.
	writeTx() *sql.TxOptions
	readTx() *sql.TxOptions
	queueTx() *sql.TxOptions
	// retryable reports whether a write transaction that failed with err
	// may be run again from the start: a serialization failure or a
	// deadlock on PostgreSQL. SQLite's single writer never has them.
	retryable(err error) bool
	// noSpace reports whether err is the engine's "disk full".
	noSpace(err error) bool
	// uniqueViolation reports whether err is the violation of a unique
	// constraint or index.
	uniqueViolation(err error) bool
}

// querier runs queries: a transaction of the store (*txn) in every store
// method, since it applies the dialect.
type querier interface {
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

// txn is a transaction of the store: a *sql.Tx whose queries are bound by
// the dialect, so that store methods pass SQLite-style text and arguments
// whatever the engine. d gives the fragments that differ.
type txn struct {
	tx *sql.Tx
	d  dialect
}

// ExecContext is sql.Tx.ExecContext with the query bound by the dialect.
func (t *txn) ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error) {
	q, a, err := t.d.bind(query, args)
	if err != nil {
		return nil, err
	}
	return t.tx.ExecContext(ctx, q, a...)
}

// QueryContext is sql.Tx.QueryContext with the query bound by the dialect.
func (t *txn) QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error) {
	q, a, err := t.d.bind(query, args)
	if err != nil {
		return nil, err
	}
	return t.tx.QueryContext(ctx, q, a...)
}

// QueryRowContext is sql.Tx.QueryRowContext with the query bound by the
// dialect. A query that cannot be bound fails at Scan.
func (t *txn) QueryRowContext(ctx context.Context, query string, args ...any) row {
	q, a, err := t.d.bind(query, args)
	if err != nil {
		return row{err: err}
	}
	return row{r: t.tx.QueryRowContext(ctx, q, a...)}
}

// row is the result of txn.QueryRowContext.
type row struct {
	r   *sql.Row
	err error
}

// Scan is sql.Row.Scan, or the error that kept the query from running.
func (r row) Scan(dest ...any) error {
	if r.err != nil {
		return r.err
	}
	return r.r.Scan(dest...)
}

// errMixedArgs is returned by bind for a query given both positional and
// named arguments, which the store never writes.
var errMixedArgs = errors.New("store: a query takes positional or named arguments, not both")
