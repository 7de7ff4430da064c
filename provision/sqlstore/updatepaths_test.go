package sqlstore_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// TestUpdatePaths goes through every path an UpdateOperation can take on
// each database: a step that keeps the state, service and kind (SQLite's
// updateOpStep), changes of each of those (the full update), a finish,
// and the refusals (stale version, older token, unknown id), alone and
// in concurrent batches. After each, the stored row and the indexes that
// read it (by service, the claim, one unfinished operation per service)
// must agree with what was written.
func TestUpdatePaths(t *testing.T) {
	for _, c := range dbCases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			ctx := t.Context()
			s, err := sqlstore.New(c.open(t)(), c.dialect)
			if err != nil {
				t.Fatal(err)
			}
			byService := func(svc string) []string {
				t.Helper()
				ops, err := s.ListOperations(ctx, provision.OperationFilter{ServiceID: svc})
				if err != nil {
					t.Fatal(err)
				}
				var ids []string
				for _, o := range ops {
					ids = append(ids, o.ID)
				}
				return ids
			}

			// stored checks the stored row against op's fields.
			stored := func(what string, op *provision.Operation) {
				t.Helper()
				got, err := s.GetOperation(ctx, op.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got.ServiceID != op.ServiceID || got.Kind != op.Kind || got.State != op.State || got.Step != op.Step ||
					got.Version != op.Version || string(got.Data) != string(op.Data) {
					t.Errorf("after the %s: stored %+v, want %+v", what, got, op)
				}
			}

			op := leasedOp(t, s, "op", "svc-a", provision.StateRunning)
			// A step: only step and data change.
			op.Step, op.Data = "claim", []byte(`{"v":2}`)
			if err := s.UpdateOperation(ctx, op); err != nil || op.Version != 2 {
				t.Fatalf("step update: %v, version %d", err, op.Version)
			}
			stored("step", op)
			// A new service, same state: the row moves in the service index.
			op.ServiceID, op.Step = "svc-b", "moved"
			if err := s.UpdateOperation(ctx, op); err != nil || op.Version != 3 {
				t.Fatalf("service change: %v, version %d", err, op.Version)
			}
			stored("service change", op)
			if got := byService("svc-a"); len(got) != 0 {
				t.Errorf("svc-a still lists %v", got)
			}
			if got := byService("svc-b"); len(got) != 1 || got[0] != "op" {
				t.Errorf("svc-b lists %v, want [op]", got)
			}
			// The one-unfinished rule follows the move: svc-a is free, svc-b busy.
			wantErr(t, "second unfinished op of svc-b", s.CreateOperation(ctx, &provision.Operation{ID: "other-b", ServiceID: "svc-b",
				Kind: provision.OpOpen, State: provision.StatePending}), provision.ErrBusy)
			if err := s.CreateOperation(ctx, &provision.Operation{ID: "other-a", ServiceID: "svc-a", Kind: provision.OpOpen,
				State: provision.StateDone}); err != nil {
				t.Fatal(err)
			}
			// A new kind, same state.
			op.Kind, op.Step = provision.OpSuspend, "kind"
			if err := s.UpdateOperation(ctx, op); err != nil {
				t.Fatalf("kind change: %v", err)
			}
			stored("kind change", op)
			// Back to pending: state changes, the lease stays.
			op.State, op.Step = provision.StatePending, "again"
			if err := s.UpdateOperation(ctx, op); err != nil {
				t.Fatalf("state change: %v", err)
			}
			stored("state change", op)
			got, err := s.GetOperation(ctx, "op")
			if err != nil {
				t.Fatal(err)
			}
			if got.ServiceID != "svc-b" || got.Kind != provision.OpSuspend || got.State != provision.StatePending ||
				got.Step != "again" || got.Worker != "w" || got.Version != 5 || string(got.Data) != `{"v":2}` {
				t.Errorf("stored %+v", got)
			}

			// Refusals, on a step that keeps the state (SQLite first tries
			// updateOpStep, which then matches nothing, then updateOp).
			stale := *op
			stale.Version--
			stale.Step = "stale"
			wantErr(t, "stale version", s.UpdateOperation(ctx, &stale), provision.ErrConflict)
			old := *op
			old.Attempts--
			old.Step = "old token"
			wantErr(t, "older token", s.UpdateOperation(ctx, &old), provision.ErrLeaseLost)
			unknown := *op
			unknown.ID = "nope"
			if err := s.UpdateOperation(ctx, &unknown); !errors.Is(err, provision.ErrNotFound) && !errors.Is(err, provision.ErrConflict) {
				t.Errorf("unknown id: %v", err)
			}
			if got, _ := s.GetOperation(ctx, "op"); got.Step != "again" || got.Version != 5 {
				t.Errorf("a refused update was written: %+v", got)
			}

			// A finish ends the lease; the claim no longer sees the operation.
			op.State, op.Step = provision.StateDone, "done"
			if err := s.UpdateOperation(ctx, op); err != nil {
				t.Fatalf("finish: %v", err)
			}
			if op.Worker != "" || !op.LeaseUntil.IsZero() {
				t.Errorf("finished with lease %q until %v", op.Worker, op.LeaseUntil)
			}
			if _, err := s.ClaimOperation(ctx, "w2", longLease); !errors.Is(err, provision.ErrNoWork) {
				t.Errorf("claim after the finish: %v, want ErrNoWork", err)
			}

			// Concurrent batches mixing every path: each caller gets its own
			// outcome and the rows say the same.
			const n = 24
			ops := make([]*provision.Operation, n)
			for i := range ops {
				ops[i] = leasedOp(t, s, fmt.Sprintf("b%02d", i), fmt.Sprintf("sb%02d", i), provision.StateRunning)
			}
			errs := make([]error, n)
			var wg sync.WaitGroup
			for i, o := range ops {
				wg.Go(func() {
					u := *o
					switch i % 4 {
					case 0: // a step
						u.Step = "step"
					case 1: // a finish
						u.State, u.Step = provision.StateFailed, "failed"
					case 2: // a stale copy
						u.Version--
						u.Step = "stale"
					case 3: // a new service
						u.ServiceID, u.Step = o.ServiceID+"-moved", "moved"
					}
					errs[i] = s.UpdateOperation(ctx, &u)
				})
			}
			wg.Wait()
			for i, o := range ops {
				got, err := s.GetOperation(ctx, o.ID)
				if err != nil {
					t.Fatal(err)
				}
				switch i % 4 {
				case 0:
					if errs[i] != nil || got.Step != "step" || got.State != provision.StateRunning || got.Version != 2 {
						t.Errorf("%s step: %v, stored %+v", o.ID, errs[i], got)
					}
				case 1:
					if errs[i] != nil || got.State != provision.StateFailed || got.Worker != "" || got.Version != 2 {
						t.Errorf("%s finish: %v, stored %+v", o.ID, errs[i], got)
					}
				case 2:
					if !errors.Is(errs[i], provision.ErrConflict) || got.Step != o.Step || got.Version != 1 {
						t.Errorf("%s stale: %v, stored %+v", o.ID, errs[i], got)
					}
				case 3:
					if errs[i] != nil || got.ServiceID != o.ServiceID+"-moved" || got.Version != 2 {
						t.Errorf("%s move: %v, stored %+v", o.ID, errs[i], got)
					}
					if ids := byService(o.ServiceID + "-moved"); len(ids) != 1 {
						t.Errorf("%s: moved service lists %v", o.ID, ids)
					}
				}
			}
		})
	}
}

