package main

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestEventHubRing(t *testing.T) {
	t.Parallel()
	h := newEventHub(4)
	evs, lost, wake := h.since(0)
	assert.Empty(t, evs)
	assert.False(t, lost)
	for i := 1; i <= 10; i++ {
		h.publish(Event{Type: "step_started", Step: strconv.Itoa(i)})
	}
	select {
	case <-wake:
	default:
		t.Fatal("publish does not wake the streams")
	}
	evs, lost, _ = h.since(0)
	assert.True(t, lost, "events 1..6 are gone")
	require.Len(t, evs, 4)
	for i, e := range evs {
		assert.Equal(t, uint64(7+i), e.seq)
		assert.Equal(t, strconv.Itoa(7+i), e.ev.Step)
	}
	evs, lost, _ = h.since(6)
	assert.False(t, lost, "6 was read: 7 is the next")
	assert.Len(t, evs, 4)
	evs, lost, _ = h.since(8)
	assert.False(t, lost)
	assert.Len(t, evs, 2)
	evs, _, _ = h.since(10)
	assert.Empty(t, evs)

	seq, unknown := h.resumeFrom("")
	assert.Equal(t, uint64(10), seq, "a new stream starts now")
	assert.False(t, unknown)
	seq, unknown = h.resumeFrom(h.id(8))
	assert.Equal(t, uint64(8), seq)
	assert.False(t, unknown)
	for _, id := range []string{"other-3", "garbage", h.boot + "-x", h.id(11)} {
		_, unknown = h.resumeFrom(id)
		assert.True(t, unknown, id)
	}
}

// sseEvent is one event of a stream.
type sseEvent struct {
	id, typ string
	data    Event
}

type sseStream struct {
	t      *testing.T
	sc     *bufio.Scanner
	early  []sseEvent // events sent before the stream's opening comment
	cancel context.CancelFunc
}

// stream opens GET /v1/events and returns once the bridge has registered
// it (its opening comment arrived).
func (b *testBridge) stream(query, lastID string) *sseStream {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.t.Context(), time.Minute)
	req, err := http.NewRequestWithContext(ctx, "GET", b.url+"/v1/events"+query, nil)
	require.NoError(b.t, err)
	req.Header.Set("Authorization", "Bearer "+testToken)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(b.t, err)
	b.t.Cleanup(func() { cancel(); resp.Body.Close() })
	require.Equal(b.t, http.StatusOK, resp.StatusCode)
	require.Equal(b.t, "text/event-stream", resp.Header.Get("Content-Type"))
	s := &sseStream{t: b.t, sc: bufio.NewScanner(resp.Body), cancel: cancel}
	for {
		e, comment, ok := s.read()
		require.True(b.t, ok, "the stream ended before its opening comment")
		if comment == "ispkit bridge events" {
			return s
		}
		if e != nil {
			s.early = append(s.early, *e)
		}
	}
}

// read returns the next event or comment; ok is false at the end.
func (s *sseStream) read() (e *sseEvent, comment string, ok bool) {
	var ev sseEvent
	seen := false
	for s.sc.Scan() {
		line := s.sc.Text()
		switch {
		case line == "":
			if seen {
				return &ev, "", true
			}
		case strings.HasPrefix(line, ": "):
			if !seen {
				return nil, strings.TrimPrefix(line, ": "), true
			}
		case strings.HasPrefix(line, "id: "):
			ev.id, seen = strings.TrimPrefix(line, "id: "), true
		case strings.HasPrefix(line, "event: "):
			ev.typ, seen = strings.TrimPrefix(line, "event: "), true
		case strings.HasPrefix(line, "data: "):
			seen = true
			if ev.typ != "reset" {
				require.NoError(s.t, json.Unmarshal([]byte(strings.TrimPrefix(line, "data: ")), &ev.data), line)
			}
		default:
			s.t.Fatalf("unexpected line %q", line)
		}
	}
	return nil, "", false
}

// next returns the next event, skipping comments.
func (s *sseStream) next() sseEvent {
	s.t.Helper()
	if len(s.early) > 0 {
		e := s.early[0]
		s.early = s.early[1:]
		return e
	}
	for {
		e, _, ok := s.read()
		require.True(s.t, ok, "the stream ended")
		if e != nil {
			return *e
		}
	}
}

