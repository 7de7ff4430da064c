package sqlstore_test

import (
	"fmt"
	"sync"
	"testing"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// hammer runs creates, reads, lists and updates of n operations at once.
func hammer(t *testing.T, s provision.Store, n int) {
	t.Helper()
	ctx := t.Context()
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			op := &provision.Operation{ID: fmt.Sprintf("op-%d", i), ServiceID: fmt.Sprintf("svc-%d", i),
				Kind: provision.OpOpen, State: provision.StateRunning, Step: "reserve", Worker: "w", Attempts: 1}
			if err := s.CreateOperation(ctx, op); err != nil {
				t.Errorf("create %d: %v", i, err)
				return
			}
			if _, err := s.GetOperation(ctx, op.ID); err != nil {
				t.Errorf("get %d: %v", i, err)
			}
			if _, err := s.ListOperations(ctx, provision.OperationFilter{ServiceID: op.ServiceID}); err != nil {
				t.Errorf("list %d: %v", i, err)
			}
			op.Step = "user"
			if err := s.UpdateOperation(ctx, op); err != nil {
				t.Errorf("update %d: %v", i, err)
			}
			if err := s.ReleaseLease(ctx, op.ID, "w", 1); err != nil {
				t.Errorf("release %d: %v", i, err)
			}
		})
	}
	wg.Wait()
}

// TestSQLiteKeepsItsConnections: under a burst of concurrent calls the
// Store uses at most one write and four read connections of the pool, and
// keeps them (the pool closes none for being idle beyond its limit of two,
// which is what opening one per call under load did), and Close gives
// them back.
func TestSQLiteKeepsItsConnections(t *testing.T) {
	t.Parallel()
	s := newSQLite(t, sqlitePath(t))
	db := s.DB()
	hammer(t, s, 200)
	st := db.Stats()
	if st.OpenConnections > 5 || st.MaxIdleClosed != 0 {
		t.Errorf("pool: %d open, %d closed as idle; want at most 5 open and none closed", st.OpenConnections, st.MaxIdleClosed)
	}
	if st.InUse == 0 {
		t.Errorf("no connection kept by the Store")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if st := db.Stats(); st.InUse != 0 {
		t.Errorf("%d connections still in use after Close", st.InUse)
	}
	if _, err := s.GetOperation(t.Context(), "op-1"); err == nil {
		t.Error("GetOperation on a closed Store succeeded")
	}
}

// TestSQLiteSmallPool: a pool limited to one or two connections still
// serves every call (reads share the write connection), from migration on.
func TestSQLiteSmallPool(t *testing.T) {
	t.Parallel()
	for _, max := range []int{1, 2, 3} {
		t.Run(fmt.Sprint(max), func(t *testing.T) {
			t.Parallel()
			db := openSQLiteDB(t, sqlitePath(t))
			db.SetMaxOpenConns(max)
			s, err := sqlstore.New(db, sqlstore.SQLite)
			if err != nil {
				t.Fatal(err)
			}
			hammer(t, s, 50)
			if got := db.Stats().InUse; got >= max && max > 1 {
				t.Errorf("the Store holds %d of %d connections, want one left to the caller", got, max)
			}
			ops, err := s.ListOperations(t.Context(), provision.OperationFilter{})
			if err != nil || len(ops) != 50 {
				t.Fatalf("ListOperations: %d, %v", len(ops), err)
			}
		})
	}
}

// TestSQLiteBrokenWriteConnection: a write connection given up (as after
// a ROLLBACK that failed) is dropped without touching the statements
// prepared on it, and the next write opens a new one.
func TestSQLiteBrokenWriteConnection(t *testing.T) {
	t.Parallel()
	s := newSQLite(t, sqlitePath(t))
	hammer(t, s, 8) // statements prepared on the write connection
	if err := sqlstore.BreakWriter(s); err != nil {
		t.Fatal(err)
	}
	ctx := t.Context()
	op := &provision.Operation{ID: "after", ServiceID: "svc-after", Kind: provision.OpOpen, State: provision.StatePending, Step: "reserve"}
	if err := s.CreateOperation(ctx, op); err != nil {
		t.Fatalf("write after the broken connection: %v", err)
	}
	if got, err := s.GetOperation(ctx, "after"); err != nil || got.Version != 1 {
		t.Fatalf("GetOperation: %+v, %v", got, err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
}
