package sqlstore_test

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/sqlstore"
)

// writeHolder holds the first batch of PostgreSQL writes and records the
// kind and size of every batch.
type writeHolder struct {
	queued chan int
	held   chan struct{} // the first batch is being held
	gate   chan struct{}

	mu      sync.Mutex
	batches []string
}

func holdWrites(s *sqlstore.Store) *writeHolder {
	h := &writeHolder{queued: make(chan int, 1000), held: make(chan struct{}), gate: make(chan struct{})}
	sqlstore.BatchHooks(s, 1, nil, nil)
	sqlstore.WriteBatchHooks(s, func(n int) { h.queued <- n }, func(kind string, size int) {
		h.mu.Lock()
		h.batches = append(h.batches, fmt.Sprintf("%s x%d", kind, size))
		first := len(h.batches) == 1
		h.mu.Unlock()
		if first {
			close(h.held)
			<-h.gate
		}
	})
	return h
}

// waitQueued returns once n batched writes have been queued.
func (h *writeHolder) waitQueued(t *testing.T, n int) {
	t.Helper()
	waitLength(t, h.queued, n)
}

func (h *writeHolder) batchList() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.batches...)
}

// TestPostgresBatchedWrites holds one write while services, operations,
// reservations and lease releases of every outcome queue behind it, then
// checks that each kind was committed as one batch and that each caller
// got exactly the outcome its own statement earns: the writes a batch
// statement skips (a conflict, a stale version, a busy service, a server
// held by another operation, a lost lease) run on their own.
func TestPostgresBatchedWrites(t *testing.T) {
	t.Parallel()
	s := newPostgres(t)
	ctx := t.Context()

	// What the writes meet: an existing service, a busy service, a held
	// server and a leased operation.
	existing := &provision.Service{ID: "existing", Kind: provision.KindDedicated, TariffID: 1, Status: billing.StatusOrdered}
	must(t, s.PutService(ctx, existing))
	stale := *existing
	stale.Version = 7
	missing := &provision.Service{ID: "missing", Kind: provision.KindDedicated, Version: 1, Status: billing.StatusActive}
	fencedSvc := &provision.Service{ID: "fenced", Kind: provision.KindDedicated, TariffID: 1, Status: billing.StatusOrdered}
	must(t, s.PutService(ctx, fencedSvc))
	refusedSvc := &provision.Service{ID: "refused", Kind: provision.KindDedicated, TariffID: 1, Status: billing.StatusOrdered}
	must(t, s.PutService(ctx, refusedSvc))
	leasedOp(t, s, "busy-op", "busy-svc", provision.StateRunning)
	leasedOp(t, s, "held", "svc-held", provision.StateRunning)
	must(t, s.Reserve(ctx, provision.Reservation{Backend: "dc", ServerID: "taken", OperationID: "held", ServiceID: "svc-held"}))
	must(t, s.Reserve(ctx, provision.Reservation{Backend: "dc", ServerID: "mine", OperationID: "held", ServiceID: "svc-held"}))
	leasedOp(t, s, "lease-ok", "svc-lease-ok", provision.StateRunning)
	leasedOp(t, s, "lease-other", "svc-lease-other", provision.StateRunning)

	b0, n0 := sqlstore.WriteBatchStats(s) // the writes above, each alone
	h := holdWrites(s)
	type call struct {
		name string
		do   func() error
		want error // nil: success
	}
	odd := `{"q":"a\"b","bs":"c\\d","br":"{1,2}","u":"☃ ü","nl":"x\ny"}`
	newSvc := func(id string) func() error {
		return func() error {
			return s.PutService(ctx, &provision.Service{ID: id, Kind: provision.KindDedicated, TariffID: 3, AccountID: 9,
				Owner: `o"wn\er`, Module: "dc1", Status: billing.StatusOrdered, Properties: map[string]string{"p": odd}, Error: "NULL"})
		}
	}
	updated := *existing
	updated.Owner, updated.Status = "new owner", billing.StatusActive
	newOp := func(id, svc string) func() error {
		return func() error {
			return s.CreateOperation(ctx, &provision.Operation{ID: id, ServiceID: svc, Kind: provision.OpOpen,
				Step: "start", Data: []byte(odd), Worker: "w", Attempts: 1, State: provision.StateRunning,
				LeaseUntil: time.Now().Add(time.Hour)})
		}
	}
	reserve := func(server, op string) func() error {
		return func() error {
			return s.Reserve(ctx, provision.Reservation{Backend: "dc", ServerID: server, OperationID: op, ServiceID: "svc-" + op})
		}
	}
	fencedReserve := func(f provision.Fence, server, op string) func() error {
		return func() error {
			return s.ReserveFenced(ctx, f, provision.Reservation{Backend: "dc", ServerID: server, OperationID: op, ServiceID: "svc-" + op})
		}
	}
	calls := []call{
		{"insert a", newSvc("a"), nil},
		{"insert b", newSvc("b"), nil},
		{"insert existing", newSvc("existing"), provision.ErrExists},
		{"update", func() error { return s.PutService(ctx, &updated) }, nil},
		{"update stale", func() error { return s.PutService(ctx, &stale) }, provision.ErrConflict},
		{"update missing", func() error { return s.PutService(ctx, missing) }, provision.ErrNotFound},
		{"update fenced", func() error {
			fencedSvc.Status = billing.StatusProcessing
			return s.PutServiceFenced(ctx, provision.Fence{OperationID: "held", Worker: "w", Token: 1}, fencedSvc)
		}, nil},
		{"update fenced, older claim", func() error {
			refusedSvc.Status = billing.StatusProcessing
			return s.PutServiceFenced(ctx, provision.Fence{OperationID: "held", Worker: "w", Token: 0}, refusedSvc)
		}, provision.ErrLeaseLost},
		{"create c", newOp("op-c", "svc-c"), nil},
		{"create d", newOp("op-d", "svc-d"), nil},
		{"create existing id", newOp("held", "svc-other"), provision.ErrExists},
		{"create on busy", newOp("op-busy-2", "busy-svc"), provision.ErrBusy},
		{"create e", newOp("op-e", "svc-e"), nil},
		{"create e again", newOp("op-e2", "svc-e"), provision.ErrBusy}, // busy with op-e, in the same batch
		{"reserve free", reserve("free", "op-c"), nil},
		{"reserve taken", reserve("taken", "op-d"), provision.ErrReserved},
		{"reserve own", reserve("mine", "held"), nil},
		{"reserve fenced", fencedReserve(provision.Fence{OperationID: "held", Worker: "w", Token: 1}, "free2", "held"), nil},
		{"reserve fenced, older claim", fencedReserve(provision.Fence{OperationID: "held", Worker: "w", Token: 0}, "free3", "held"), provision.ErrLeaseLost},
		{"reserve fenced, taken", fencedReserve(provision.Fence{OperationID: "busy-op", Worker: "w", Token: 1}, "taken", "busy-op"), provision.ErrReserved},
		{"release", func() error { return s.ReleaseLease(ctx, "lease-ok", "w", 1) }, nil},
		{"release other worker", func() error { return s.ReleaseLease(ctx, "lease-other", "x", 1) }, provision.ErrLeaseLost},
		{"release missing", func() error { return s.ReleaseLease(ctx, "nope", "w", 1) }, provision.ErrNotFound},
	}

	lead := make(chan error, 1)
	go func() { lead <- newSvc("lead")() }()
	<-h.held
	<-h.queued // the lead's own arrival; it has left the queue since
	errs := make([]chan error, len(calls))
	for i, c := range calls {
		errs[i] = make(chan error, 1)
		go func() { errs[i] <- c.do() }()
		h.waitQueued(t, i+1) // in this order: the batches follow the queue
	}
	close(h.gate)
	must(t, <-lead)
	for i, c := range calls {
		err := <-errs[i]
		switch {
		case c.want == nil && err != nil:
			t.Errorf("%s: %v", c.name, err)
		case c.want != nil && !errors.Is(err, c.want):
			t.Errorf("%s: %v, want %v", c.name, err, c.want)
		}
	}
	// Two updates of one service never share a batch: the stale copy
	// follows in a batch of its own.
	want := []string{"insert service x1", "insert service x3", "update service x2", "update service x1",
		"update service fenced x2", "create operation x6", "reserve x3", "reserve-fenced x3", "release lease x3"}
	if got := h.batchList(); strings.Join(got, ", ") != strings.Join(want, ", ") {
		t.Errorf("batches %v, want %v", got, want)
	}

	// What the batches wrote reads back as written.
	for _, id := range []string{"a", "b", "lead"} {
		sv, err := s.GetService(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if sv.Version != 1 || sv.Owner != `o"wn\er` || sv.Properties["p"] != odd || sv.Error != "NULL" || sv.AccountID != 9 || sv.CreatedAt.IsZero() {
			t.Errorf("service %s stored as %+v", id, sv)
		}
	}
	if sv, err := s.GetService(ctx, "existing"); err != nil || sv.Version != 2 || sv.Owner != "new owner" || updated.Version != 2 {
		t.Errorf("updated service stored as %+v (%v), caller's version %d", sv, err, updated.Version)
	}
	for _, id := range []string{"op-c", "op-d", "op-e"} {
		op, err := s.GetOperation(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if op.Version != 1 || string(op.Data) != odd || op.Worker != "w" || op.LeaseUntil.IsZero() || op.State != provision.StateRunning {
			t.Errorf("operation %s stored as %+v", id, op)
		}
	}
	if sv, err := s.GetService(ctx, "fenced"); err != nil || sv.Version != 2 || sv.Status != billing.StatusProcessing || fencedSvc.Version != 2 {
		t.Errorf("fenced update stored as %+v (%v), caller's version %d", sv, err, fencedSvc.Version)
	}
	if sv, err := s.GetService(ctx, "refused"); err != nil || sv.Version != 1 || sv.Status != billing.StatusOrdered || refusedSvc.Version != 1 {
		t.Errorf("a refused fenced update stored %+v (%v), caller's version %d", sv, err, refusedSvc.Version)
	}
	if op, err := s.GetOperation(ctx, "lease-ok"); err != nil || op.Worker != "" || !op.LeaseUntil.IsZero() {
		t.Errorf("released operation stored as %+v (%v)", op, err)
	}
	if op, err := s.GetOperation(ctx, "lease-other"); err != nil || op.Worker != "w" {
		t.Errorf("a release by another worker changed %+v (%v)", op, err)
	}
	rs, err := s.Reservations(ctx, "dc")
	if err != nil {
		t.Fatal(err)
	}
	holders := map[string]string{}
	for _, r := range rs {
		holders[r.ServerID] = r.OperationID
	}
	if holders["free"] != "op-c" || holders["taken"] != "held" || holders["mine"] != "held" || holders["free2"] != "held" || len(holders) != 4 {
		t.Errorf("reservations %v", holders)
	}
	if b, n := sqlstore.WriteBatchStats(s); b-b0 != 9 || n-n0 != int64(len(calls)+1) {
		t.Errorf("WriteBatchStats = %d batches, %d writes since the setup; want 9, %d", b-b0, n-n0, len(calls)+1)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestPostgresBatchedWritesRefused: a batch the database refuses as a
// whole (here a NUL character, which PostgreSQL text cannot hold) writes
// nothing, and each of its writes then runs on its own: only the bad one
// fails.
func TestPostgresBatchedWritesRefused(t *testing.T) {
	t.Parallel()
	s := newPostgres(t)
	ctx := t.Context()
	h := holdWrites(s)
	put := func(id, owner string) chan error {
		ch := make(chan error, 1)
		go func() {
			ch <- s.PutService(ctx, &provision.Service{ID: id, Kind: provision.KindDedicated, Owner: owner, Status: billing.StatusOrdered})
		}()
		return ch
	}
	lead := put("lead", "ann")
	<-h.held
	<-h.queued
	var errs []chan error
	for i, owner := range []string{"bob", "nul\x00owner", "cy"} {
		errs = append(errs, put(fmt.Sprintf("s%d", i), owner))
		h.waitQueued(t, i+1)
	}
	close(h.gate)
	must(t, <-lead)
	for i, ch := range errs {
		err := <-ch
		if (err != nil) != (i == 1) {
			t.Errorf("s%d: %v", i, err)
		}
	}
	if _, _, refused := sqlstore.BatchStats(s); refused != 1 {
		t.Errorf("refused batches %d, want 1", refused)
	}
	if got := h.batchList(); strings.Join(got, ", ") != "insert service x1, insert service x3" {
		t.Errorf("batches %v", got)
	}
	for _, id := range []string{"s0", "s2"} {
		if _, err := s.GetService(ctx, id); err != nil {
			t.Errorf("%s: %v", id, err)
		}
	}
	if _, err := s.GetService(ctx, "s1"); !errors.Is(err, provision.ErrNotFound) {
		t.Errorf("s1: %v, want ErrNotFound", err)
	}
}
