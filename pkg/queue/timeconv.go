package queue

import (
	"database/sql"
	"time"
)

// ns stores a time as unix nanoseconds.
func ns(t time.Time) int64 { return t.UnixNano() }

// nullNS stores a time as unix nanoseconds, the zero time as NULL.
func nullNS(t time.Time) sql.NullInt64 {
	if t.IsZero() {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: t.UnixNano(), Valid: true}
}

// knownBy is when something happened, as known at now: t, or now when t is
// unknown (zero) or later than now (it cannot have happened yet).
func knownBy(t, now time.Time) time.Time {
	if t.IsZero() || t.After(now) {
		return now
	}
	return t
}

// fromNS reads unix nanoseconds back, in UTC.
func fromNS(v int64) time.Time { return time.Unix(0, v).UTC() }

// fromNullNS reads a nullable time; NULL is the zero time.
func fromNullNS(v sql.NullInt64) time.Time {
	if !v.Valid {
		return time.Time{}
	}
	return fromNS(v.Int64)
}

// ptrNS reads a nullable time as a pointer (nil for NULL), as the API wants it.
func ptrNS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromNS(v.Int64)
	return &t
}
