package memstore

import (
	"container/heap"
	"time"

	"github.com/ispkit/ispkit/provision"
)

// The claim index: ClaimOperation must not look at every operation (with
// a thousand running orders it did, and that was half the engine's CPU).
// Unfinished operations sit in one of two heaps:
//
//   - free: those nobody holds (no worker, or a lease found expired),
//     oldest first — the claim takes the top;
//   - leases: those held, by lease end — a claim first moves the expired
//     ones to free.
//
// Entries are not removed when an operation changes: every entry is
// checked against the operation when it reaches the top, and stale ones
// are dropped. Each change pushes the operation where it now belongs, so a
// claim costs O(log n) amortized.
type claimIndex struct {
	free   freeHeap
	leases leaseHeap
	inFree map[string]bool
}

type freeEntry struct {
	id      string
	created time.Time
	seq     uint64
}

type freeHeap []freeEntry

func (h freeHeap) Len() int { return len(h) }
func (h freeHeap) Less(i, j int) bool {
	if c := h[i].created.Compare(h[j].created); c != 0 {
		return c < 0
	}
	return h[i].seq < h[j].seq
}
func (h freeHeap) Swap(i, j int) { h[i], h[j] = h[j], h[i] }
func (h *freeHeap) Push(x any)   { *h = append(*h, x.(freeEntry)) }
func (h *freeHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

type leaseEntry struct {
	id    string
	until time.Time
}

type leaseHeap []leaseEntry

func (h leaseHeap) Len() int           { return len(h) }
func (h leaseHeap) Less(i, j int) bool { return h[i].until.Before(h[j].until) }
func (h leaseHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *leaseHeap) Push(x any)        { *h = append(*h, x.(leaseEntry)) }
func (h *leaseHeap) Pop() any {
	old := *h
	x := old[len(old)-1]
	*h = old[:len(old)-1]
	return x
}

// note files op (the stored copy) after a change. s.mu is held.
func (s *Store) note(op *provision.Operation) {
	ix := &s.claims
	switch {
	case op.State.Finished():
	case op.Worker == "":
		s.toFree(op)
	default:
		heap.Push(&ix.leases, leaseEntry{id: op.ID, until: op.LeaseUntil})
	}
}

func (s *Store) toFree(op *provision.Operation) {
	ix := &s.claims
	if ix.inFree == nil {
		ix.inFree = map[string]bool{}
	}
	if ix.inFree[op.ID] {
		return
	}
	ix.inFree[op.ID] = true
	heap.Push(&ix.free, freeEntry{id: op.ID, created: op.CreatedAt, seq: s.seq[op.ID]})
}

// claimable reports whether op may be claimed at now.
func claimable(op *provision.Operation, now time.Time) bool {
	return op != nil && !op.State.Finished() && (op.Worker == "" || !now.Before(op.LeaseUntil))
}

// oldestClaimable returns the oldest claimable operation at now, or nil.
// s.mu is held.
func (s *Store) oldestClaimable(now time.Time) *provision.Operation {
	ix := &s.claims
	for ix.leases.Len() > 0 && !now.Before(ix.leases[0].until) {
		e := heap.Pop(&ix.leases).(leaseEntry)
		if op := s.ops[e.id]; claimable(op, now) && op.Worker != "" && op.LeaseUntil.Equal(e.until) {
			s.toFree(op)
		}
	}
	for ix.free.Len() > 0 {
		op := s.ops[ix.free[0].id]
		if claimable(op, now) {
			return op
		}
		e := heap.Pop(&ix.free).(freeEntry)
		delete(ix.inFree, e.id)
	}
	return nil
}

// claimed takes op out of free (it is at the top) and files its lease.
// s.mu is held.
func (s *Store) claimed(op *provision.Operation) {
	ix := &s.claims
	e := heap.Pop(&ix.free).(freeEntry)
	delete(ix.inFree, e.id)
	heap.Push(&ix.leases, leaseEntry{id: op.ID, until: op.LeaseUntil})
}