// TestPostgresOperationsFillfactor: the operations table keeps room in its
// pages for in-place updates (schema version 4).
func TestPostgresOperationsFillfactor(t *testing.T) {
	t.Parallel()
	dsn, schema := pgSchemaFor(t)
	db := openPostgresDB(t, dsn, schema, 2)
	if _, err := sqlstore.New(db, sqlstore.Postgres); err != nil {
		t.Fatal(err)
	}
	var opts []byte
	err := db.QueryRow(`SELECT COALESCE(array_to_string(reloptions, ','), '') FROM pg_class
		WHERE oid = 'ispkit_operations'::regclass`).Scan(&opts)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(opts), "fillfactor=50") {
		t.Errorf("ispkit_operations options %q, want fillfactor=50", opts)
	}
}

// longLease never expires during a test.
const longLease = 10 * time.Minute

// wantErr fails t unless err is target.
func wantErr(t *testing.T, what string, err, target error) {
	t.Helper()
	if !errors.Is(err, target) {
		t.Errorf("%s: %v, want %v", what, err, target)
	}
}

// TestSQLiteBatchWhoseTransactionEnds: a write in a batch fails with an
// error that ends SQLite's whole transaction (a trigger raising ROLLBACK
// stands for a full disk or an I/O error). That call gets its own error
// and writes nothing; the calls before and after it in the batch are
// written; the store goes on working.
func TestSQLiteBatchWhoseTransactionEnds(t *testing.T) {
	t.Parallel()
	ctx := t.Context()
	path := sqlitePath(t)
	s := newSQLite(t, path)
	if _, err := s.DB().ExecContext(ctx, `CREATE TRIGGER boom BEFORE UPDATE ON ispkit_operations
		WHEN NEW.step = 'boom' BEGIN SELECT RAISE(ROLLBACK, 'boom'); END`); err != nil {
		t.Fatal(err)
	}
	h := holdBatches(s, 1)
	lead := leasedOp(t, s, "lead", "svc-lead", provision.StateRunning)
	ops := []*provision.Operation{
		leasedOp(t, s, "a", "svc-a", provision.StateRunning),
		leasedOp(t, s, "b", "svc-b", provision.StateRunning),
		leasedOp(t, s, "c", "svc-c", provision.StateRunning),
	}
	ops[0].Step, ops[1].Step, ops[2].Step = "fine", "boom", "fine"

	release := h.hold(1)
	lead.Step = "user"
	leadErr := update(ctx, s, lead)
	h.waitStarted(t, 1)
	var errs []<-chan error
	for _, op := range ops {
		errs = append(errs, update(ctx, s, op))
	}
	h.waitQueued(t, len(ops))
	close(release)
	if err := <-leadErr; err != nil {
		t.Fatal(err)
	}
	for i, ch := range errs {
		err := <-ch
		got, gerr := s.GetOperation(ctx, ops[i].ID)
		if gerr != nil {
			t.Fatal(gerr)
		}
		if ops[i].Step == "boom" {
			// Its own error, nothing stored.
			if err == nil || !strings.Contains(err.Error(), "boom") || got.Version != 1 {
				t.Errorf("%s: %v, stored %+v; want its own error and nothing stored", ops[i].ID, err, got)
			}
			continue
		}
		// The others are written: the failed call is left out and the
		// batch runs again without it.
		if err != nil || got.Version != 2 || got.Step != ops[i].Step {
			t.Errorf("%s: %v, stored %+v; want it written", ops[i].ID, err, got)
		}
	}
	if _, _, r := sqlstore.BatchStats(s); r != 1 {
		t.Errorf("refused batches = %d, want 1 (the light transaction)", r)
	}
	// The store still works: a fresh write is committed.
	ops[0].Step = "after"
	if err := s.UpdateOperation(ctx, ops[0]); err != nil {
		t.Fatalf("update after the failed batch: %v", err)
	}
	if got, err := s.GetOperation(ctx, "a"); err != nil || got.Step != "after" {
		t.Fatalf("after the failed batch: %+v, %v", got, err)
	}
}
