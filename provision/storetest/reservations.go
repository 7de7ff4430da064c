package storetest

import (
	"slices"
	"sort"
	"testing"
	"time"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/provision"
)

var reservationTests = []subtest{
	{"ReserveAndList", testReserveAndList},
	{"SameOperation", testReserveSameOperation},
	{"OtherOperation", testReserveOtherOperation},
	{"PerBackend", testReservePerBackend},
	{"Unreserve", testUnreserve},
}

var serviceTests = []subtest{
	{"PutAndGet", testPutAndGet},
	{"PutExisting", testPutExisting},
	{"Update", testServiceUpdate},
	{"UpdateStale", testServiceStale},
	{"UpdateMissing", testServiceUpdateMissing},
	{"GetMissing", testServiceGetMissing},
	{"Copies", testServiceCopies},
	{"List", testListServices},
}

func res(backend, server, op string) provision.Reservation {
	return provision.Reservation{Backend: backend, ServerID: server, OperationID: op, ServiceID: "svc-" + op}
}

func reservations(t *testing.T, s provision.Store, backend string) []provision.Reservation {
	t.Helper()
	rs, err := s.Reservations(t.Context(), backend)
	if err != nil {
		t.Fatalf("Reservations(%q): %v", backend, err)
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].ServerID < rs[j].ServerID })
	return rs
}

// holders returns "server=operation" pairs, sorted by server.
func holders(rs []provision.Reservation) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ServerID + "=" + r.OperationID
	}
	return out
}

func reserve(t *testing.T, s provision.Store, r provision.Reservation) {
	t.Helper()
	if err := s.Reserve(t.Context(), r); err != nil {
		t.Fatalf("Reserve(%s/%s for %s): %v", r.Backend, r.ServerID, r.OperationID, err)
	}
}

func testReserveAndList(t *testing.T, s provision.Store) {
	before := time.Now()
	reserve(t, s, res("dci6", "srv-2", "op-1"))
	reserve(t, s, res("dci6", "srv-1", "op-2"))
	rs := reservations(t, s, "dci6")
	if got := holders(rs); !slices.Equal(got, []string{"srv-1=op-2", "srv-2=op-1"}) {
		t.Fatalf("Reservations = %v", got)
	}
	r := rs[1]
	if r.Backend != "dci6" || r.ServiceID != "svc-op-1" || !near(r.CreatedAt, before) {
		t.Fatalf("stored reservation %+v: want backend dci6, service svc-op-1, CreatedAt about %v", r, before)
	}
	if rs := reservations(t, s, "other"); len(rs) != 0 {
		t.Fatalf("Reservations(other) = %v, want none", holders(rs))
	}
	// The returned slice is a copy.
	rs[0].OperationID = "changed"
	if got := holders(reservations(t, s, "dci6")); got[0] != "srv-1=op-2" {
		t.Fatalf("changing a returned reservation changed the store: %v", got)
	}
}

func testReserveSameOperation(t *testing.T, s provision.Store) {
	reserve(t, s, res("dci6", "srv-1", "op-1"))
	// A retry after a crash reserves again: fine for the same operation.
	reserve(t, s, res("dci6", "srv-1", "op-1"))
	if got := holders(reservations(t, s, "dci6")); !slices.Equal(got, []string{"srv-1=op-1"}) {
		t.Fatalf("Reservations after re-reserving = %v", got)
	}
}

func testReserveOtherOperation(t *testing.T, s provision.Store) {
	reserve(t, s, res("dci6", "srv-1", "op-1"))
	wantErr(t, "Reserve by another operation", s.Reserve(t.Context(), res("dci6", "srv-1", "op-2")), provision.ErrReserved)
	if got := holders(reservations(t, s, "dci6")); !slices.Equal(got, []string{"srv-1=op-1"}) {
		t.Fatalf("Reservations after a refused reserve = %v", got)
	}
}

func testReservePerBackend(t *testing.T, s provision.Store) {
	reserve(t, s, res("dci5", "srv-1", "op-1"))
	// The same server id in another panel is another server.
	reserve(t, s, res("dci6", "srv-1", "op-2"))
	if got := holders(reservations(t, s, "dci5")); !slices.Equal(got, []string{"srv-1=op-1"}) {
		t.Fatalf("Reservations(dci5) = %v", got)
	}
	if got := holders(reservations(t, s, "dci6")); !slices.Equal(got, []string{"srv-1=op-2"}) {
		t.Fatalf("Reservations(dci6) = %v", got)
	}
	if err := s.Unreserve(t.Context(), "dci5", "srv-1", "op-1"); err != nil {
		t.Fatalf("Unreserve(dci5): %v", err)
	}
	if got := holders(reservations(t, s, "dci6")); !slices.Equal(got, []string{"srv-1=op-2"}) {
		t.Fatalf("Reservations(dci6) after unreserving in dci5 = %v", got)
	}
}

