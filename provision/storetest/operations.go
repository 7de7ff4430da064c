package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/ispkit/ispkit/provision"
)

var operationTests = []subtest{
	{"CreateAndGet", testCreateAndGet},
	{"CreateEmptyID", testCreateEmptyID},
	{"CreateDuplicate", testCreateDuplicate},
	{"GetMissing", testGetMissing},
	{"Update", testUpdate},
	{"UpdateStale", testUpdateStale},
	{"UpdateMissing", testUpdateMissing},
	{"Copies", testOperationCopies},
	{"List", testListOperations},
}

func testCreateAndGet(t *testing.T, s provision.Store) {
	before := time.Now()
	op := newOp("op-1", "svc-1", provision.OpOpen, provision.StatePending)
	op.Error = "last attempt: timeout"
	want := op.Clone()
	create(t, s, op)
	if op.Version != 1 {
		t.Fatalf("Version after create = %d, want 1", op.Version)
	}
	if op.CreatedAt.IsZero() || op.UpdatedAt.IsZero() {
		t.Fatalf("CreatedAt/UpdatedAt not set on the argument: %v / %v", op.CreatedAt, op.UpdatedAt)
	}
	if !near(op.CreatedAt, before) {
		t.Fatalf("CreatedAt = %v, want about %v", op.CreatedAt, before)
	}
	got := get(t, s, "op-1")
	want.Version = 1
	sameOp(t, "GetOperation", got, want)
	if !got.CreatedAt.Equal(op.CreatedAt) || !got.UpdatedAt.Equal(op.UpdatedAt) {
		t.Fatalf("stored CreatedAt/UpdatedAt %v/%v differ from the ones set on the argument %v/%v",
			got.CreatedAt, got.UpdatedAt, op.CreatedAt, op.UpdatedAt)
	}
	if got.Worker != "" || !got.LeaseUntil.IsZero() {
		t.Fatalf("new operation has a lease: %q until %v", got.Worker, got.LeaseUntil)
	}
}

func testCreateEmptyID(t *testing.T, s provision.Store) {
	a := create(t, s, newOp("", "svc-1", provision.OpOpen, provision.StatePending))
	b := create(t, s, newOp("", "svc-2", provision.OpOpen, provision.StatePending))
	if a.ID == "" || b.ID == "" || a.ID == b.ID {
		t.Fatalf("generated ids %q and %q: want two distinct non-empty ids", a.ID, b.ID)
	}
	sameOp(t, "GetOperation(generated id)", get(t, s, a.ID), a)
}

func testCreateDuplicate(t *testing.T, s provision.Store) {
	first := create(t, s, newOp("op-1", "svc-1", provision.OpOpen, provision.StatePending))
	dup := newOp("op-1", "svc-2", provision.OpClose, provision.StateDone)
	wantErr(t, "CreateOperation(duplicate)", s.CreateOperation(t.Context(), dup), provision.ErrExists)
	sameOp(t, "after a duplicate create", get(t, s, "op-1"), first)
}

func testGetMissing(t *testing.T, s provision.Store) {
	_, err := s.GetOperation(t.Context(), "nope")
	wantErr(t, "GetOperation(missing)", err, provision.ErrNotFound)
}

func testUpdate(t *testing.T, s provision.Store) {
	op := create(t, s, newOp("op-1", "svc-1", provision.OpOpen, provision.StatePending))
	created := op.UpdatedAt
	op.Step = "install"
	op.State = provision.StateRunning
	setField(&op.Data, "server", "srv-7")
	op.Error = "retrying"
	if err := s.UpdateOperation(t.Context(), op); err != nil {
		t.Fatalf("UpdateOperation: %v", err)
	}
	if op.Version != 2 {
		t.Fatalf("Version set on the argument = %d, want 2", op.Version)
	}
	got := get(t, s, "op-1")
	sameOp(t, "after UpdateOperation", got, op)
	if got.UpdatedAt.Before(created) || !got.CreatedAt.Equal(op.CreatedAt) {
		t.Fatalf("timestamps after update: created %v (was %v), updated %v (was %v)", got.CreatedAt, op.CreatedAt, got.UpdatedAt, created)
	}
	op.State = provision.StateDone
	op.Step = ""
	if err := s.UpdateOperation(t.Context(), op); err != nil {
		t.Fatalf("second UpdateOperation: %v", err)
	}
	if op.Version != 3 {
		t.Fatalf("Version after two updates = %d, want 3", op.Version)
	}
	sameOp(t, "after the second update", get(t, s, "op-1"), op)
}

func testUpdateStale(t *testing.T, s provision.Store) {
	op := create(t, s, newOp("op-1", "svc-1", provision.OpOpen, provision.StatePending))
	stale := op.Clone()
	op.Step = "second"
	if err := s.UpdateOperation(t.Context(), op); err != nil {
		t.Fatalf("UpdateOperation: %v", err)
	}
	before := get(t, s, "op-1")
	stale.Step = "clobber"
	setField(&stale.Data, "x", "y")
	wantErr(t, "UpdateOperation(stale version)", s.UpdateOperation(t.Context(), stale), provision.ErrConflict)
	if stale.Version != 1 {
		t.Fatalf("a failed update changed the argument's Version to %d", stale.Version)
	}
	after := get(t, s, "op-1")
	sameOp(t, "after a conflicting update", after, before)
	if !after.UpdatedAt.Equal(before.UpdatedAt) {
		t.Fatalf("a conflicting update changed UpdatedAt")
	}
	future := op.Clone()
	future.Version = op.Version + 5
	wantErr(t, "UpdateOperation(future version)", s.UpdateOperation(t.Context(), future), provision.ErrConflict)
}

