package store

import (
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"net/url"
	"strings"

	"modernc.org/sqlite" // Also registers the "sqlite" driver.
	sqlite3 "modernc.org/sqlite/lib"
)

// openSQLite opens (creating if needed) the SQLite database at path: a
// pool of one connection for writes, so that SQLite never sees two
// writers, and one of eight for reads, which thanks to WAL never wait for
// the writer.
func openSQLite(path string) (read, write *sql.DB, err error) {
	// busy_timeout must come first so that it already applies while the
	// other pragmas (journal_mode needs a lock) are being set.
	q := url.Values{}
	q.Add("_pragma", "busy_timeout(10000)")
	q.Add("_pragma", "journal_mode(WAL)")
	q.Add("_pragma", "foreign_keys(ON)")
	q.Add("_pragma", "synchronous(FULL)")
	q.Add("_txlock", "immediate")
	// SQLite decodes percent-escapes in a "file:" URI's path, and would
	// read a "?" or "#" in it as the start of the query or fragment.
	escaped := strings.NewReplacer("%", "%25", "?", "%3f", "#", "%23").Replace(path)
	dsn := "file:" + escaped + "?" + q.Encode()

	write, err = sql.Open("sqlite", dsn)
	if err != nil {
		return nil, nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	write.SetMaxOpenConns(1)
	write.SetConnMaxIdleTime(0)

	read, err = sql.Open("sqlite", dsn)
	if err != nil {
		write.Close()
		return nil, nil, fmt.Errorf("store: open %s: %w", path, err)
	}
	read.SetMaxOpenConns(8)
	return read, write, nil
}

// sqliteDialect is the dialect of SQLite: the store's SQL is written in
// its placeholders already.
type sqliteDialect struct{}

func (sqliteDialect) bind(query string, args []any) (string, []any, error) { return query, args, nil }

func (sqliteDialect) greatest(a, b string) string { return "max(" + a + ", " + b + ")" }
func (sqliteDialect) least(a, b string) string    { return "min(" + a + ", " + b + ")" }
func (sqliteDialect) like() string                { return "LIKE" }
func (sqliteDialect) fold(expr string) string     { return expr + " COLLATE NOCASE" }
func (sqliteDialect) position(haystack, needle string) string {
	return "instr(" + haystack + ", " + needle + ")"
}

func (sqliteDialect) inStrings(col string, values []string) (string, any, error) {
	list, err := json.Marshal(values)
	if err != nil {
		return "", nil, err
	}
	return col + " IN (SELECT value FROM json_each(?))", string(list), nil
}

func (sqliteDialect) skipLocked(string) string { return "" }

// The read-write transactions begin IMMEDIATE (the DSN's _txlock), which
// takes the write lock at once rather than on the first write, so that
// two transactions never both read and then fail to upgrade.
func (sqliteDialect) writeTx() *sql.TxOptions { return nil }
func (sqliteDialect) readTx() *sql.TxOptions  { return &sql.TxOptions{ReadOnly: true} }
func (sqliteDialect) queueTx() *sql.TxOptions { return nil }

func (sqliteDialect) retryable(error) bool { return false }

func (sqliteDialect) noSpace(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code()&0xff == sqlite3.SQLITE_FULL
}

func (sqliteDialect) uniqueViolation(err error) bool {
	var se *sqlite.Error
	return errors.As(err, &se) && se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE
}
