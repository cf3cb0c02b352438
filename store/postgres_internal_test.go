package store

import (
	"database/sql"
	"errors"
	"reflect"
	"testing"
)

func TestRewritePlaceholders(t *testing.T) {
	for _, tt := range []struct {
		description string
		query, want string
		names       []string
	}{
		{"positional", `SELECT a FROM t WHERE b = ? AND c IN (?, ?)`, `SELECT a FROM t WHERE b = $1 AND c IN ($2, $3)`, nil},
		{"named, one number per name", `UPDATE t SET a = :a, b = coalesce(:b, b) WHERE :a IS NULL OR a_b = :a_b`,
			`UPDATE t SET a = $1, b = coalesce($2, b) WHERE $1 IS NULL OR a_b = $3`, []string{"a", "b", "a_b"}},
		{"quoted text and identifiers", `SELECT '?', 'it''s :x', "col?" FROM t WHERE a LIKE ? ESCAPE '\'`,
			`SELECT '?', 'it''s :x', "col?" FROM t WHERE a LIKE $1 ESCAPE '\'`, nil},
		{"comments", "SELECT 1 -- what? :x\n, ? /* and ? :y */", "SELECT 1 -- what? :x\n, $1 /* and ? :y */", nil},
		{"casts", `SELECT ?::text[], '12:00'::time`, `SELECT $1::text[], '12:00'::time`, nil},
		{"none", `SELECT count(*) FROM links`, `SELECT count(*) FROM links`, nil},
	} {
		t.Run(tt.description, func(t *testing.T) {
			got, err := rewritePlaceholders(tt.query)
			if err != nil {
				t.Fatal(err)
			}
			if got.text != tt.want || !reflect.DeepEqual(got.names, tt.names) {
				t.Errorf("rewritePlaceholders(%q)\n got=%q %v\nwant=%q %v", tt.query, got.text, got.names, tt.want, tt.names)
			}
		})
	}
	if _, err := rewritePlaceholders(`SELECT ? WHERE a = :a`); !errors.Is(err, errMixedArgs) {
		t.Errorf("mixed placeholders: %v, want errMixedArgs", err)
	}
}

func TestPostgresBind(t *testing.T) {
	d := &pgDialect{}
	q, args, err := d.bind(`SELECT :b, :a, :b`, []any{sql.Named("a", 1), sql.Named("b", 2), sql.Named("unused", 3)})
	if err != nil || q != `SELECT $1, $2, $1` || !reflect.DeepEqual(args, []any{2, 1}) {
		t.Errorf("named: %q %v %v", q, args, err)
	}
	// Cached, the same again.
	if q2, _, _ := d.bind(`SELECT :b, :a, :b`, []any{sql.Named("a", 1), sql.Named("b", 2)}); q2 != q {
		t.Errorf("cached: %q, want %q", q2, q)
	}
	if _, _, err := d.bind(`SELECT :a`, []any{sql.Named("b", 1)}); err == nil {
		t.Errorf("a missing name was bound")
	}
	if _, _, err := d.bind(`SELECT ?`, []any{sql.Named("a", 1)}); !errors.Is(err, errMixedArgs) {
		t.Errorf("a named argument for a positional query: %v, want errMixedArgs", err)
	}
	if q, args, err := d.bind(`SELECT count(*) FROM t`, []any{sql.Named("now", 1)}); err != nil || q != `SELECT count(*) FROM t` || len(args) != 0 {
		t.Errorf("unused named argument: %q %v %v", q, args, err)
	}
}
