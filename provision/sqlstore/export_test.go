package sqlstore

import "context"

// BatchHooks installs test hooks on s's group commit: onQueued runs after
// an UpdateOperation call joined the queue (with the queue's length),
// onBatch before a batch is committed (with its size; blocking in it holds
// the batch). committers, if positive, sets how many batches may be in
// flight at once. Call it before s is used concurrently.
func BatchHooks(s *Store, committers int, onQueued, onBatch func(int)) {
	if committers > 0 {
		s.gc.slots = committers
	}
	s.gc.onQueued, s.gc.onBatch = onQueued, onBatch
}

// BatchStats reports how many batches s committed, how many
// UpdateOperation calls they carried, and how many batches the database
// refused as a whole (PostgreSQL: their calls then ran one by one;
// SQLite: the batch ran again with a savepoint per call).
func BatchStats(s *Store) (batches, updates, refused int64) {
	return s.gc.batches.Load(), s.gc.updates.Load(), s.gc.refused.Load()
}

// TextArray exposes textArray.
var TextArray = textArray

// SQLiteBusy exposes sqliteBusy.
var SQLiteBusy = sqliteBusy

// BreakWriter discards the Store's SQLite write connection, with the
// statements prepared on it, as a ROLLBACK that failed does.
func BreakWriter(s *Store) error {
	return s.withWriter(context.Background(), func(p *pinned) error {
		p.discard()
		return nil
	})
}

// WriteBatchHooks installs test hooks for the batched PostgreSQL writes:
// onQueued runs after such a write joined the queue (with how many are
// queued), onBatch before a batch of them is committed (with its kind and
// size; blocking in it holds the batch). Call it before s is used
// concurrently.
func WriteBatchHooks(s *Store, onQueued func(int), onBatch func(kind string, size int)) {
	s.gc.onWriteQueued, s.gc.onWriteBatch = onQueued, onBatch
}

// WriteBatchStats reports how many batches of PostgreSQL writes s
// committed and how many writes they carried.
func WriteBatchStats(s *Store) (batches, writes int64) {
	return s.gc.writeBatches.Load(), s.gc.writes.Load()
}

// FencedStatements exposes the fenced write statements by name: the single
// ReserveFenced and its batched form (PostgreSQL), UnreserveFenced, and
// PutServiceFenced's create, update and batched update.
func FencedStatements(s *Store) map[string]string {
	return map[string]string{
		"reserve": s.q.reserveFenced, "reserve-batched": pgReserveFenced.stmt, "unreserve": s.q.unreserveFenced,
		"create-service": s.q.insertServiceFenced, "update-service": s.q.updateServiceFenced,
		"update-service-batched": pgUpdateServiceFenced.stmt,
	}
}