func testUpdateMissing(t *testing.T, s provision.Store) {
	op := newOp("nope", "svc-1", provision.OpOpen, provision.StatePending)
	op.Version = 1
	wantErr(t, "UpdateOperation(missing)", s.UpdateOperation(t.Context(), op), provision.ErrNotFound, provision.ErrConflict)
	if _, err := s.GetOperation(t.Context(), "nope"); err == nil {
		t.Fatalf("UpdateOperation of a missing operation created it")
	}
}

func testOperationCopies(t *testing.T, s provision.Store) {
	ctx := t.Context()
	op := create(t, s, newOp("op-1", "svc-1", provision.OpOpen, provision.StatePending))
	want := op.Clone()
	// The store keeps no reference to the argument...
	scribble(op.Input)
	scribble(op.Data)
	op.Step = "changed"
	sameOp(t, "after changing the created argument", get(t, s, "op-1"), want)
	// ... nor to what it returns.
	g := get(t, s, "op-1")
	scribble(g.Input)
	scribble(g.Data)
	list, err := s.ListOperations(ctx, provision.OperationFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("ListOperations = %d ops, %v", len(list), err)
	}
	scribble(list[0].Data)
	list[0].State = provision.StateDone
	c := claim(t, s, "w1", longLease)
	want = get(t, s, "op-1")
	scribble(c.Data)
	scribble(c.Input)
	sameOp(t, "after changing returned values", get(t, s, "op-1"), want)
	if field(want.Input, "password") != "s3cret" || field(want.Data, "module") != "dci6" || len(fields(want.Data)) != 1 {
		t.Fatalf("stored JSON changed through returned values: Input %s Data %s", want.Input, want.Data)
	}
	// An updated argument is not kept either.
	upd := want.Clone()
	setField(&upd.Data, "server", "srv-1")
	if err := s.UpdateOperation(ctx, upd); err != nil {
		t.Fatalf("UpdateOperation: %v", err)
	}
	scribble(upd.Data)
	if got := get(t, s, "op-1"); field(got.Data, "server") != "srv-1" {
		t.Fatalf("Data server = %q after changing the updated argument, want srv-1", field(got.Data, "server"))
	}
}

func testListOperations(t *testing.T, s provision.Store) {
	ctx := t.Context()
	for _, op := range []*provision.Operation{
		newOp("a", "svc-1", provision.OpOpen, provision.StatePending),
		newOp("b", "svc-1", provision.OpSuspend, provision.StateDone),
		newOp("c", "svc-2", provision.OpOpen, provision.StateFailed),
		newOp("d", "svc-2", provision.OpClose, provision.StateRunning),
		newOp("e", "svc-3", provision.OpReinstall, provision.StatePending),
	} {
		create(t, s, op)
	}
	cases := []struct {
		name string
		f    provision.OperationFilter
		want []string
	}{
		{"all", provision.OperationFilter{}, []string{"a", "b", "c", "d", "e"}},
		{"service", provision.OperationFilter{ServiceID: "svc-1"}, []string{"a", "b"}},
		{"state", provision.OperationFilter{States: []provision.OperationState{provision.StatePending}}, []string{"a", "e"}},
		{"states", provision.OperationFilter{States: []provision.OperationState{provision.StateDone, provision.StateFailed}}, []string{"b", "c"}},
		{"unfinished", provision.OperationFilter{States: []provision.OperationState{provision.StatePending, provision.StateRunning}}, []string{"a", "d", "e"}},
		{"kind", provision.OperationFilter{Kinds: []provision.OperationKind{provision.OpOpen}}, []string{"a", "c"}},
		{"kinds", provision.OperationFilter{Kinds: []provision.OperationKind{provision.OpClose, provision.OpReinstall}}, []string{"d", "e"}},
		{"service+kind", provision.OperationFilter{ServiceID: "svc-2", Kinds: []provision.OperationKind{provision.OpClose}}, []string{"d"}},
		{"service+state", provision.OperationFilter{ServiceID: "svc-2", States: []provision.OperationState{provision.StatePending}}, nil},
		{"all three", provision.OperationFilter{ServiceID: "svc-1", States: []provision.OperationState{provision.StatePending}, Kinds: []provision.OperationKind{provision.OpOpen}}, []string{"a"}},
		{"unknown service", provision.OperationFilter{ServiceID: "nope"}, nil},
	}
	for _, c := range cases {
		ops, err := s.ListOperations(ctx, c.f)
		if err != nil {
			t.Fatalf("ListOperations(%s): %v", c.name, err)
		}
		if got := opIDs(ops); !slices.Equal(got, c.want) && !(len(got) == 0 && len(c.want) == 0) {
			t.Errorf("ListOperations(%s) = %v, want %v", c.name, got, c.want)
		}
	}
	ops, _ := s.ListOperations(ctx, provision.OperationFilter{ServiceID: "svc-3"})
	if len(ops) == 1 {
		sameOp(t, "listed operation", ops[0], get(t, s, "e"))
	}
}