// until reads events up to and including the end of operation opID.
func (s *sseStream) until(opID string) []sseEvent {
	s.t.Helper()
	var out []sseEvent
	for {
		e := s.next()
		out = append(out, e)
		if e.data.OperationID == opID && (e.typ == "operation_done" || e.typ == "operation_failed") {
			return out
		}
	}
}

func TestEventStream(t *testing.T) {
	t.Parallel()
	b := newTestBridge(t)
	s := b.stream("", "")
	op := b.create("70", 1, "Stream Watcher", "Stream-Passw0rd").Operation.ID
	evs := s.until(op)
	require.Greater(t, len(evs), 5)
	assert.Equal(t, "step_started", evs[0].typ)
	assert.Equal(t, "start", evs[0].data.Step)
	steps := map[string]bool{}
	var last uint64
	for _, e := range evs {
		assert.Equal(t, e.typ, e.data.Type, "event: and data agree")
		assert.Equal(t, "70", e.data.ServiceID)
		assert.Equal(t, KindCreate, e.data.Kind)
		boot, n, ok := strings.Cut(e.id, "-")
		require.True(t, ok, e.id)
		assert.Equal(t, b.api.hub.boot, boot)
		seq, err := strconv.ParseUint(n, 10, 64)
		require.NoError(t, err)
		assert.Greater(t, seq, last, "ids increase")
		last = seq
		steps[e.data.Step] = true
	}
	for _, step := range []string{"pick", "install", "wait_install", "activate"} {
		assert.True(t, steps[step], "step %s is reported", step)
	}

	// A client that lost the connection after the first event resumes.
	r := b.stream("", evs[0].id)
	got := r.until(op)
	require.Len(t, got, len(evs)-1)
	for i, e := range got {
		assert.Equal(t, evs[i+1].id, e.id)
		assert.Equal(t, evs[i+1].typ, e.typ)
	}

	// An id the bridge does not know: a reset first, then what it holds.
	u := b.stream("", "0123abcd-5")
	assert.Equal(t, "reset", u.next().typ)
	assert.Equal(t, evs[0].id, u.next().id)
}

func TestEventStreamFilter(t *testing.T) {
	t.Parallel()
	b := newTestBridge(t)
	s := b.stream("?service_id=81", "")
	b.create("80", 2, "Other", "Other-Passw0rd")
	op := b.create("81", 2, "Mine", "Mine-Passw0rd").Operation.ID
	evs := s.until(op)
	require.NotEmpty(t, evs)
	for _, e := range evs {
		assert.Equal(t, "81", e.data.ServiceID, "%s %s", e.typ, e.data.OperationID)
	}
}

// TestEventStreamLost: a client that comes back after more events than the
// bridge keeps is told so, then gets what is kept.
func TestEventStreamLost(t *testing.T) {
	t.Parallel()
	b := newTestBridge(t, withEventBuffer(4))
	s := b.stream("", "")
	op := b.create("90", 2, "Slow Reader", "Slow-Passw0rd").Operation.ID
	// With a ring of four, s itself may fall behind while the order runs
	// (its handler not scheduled in time) and be told so first: the id of
	// the order's first event is then built (this process's, number 1).
	first := s.next()
	firstID := first.id
	if first.typ == "reset" {
		first = s.next()
		boot, _, ok := strings.Cut(first.id, "-")
		require.True(t, ok, "event id %q", first.id)
		firstID = boot + "-1"
	}
	require.Equal(t, op, first.data.OperationID)
	s.until(op) // every event of the order is out: the ring holds its last four
	require.Greater(t, b.api.hub.last(), uint64(5), "more events than the ring holds")

	r := b.stream("", firstID)
	assert.Equal(t, "reset", r.next().typ)
	kept := r.until(op)
	assert.Len(t, kept, 4)
}

func TestEventStreamKeepaliveAndClose(t *testing.T) {
	t.Parallel()
	b := newTestBridge(t, func(_ *engineSetup, c *apiConfig) { c.Keepalive = time.Millisecond })
	s := b.stream("", "")
	for {
		_, comment, ok := s.read()
		require.True(t, ok)
		if comment == "keepalive" {
			break
		}
	}
	b.api.Close() // as the server's shutdown does
	for {
		if _, _, ok := s.read(); !ok {
			break // the stream ended
		}
	}
}