func testUnreserve(t *testing.T, s provision.Store) {
	ctx := t.Context()
	reserve(t, s, res("dci6", "srv-1", "op-1"))
	reserve(t, s, res("dci6", "srv-2", "op-2"))
	wantErr(t, "Unreserve by another operation", s.Unreserve(ctx, "dci6", "srv-1", "op-2"), provision.ErrReserved)
	if err := s.Unreserve(ctx, "dci6", "srv-1", "op-1"); err != nil {
		t.Fatalf("Unreserve by the holder: %v", err)
	}
	if got := holders(reservations(t, s, "dci6")); !slices.Equal(got, []string{"srv-2=op-2"}) {
		t.Fatalf("Reservations after Unreserve = %v", got)
	}
	if err := s.Unreserve(ctx, "dci6", "srv-1", "op-1"); err != nil {
		t.Fatalf("Unreserve of a free server: %v", err)
	}
	if err := s.Unreserve(ctx, "dci6", "srv-9", "op-9"); err != nil {
		t.Fatalf("Unreserve of an unknown server: %v", err)
	}
	// A freed server can be taken by another operation.
	reserve(t, s, res("dci6", "srv-1", "op-3"))
	if got := holders(reservations(t, s, "dci6")); !slices.Equal(got, []string{"srv-1=op-3", "srv-2=op-2"}) {
		t.Fatalf("Reservations after re-reserving a freed server = %v", got)
	}
}

// ---- services ----

func newService(id string, status billing.Status, module, owner string) *provision.Service {
	return &provision.Service{
		ID: id, Kind: provision.KindDedicated, TariffID: 7, AccountID: 42, Owner: owner,
		Module: module, Status: status,
		Properties: map[string]string{"server_id": "srv-" + id, "ip": "192.0.2.10"},
	}
}

func put(t *testing.T, s provision.Store, sv *provision.Service) *provision.Service {
	t.Helper()
	if err := s.PutService(t.Context(), sv); err != nil {
		t.Fatalf("PutService(%q, version %d): %v", sv.ID, sv.Version, err)
	}
	return sv
}

func getService(t *testing.T, s provision.Store, id string) *provision.Service {
	t.Helper()
	sv, err := s.GetService(t.Context(), id)
	if err != nil {
		t.Fatalf("GetService(%q): %v", id, err)
	}
	return sv
}

func sameService(t *testing.T, what string, got, want *provision.Service) {
	t.Helper()
	if got.ID != want.ID || got.Kind != want.Kind || got.TariffID != want.TariffID || got.AccountID != want.AccountID ||
		got.Owner != want.Owner || got.Module != want.Module || got.Status != want.Status ||
		!sameMap(got.Properties, want.Properties) || got.Error != want.Error || got.Version != want.Version {
		t.Fatalf("%s:\n got  %+v\n want %+v", what, *got, *want)
	}
}

func testPutAndGet(t *testing.T, s provision.Store) {
	before := time.Now()
	sv := newService("svc-1", billing.StatusProcessing, "dci6", "alice")
	sv.Error = "no server"
	want := sv.Clone()
	put(t, s, sv)
	if sv.Version != 1 {
		t.Fatalf("Version after create = %d, want 1", sv.Version)
	}
	if !near(sv.CreatedAt, before) || sv.UpdatedAt.IsZero() {
		t.Fatalf("CreatedAt/UpdatedAt set on the argument: %v / %v", sv.CreatedAt, sv.UpdatedAt)
	}
	want.Version = 1
	got := getService(t, s, "svc-1")
	sameService(t, "GetService", got, want)
	if !got.CreatedAt.Equal(sv.CreatedAt) || !got.UpdatedAt.Equal(sv.UpdatedAt) {
		t.Fatalf("stored timestamps %v/%v differ from the argument's %v/%v", got.CreatedAt, got.UpdatedAt, sv.CreatedAt, sv.UpdatedAt)
	}
}

func testPutExisting(t *testing.T, s provision.Store) {
	first := put(t, s, newService("svc-1", billing.StatusProcessing, "dci6", "alice"))
	again := newService("svc-1", billing.StatusActive, "dci5", "bob")
	wantErr(t, "PutService(Version 0) of an existing id", s.PutService(t.Context(), again), provision.ErrExists)
	sameService(t, "after a refused create", getService(t, s, "svc-1"), first)
}

