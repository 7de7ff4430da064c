package dcimanager5

import (
	"context"
	"encoding/json"
	"iter"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// All yields every server visible to the client, like List, but reads the
// answer as it arrives: memory stays at about one row whatever the size of
// the server park, where List holds the whole answer and the whole slice.
// A failure is yielded once, as the last pair, with a zero Server; rows
// yielded before it were whole rows of the answer. Breaking out of the
// loop stops the reading. The answer is still capped by
// WithMaxResponseSize, and the timeout of WithTimeout covers the whole
// reading, so keep the loop body quick (or collect and work afterwards).
// A null item in the list, which no panel sends, is skipped (List gives a
// zero Server for it).
//
// Calls func=server.
func (s *ServersService) All(ctx context.Context) iter.Seq2[Server, error] {
	panel := s.c.m.Panel()
	var r serverRows
	return mgr5.All(ctx, s.c.m, mgr5.Request{Func: "server", Class: httpx.SafeRead}, func(raw json.RawMessage) (Server, bool, error) {
		// The shared scanner first (no map per row), encoding/json for
		// the shapes it leaves alone: the same result either way.
		r.out, r.open = r.out[:0], false
		if mgr5.ScanElem(raw, &r) {
			r.flush()
			if len(r.out) == 0 {
				return Server{}, false, nil
			}
			return r.out[0], true, nil
		}
		if isNullJSON(raw) {
			return Server{}, false, nil
		}
		var w wireServer
		if err := mgr5.DecodeRow(panel, "server", raw, &w); err != nil {
			return Server{}, false, err
		}
		return w.server(), true, nil
	})
}

// All yields every panel user, like List, reading the answer as it
// arrives (see ServersService.All for the terms: one failure as the last
// pair, the size cap, the timeout covering the reading).
//
// Calls func=user.
func (s *UsersService) All(ctx context.Context) iter.Seq2[User, error] {
	panel := s.c.m.Panel()
	return mgr5.All(ctx, s.c.m, mgr5.Request{Func: "user", Class: httpx.SafeRead}, func(raw json.RawMessage) (User, bool, error) {
		if isNullJSON(raw) {
			return User{}, false, nil
		}
		var w wireUser
		if err := mgr5.DecodeRow(panel, "user", raw, &w); err != nil {
			return User{}, false, err
		}
		return w.user(), true, nil
	})
}
