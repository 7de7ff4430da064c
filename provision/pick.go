package provision

import (
	"context"
	"errors"
	"slices"
	"sync"
)

// The server pick of Open, shared by the engine's concurrent orders of
// one module. Every order used to read the module's reservations and the
// panel's whole server list, then try to reserve the first free server:
// a thousand orders at once read the list a thousand times and collided on
// the same first server, each trying every server the others took before
// it (half a million Reserve calls, each a round trip on SQL stores).
//
// Now the orders of one module that pick at the same time join a round:
// one read of the reservations and one of the list serve them all, each
// gets its own candidate — the first free one in the panel's order not
// given to an order before it in the round, so the module's priority
// order holds — and reserves it. "Never sold twice" still rests on the
// Store alone: Reserve is atomic, and a candidate another engine took
// meanwhile (ErrReserved) sends its order to the next round. A round
// starts after the Reserves of the one before it returned, so it reads
// them.

// pickResult is what a round gives one order.
type pickResult struct {
	// own are the order's own reservations (kept from a run that stopped
	// before it recorded its pick).
	own []Reservation
	// server is the server reserved for the order ("" when none is left).
	server string
	// again: the candidate was taken by another engine, or the round's
	// reads failed for a reason of another order: join the next round.
	again bool
	err   error
}

// pickRequest is one order waiting for a round.
type pickRequest struct {
	ctx      context.Context
	opID     string
	svcID    string
	tried    []string
	eligible func(Server) bool
	list     func(context.Context) ([]Server, error) // the order's gated ListServers
	reserve  func(context.Context, Reservation) error
	done     chan pickResult
}

// picker runs the rounds of one module.
type picker struct {
	e       *Engine
	module  string
	mu      sync.Mutex
	queue   []*pickRequest
	running bool
}

// picker returns the engine's picker of module.
func (e *Engine) picker(module string) *picker {
	e.pickMu.Lock()
	defer e.pickMu.Unlock()
	if e.pickers == nil {
		e.pickers = map[string]*picker{}
	}
	p := e.pickers[module]
	if p == nil {
		p = &picker{e: e, module: module}
		e.pickers[module] = p
	}
	return p
}

// pick waits for a round to serve req.
func (p *picker) pick(req *pickRequest) pickResult {
	req.done = make(chan pickResult, 1)
	p.mu.Lock()
	p.queue = append(p.queue, req)
	if !p.running {
		p.running = true
		go p.loop()
	}
	p.mu.Unlock()
	select {
	case res := <-req.done:
		return res
	case <-req.ctx.Done():
		// The round may still reserve for it under its (ended) context: a
		// reservation that lands anyway is the operation's own, found by
		// its next run.
		return pickResult{err: context.Cause(req.ctx)}
	}
}

// loop runs rounds while orders wait.
func (p *picker) loop() {
	for {
		p.mu.Lock()
		batch := p.queue
		p.queue = nil
		if len(batch) == 0 {
			p.running = false
			p.mu.Unlock()
			return
		}
		p.mu.Unlock()
		p.round(batch)
	}
}

// round serves batch: one read of the reservations and the list (made
// with the first order that is still running), a candidate for each
// order, the Reserves at once.
func (p *picker) round(batch []*pickRequest) {
	var lead *pickRequest
	for _, q := range batch {
		if q.ctx.Err() == nil {
			lead = q
			break
		}
	}
	if lead == nil {
		return // every order stopped waiting
	}
	res, servers, err := p.read(lead)
	if err != nil {
		for _, q := range batch {
			if q == lead || lead.ctx.Err() == nil {
				q.done <- pickResult{err: err}
			} else {
				q.done <- pickResult{again: true}
			}
		}
		return
	}
	reserved := map[string]bool{}
	own := map[string][]Reservation{}
	for _, rv := range res {
		reserved[rv.ServerID] = true
		own[rv.OperationID] = append(own[rv.OperationID], rv)
	}
	given := map[string]bool{}
	var wg sync.WaitGroup
	for _, q := range batch {
		if err := q.ctx.Err(); err != nil {
			q.done <- pickResult{err: context.Cause(q.ctx)}
			continue
		}
		var mine []Reservation
		for _, rv := range own[q.opID] {
			if !slices.Contains(q.tried, rv.ServerID) {
				mine = append(mine, rv)
			}
		}
		if len(mine) > 0 {
			q.done <- pickResult{own: mine}
			continue
		}
		cand := ""
		for _, s := range servers {
			if !reserved[s.ID] && !given[s.ID] && !slices.Contains(q.tried, s.ID) && q.eligible(s) {
				cand = s.ID
				break
			}
		}
		if cand == "" {
			q.done <- pickResult{}
			continue
		}
		given[cand] = true
		wg.Go(func() {
			err := q.reserve(q.ctx, Reservation{Backend: p.module, ServerID: cand, OperationID: q.opID, ServiceID: q.svcID, CreatedAt: p.e.clock.Now()})
			switch {
			case err == nil:
				q.done <- pickResult{server: cand}
			case errors.Is(err, ErrReserved):
				q.done <- pickResult{again: true}
			default:
				q.done <- pickResult{err: err}
			}
		})
	}
	wg.Wait()
}

// read is the round's read of the module's reservations and server list.
func (p *picker) read(lead *pickRequest) ([]Reservation, []Server, error) {
	res, err := p.e.store.Reservations(lead.ctx, p.module)
	if err != nil {
		return nil, nil, err
	}
	servers, err := lead.list(lead.ctx)
	if err != nil {
		return nil, nil, err
	}
	return res, servers, nil
}