func testServiceUpdate(t *testing.T, s provision.Store) {
	sv := put(t, s, newService("svc-1", billing.StatusProcessing, "dci6", "alice"))
	created := sv.CreatedAt
	sv.Status = billing.StatusActive
	sv.Properties["login"] = "alice1"
	sv.Error = ""
	put(t, s, sv)
	if sv.Version != 2 {
		t.Fatalf("Version after update = %d, want 2", sv.Version)
	}
	got := getService(t, s, "svc-1")
	sameService(t, "after update", got, sv)
	if !got.CreatedAt.Equal(created) || got.UpdatedAt.Before(created) {
		t.Fatalf("timestamps after update: created %v (was %v), updated %v", got.CreatedAt, created, got.UpdatedAt)
	}
}

func testServiceStale(t *testing.T, s provision.Store) {
	sv := put(t, s, newService("svc-1", billing.StatusProcessing, "dci6", "alice"))
	stale := sv.Clone()
	sv.Status = billing.StatusActive
	put(t, s, sv)
	stale.Status = billing.StatusDeleted
	wantErr(t, "PutService(stale version)", s.PutService(t.Context(), stale), provision.ErrConflict)
	sameService(t, "after a conflicting put", getService(t, s, "svc-1"), sv)
}

func testServiceUpdateMissing(t *testing.T, s provision.Store) {
	sv := newService("nope", billing.StatusActive, "dci6", "alice")
	sv.Version = 3
	wantErr(t, "PutService(Version 3) of a missing id", s.PutService(t.Context(), sv), provision.ErrNotFound, provision.ErrConflict)
	if _, err := s.GetService(t.Context(), "nope"); err == nil {
		t.Fatalf("PutService with a version created the service")
	}
}

func testServiceGetMissing(t *testing.T, s provision.Store) {
	_, err := s.GetService(t.Context(), "nope")
	wantErr(t, "GetService(missing)", err, provision.ErrNotFound)
}

func testServiceCopies(t *testing.T, s provision.Store) {
	sv := put(t, s, newService("svc-1", billing.StatusProcessing, "dci6", "alice"))
	want := sv.Clone()
	sv.Properties["ip"] = "changed"
	sv.Status = billing.StatusDeleted
	sameService(t, "after changing the argument", getService(t, s, "svc-1"), want)
	g := getService(t, s, "svc-1")
	g.Properties["ip"] = "changed"
	list, err := s.ListServices(t.Context(), provision.ServiceFilter{})
	if err != nil || len(list) != 1 {
		t.Fatalf("ListServices = %d services, %v", len(list), err)
	}
	list[0].Properties["server_id"] = "changed"
	sameService(t, "after changing returned values", getService(t, s, "svc-1"), want)
}

func testListServices(t *testing.T, s provision.Store) {
	put(t, s, newService("a", billing.StatusActive, "dci6", "alice"))
	put(t, s, newService("b", billing.StatusSuspended, "dci6", "bob"))
	put(t, s, newService("c", billing.StatusActive, "ispmgr", "alice"))
	put(t, s, newService("d", billing.StatusProcessing, "dci5", "carol"))
	cases := []struct {
		name string
		f    provision.ServiceFilter
		want []string
	}{
		{"all", provision.ServiceFilter{}, []string{"a", "b", "c", "d"}},
		{"status", provision.ServiceFilter{Statuses: []billing.Status{billing.StatusActive}}, []string{"a", "c"}},
		{"statuses", provision.ServiceFilter{Statuses: []billing.Status{billing.StatusSuspended, billing.StatusProcessing}}, []string{"b", "d"}},
		{"module", provision.ServiceFilter{Module: "dci6"}, []string{"a", "b"}},
		{"owner", provision.ServiceFilter{Owner: "alice"}, []string{"a", "c"}},
		{"module+owner", provision.ServiceFilter{Module: "dci6", Owner: "alice"}, []string{"a"}},
		{"all three", provision.ServiceFilter{Statuses: []billing.Status{billing.StatusActive}, Module: "ispmgr", Owner: "alice"}, []string{"c"}},
		{"no match", provision.ServiceFilter{Statuses: []billing.Status{billing.StatusDeleted}}, nil},
	}
	for _, c := range cases {
		list, err := s.ListServices(t.Context(), c.f)
		if err != nil {
			t.Fatalf("ListServices(%s): %v", c.name, err)
		}
		var got []string
		for _, sv := range list {
			got = append(got, sv.ID)
		}
		sort.Strings(got)
		if !slices.Equal(got, c.want) {
			t.Errorf("ListServices(%s) = %v, want %v", c.name, got, c.want)
		}
	}
	list, _ := s.ListServices(t.Context(), provision.ServiceFilter{Owner: "carol"})
	if len(list) == 1 {
		sameService(t, "listed service", list[0], getService(t, s, "d"))
	}
}
