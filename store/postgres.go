package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/stdlib"
)

// IsPostgres reports whether dsn names a PostgreSQL database (a
// postgres:// or postgresql:// URL) rather than a SQLite file.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// postgresMaxConns is how many connections one store opens to PostgreSQL
// at most. Each instance of uplink has its own pool, so that three
// instances stay well under PostgreSQL's default max_connections (100).
const postgresMaxConns = 16

// openPostgres opens a pool of connections to the PostgreSQL database at
// dsn, through pgx's database/sql driver so that the store's scanning code
// is the same for both engines, and checks that the server answers.
func openPostgres(ctx context.Context, dsn string) (*sql.DB, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		// The error may quote the URL, password included.
		return nil, errors.New("store: invalid PostgreSQL URL")
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(postgresMaxConns)
	db.SetMaxIdleConns(postgresMaxConns)
	db.SetConnMaxIdleTime(5 * time.Minute)
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		// pgx's error names the server, user and database, never the
		// password.
		return nil, fmt.Errorf("store: connect to PostgreSQL: %w", err)
	}
	return db, nil
}

// pgDialect is the dialect of PostgreSQL.
type pgDialect struct {
	// queries caches each query text rewritten for PostgreSQL, by its
	// SQLite text; cached counts them, so that the cache stays bounded
	// even if some caller built texts without end.
	queries sync.Map // string → *pgQuery
	cached  atomic.Int64
}

// maxCachedQueries bounds pgDialect.queries. The store has a few hundred
// distinct texts; the dynamic ones (filters, IN lists) add a few each.
const maxCachedQueries = 4096

// pgQuery is a query rewritten with PostgreSQL's placeholders.
type pgQuery struct {
	text string
	// names holds, for a query with named arguments, the name bound to
	// each of $1, $2, ...; positional counts the "?" of a query with
	// positional arguments. A query has one kind or the other.
	names      []string
	positional int
}

func (d *pgDialect) bind(query string, args []any) (string, []any, error) {
	var q *pgQuery
	if v, ok := d.queries.Load(query); ok {
		q = v.(*pgQuery)
	} else {
		var err error
		if q, err = rewritePlaceholders(query); err != nil {
			return "", nil, err
		}
		if d.cached.Load() < maxCachedQueries {
			if _, loaded := d.queries.LoadOrStore(query, q); !loaded {
				d.cached.Add(1)
			}
		}
	}
	if q.positional > 0 {
		for _, a := range args {
			if _, ok := a.(sql.NamedArg); ok {
				return "", nil, errMixedArgs
			}
		}
		return q.text, args, nil
	}
	// Named arguments that the query does not use are left out, as
	// SQLite ignores them: a query built from optional parts may be
	// given them all.
	named := make(map[string]any, len(args))
	for _, a := range args {
		na, ok := a.(sql.NamedArg)
		if !ok {
			return "", nil, errMixedArgs
		}
		named[na.Name] = na.Value
	}
	out := make([]any, len(q.names))
	for i, name := range q.names {
		v, ok := named[name]
		if !ok {
			return "", nil, fmt.Errorf("store: no argument for :%s", name)
		}
		out[i] = v
	}
	return q.text, out, nil
}

// rewritePlaceholders turns SQLite's placeholders into PostgreSQL's: the
// n-th "?" into $n, and each distinct ":name" into one $n, in the order
// the names first appear. Quoted strings and identifiers, comments, and
// PostgreSQL's "::" casts are copied as they are.
func rewritePlaceholders(query string) (*pgQuery, error) {
	var (
		b          strings.Builder
		names      []string
		index      = map[string]int{}
		positional int
	)
	b.Grow(len(query) + 16)
	for i := 0; i < len(query); {
		c := query[i]
		next := byte(0)
		if i+1 < len(query) {
			next = query[i+1]
		}
		switch {
		case c == '\'' || c == '"':
			// A quote inside is written twice, which this reads as the
			// end of one quoted run and the start of the next.
			j := strings.IndexByte(query[i+1:], c)
			if j < 0 {
				j = len(query)
			} else {
				j += i + 2
			}
			b.WriteString(query[i:j])
			i = j
		case c == '-' && next == '-':
			j := strings.IndexByte(query[i:], '\n')
			if j < 0 {
				j = len(query)
			} else {
				j += i
			}
			b.WriteString(query[i:j])
			i = j
		case c == '/' && next == '*':
			j := strings.Index(query[i+2:], "*/")
			if j < 0 {
				j = len(query)
			} else {
				j += i + 4
			}
			b.WriteString(query[i:j])
			i = j
		case c == ':' && next == ':':
			b.WriteString("::")
			i += 2
		case c == ':' && isIdentStart(next):
			j := i + 1
			for j < len(query) && (isIdentStart(query[j]) || query[j] >= '0' && query[j] <= '9') {
				j++
			}
			name := query[i+1 : j]
			n, ok := index[name]
			if !ok {
				names = append(names, name)
				n = len(names)
				index[name] = n
			}
			b.WriteString("$" + strconv.Itoa(n))
			i = j
		case c == '?':
			positional++
			b.WriteString("$" + strconv.Itoa(positional))
			i++
		default:
			b.WriteByte(c)
			i++
		}
	}
	if positional > 0 && len(names) > 0 {
		return nil, errMixedArgs
	}
	return &pgQuery{text: b.String(), names: names, positional: positional}, nil
}

func isIdentStart(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c == '_'
}

func (*pgDialect) greatest(a, b string) string { return "GREATEST(" + a + ", " + b + ")" }
func (*pgDialect) least(a, b string) string    { return "LEAST(" + a + ", " + b + ")" }
func (*pgDialect) like() string                { return "ILIKE" }
func (*pgDialect) fold(expr string) string     { return "lower(" + expr + ")" }
func (*pgDialect) position(haystack, needle string) string {
	return "strpos(" + haystack + ", " + needle + ")"
}

func (*pgDialect) inStrings(col string, values []string) (string, any, error) {
	if values == nil {
		values = []string{}
	}
	return col + " = ANY(?)", values, nil
}

func (*pgDialect) skipLocked(of string) string { return " FOR UPDATE OF " + of + " SKIP LOCKED" }

// Writes are SERIALIZABLE, so that every invariant that held with
// SQLite's single writer (a link's slots, the sign-in throttle, an
// upload's parts) holds with many writers too, without a lock per query:
// PostgreSQL fails one of two transactions that could not have run one
// after the other, and inWrite runs it again. Reads see one snapshot.
// Queue claims run READ COMMITTED with FOR UPDATE SKIP LOCKED (inQueue).
func (*pgDialect) writeTx() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelSerializable}
}

func (*pgDialect) readTx() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelRepeatableRead, ReadOnly: true}
}

func (*pgDialect) queueTx() *sql.TxOptions {
	return &sql.TxOptions{Isolation: sql.LevelReadCommitted}
}

// PostgreSQL's error codes that the store acts on
// (https://www.postgresql.org/docs/current/errcodes-appendix.html).
const (
	pgSerializationFailure = "40001"
	pgDeadlockDetected     = "40P01"
	pgDiskFull             = "53100"
	pgUniqueViolation      = "23505"
)

func (*pgDialect) retryable(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && (pe.Code == pgSerializationFailure || pe.Code == pgDeadlockDetected)
}

func (*pgDialect) noSpace(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgDiskFull
}

func (*pgDialect) uniqueViolation(err error) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == pgUniqueViolation
}
