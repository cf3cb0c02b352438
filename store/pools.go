package store

import "database/sql"

// Pools returns the store's connection pools by name, for the metrics:
// "read" and "write" when they are two (SQLite: one writer connection
// beside the readers), or the one "db" when reads and writes share a
// pool.
func (s *Store) Pools() map[string]*sql.DB {
	if s.read == s.write {
		return map[string]*sql.DB{"db": s.read}
	}
	return map[string]*sql.DB{"read": s.read, "write": s.write}
}
