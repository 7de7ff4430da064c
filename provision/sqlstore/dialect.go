package sqlstore

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Dialect selects the SQL flavour the Store speaks. The library imports no
// driver: the caller registers one (modernc.org/sqlite for SQLite,
// github.com/jackc/pgx/v5/stdlib for PostgreSQL) and passes the *sql.DB.
type Dialect int

// Supported dialects.
const (
	// SQLite is the embedded default (one machine; several processes on the
	// same file are safe but serialize their writes).
	SQLite Dialect = iota + 1
	// Postgres is for several workers on several machines sharing the work.
	Postgres
)

// String returns "sqlite" or "postgres".
func (d Dialect) String() string {
	switch d {
	case SQLite:
		return "sqlite"
	case Postgres:
		return "postgres"
	}
	return "Dialect(" + strconv.Itoa(int(d)) + ")"
}

func (d Dialect) valid() bool { return d == SQLite || d == Postgres }

// expand turns the dialect-neutral SQL used in this package into the
// dialect's own: {{...}} macros are replaced and, for PostgreSQL, the ?
// placeholders become $1, $2, ... (no SQL text here contains a literal ?).
//
// Macros:
//
//	{{time}}        column type of a timestamp (INTEGER unix µs / TIMESTAMPTZ)
//	{{seqpk}}       an increasing surrogate primary key
//	{{now}}         the current time; consumes one argument (nowArg)
//	{{lease}}       now + lease; consumes two arguments (nowArg, lease in µs)
//	{{skiplocked}}  FOR UPDATE SKIP LOCKED on PostgreSQL, nothing on SQLite
func (d Dialect) expand(q string) string {
	var r *strings.Replacer
	switch d {
	case Postgres:
		r = strings.NewReplacer(
			"{{time}}", "TIMESTAMPTZ",
			"{{seqpk}}", "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY",
			// A NULL argument means "the database's clock": PostgreSQL
			// leases never depend on the workers' clocks.
			"{{now}}", "COALESCE(?::timestamptz, now())",
			"{{lease}}", "(COALESCE(?::timestamptz, now()) + ?::bigint * interval '1 microsecond')",
			"{{skiplocked}}", "FOR UPDATE SKIP LOCKED",
			"{{share}}", "FOR SHARE",
		)
	default:
		r = strings.NewReplacer(
			"{{time}}", "INTEGER",
			"{{seqpk}}", "INTEGER PRIMARY KEY AUTOINCREMENT",
			"{{now}}", "?",
			"{{lease}}", "(? + ?)",
			"{{skiplocked}}", "",
			"{{share}}", "",
		)
	}
	q = r.Replace(q)
	if d != Postgres {
		return q
	}
	var b strings.Builder
	n := 0
	for _, c := range q {
		if c == '?' {
			n++
			b.WriteByte('$')
			b.WriteString(strconv.Itoa(n))
			continue
		}
		b.WriteRune(c)
	}
	return b.String()
}

// nowArg is the argument for a {{now}} macro: the store's clock on SQLite,
// NULL (the database's clock) on PostgreSQL.
func (s *Store) nowArg() any {
	if s.dialect == Postgres {
		return nil
	}
	return s.clock().UnixMicro()
}

// timeArg encodes t for a timestamp column (NULL for the zero time).
func (s *Store) timeArg(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	if s.dialect == Postgres {
		return t.UTC()
	}
	return t.UnixMicro()
}

// createdArg is the argument for a {{now}} macro that keeps a caller's
// non-zero creation time.
func (s *Store) createdArg(t time.Time) any {
	if t.IsZero() {
		return s.nowArg()
	}
	return s.timeArg(t)
}

// dbTime scans a timestamp column of either dialect (unix µs integer,
// time.Time or NULL) into a UTC time.Time (zero for NULL).
type dbTime struct{ t *time.Time }

func (d dbTime) Scan(src any) error {
	switch v := src.(type) {
	case nil:
		*d.t = time.Time{}
	case int64:
		*d.t = time.UnixMicro(v).UTC()
	case time.Time:
		*d.t = v.UTC()
	case float64:
		*d.t = time.UnixMicro(int64(v)).UTC()
	default:
		return fmt.Errorf("sqlstore: cannot scan %T into a time", src)
	}
	return nil
}
