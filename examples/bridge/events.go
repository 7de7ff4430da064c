package main

import (
	"crypto/rand"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// eventHub keeps the engine's recent progress events in a ring, numbered
// in order, for the event streams. Publishing never blocks on a client: a
// stream reads the ring at its own pace, and a client too slow for the
// ring's size is told that it lost events.
type eventHub struct {
	// boot tells this process's event ids from an earlier one's: after a
	// restart the numbers start again and old ids mean nothing.
	boot string

	mu     sync.Mutex
	ring   []numbered
	next   int    // ring index of the next event
	full   bool   // the ring has wrapped
	seq    uint64 // number of the last event
	notify chan struct{}
}

type numbered struct {
	seq uint64
	ev  Event
}

func newEventHub(size int) *eventHub {
	return &eventHub{boot: strings.ToLower(rand.Text()[:8]), ring: make([]numbered, size), notify: make(chan struct{})}
}

// publish stores ev and wakes the streams. It is the engine subscriber.
func (h *eventHub) publish(ev Event) {
	h.mu.Lock()
	h.seq++
	h.ring[h.next] = numbered{seq: h.seq, ev: ev}
	h.next = (h.next + 1) % len(h.ring)
	if h.next == 0 {
		h.full = true
	}
	close(h.notify)
	h.notify = make(chan struct{})
	h.mu.Unlock()
}

// since returns the stored events numbered after seq, whether events after
// seq are no longer stored (lost), and a channel closed by the next
// publish.
func (h *eventHub) since(seq uint64) (evs []numbered, lost bool, wake <-chan struct{}) {
	h.mu.Lock()
	defer h.mu.Unlock()
	n := h.next
	oldest := 0
	if h.full {
		n = len(h.ring)
		oldest = h.next
	}
	if n > 0 && h.ring[oldest].seq > seq+1 {
		lost = true
	}
	for i := range n {
		e := h.ring[(oldest+i)%len(h.ring)]
		if e.seq > seq {
			evs = append(evs, e)
		}
	}
	return evs, lost, h.notify
}

// last is the number of the newest event.
func (h *eventHub) last() uint64 {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seq
}

func (h *eventHub) id(seq uint64) string { return h.boot + "-" + strconv.FormatUint(seq, 10) }

// resumeFrom reads a Last-Event-ID: the number to continue after, and
// whether the id is unknown (another process's, or malformed), in which
// case the stream starts with the oldest stored event and says so.
func (h *eventHub) resumeFrom(lastID string) (seq uint64, unknown bool) {
	if lastID == "" {
		return h.last(), false // a new client gets what happens from now on
	}
	boot, num, ok := strings.Cut(lastID, "-")
	n, err := strconv.ParseUint(num, 10, 64)
	if !ok || boot != h.boot || err != nil || n > h.last() {
		return 0, true
	}
	return n, false
}

// events serves GET /v1/events: the progress of the operations this
// process's engine runs, as server-sent events (text/event-stream). Each event has an id; a client that
// reconnects with the Last-Event-ID header gets the events it missed, as
// long as the bridge still holds them (the last EventBuffer events of this
// process). When it cannot, the stream starts with a "reset" event: re-read
// the services' status. ?service_id= keeps one service's events.
func (a *api) events(w http.ResponseWriter, r *http.Request) error {
	filter := r.URL.Query().Get("service_id")
	if filter != "" {
		if err := checkServiceID("events", filter); err != nil {
			return err
		}
	}
	rc := http.NewResponseController(w)
	_ = rc.SetWriteDeadline(time.Time{}) // a stream outlives the server's WriteTimeout
	h := w.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)

	after, unknown := a.hub.resumeFrom(r.Header.Get("Last-Event-ID"))
	reset := func(why string) {
		fmt.Fprintf(w, "event: reset\ndata: {\"reason\":%q}\n\n", why)
	}
	if unknown {
		reset("the Last-Event-ID is not one of this bridge process's stored events; re-read the services' status")
	}
	fmt.Fprint(w, ": ispkit bridge events\n\n")
	if err := rc.Flush(); err != nil {
		return nil
	}
	keep := time.NewTicker(a.cfg.Keepalive)
	defer keep.Stop()
	for {
		evs, lost, wake := a.hub.since(after)
		if lost && !unknown {
			reset("events were dropped before this client read them; re-read the services' status")
		}
		unknown = false
		for _, e := range evs {
			after = e.seq
			if filter != "" && e.ev.ServiceID != filter {
				continue
			}
			data, err := json.Marshal(e.ev)
			if err != nil {
				continue
			}
			fmt.Fprintf(w, "id: %s\nevent: %s\ndata: %s\n\n", a.hub.id(e.seq), e.ev.Type, data)
		}
		if err := rc.Flush(); err != nil {
			return nil // the client went away
		}
		select {
		case <-wake:
		case <-keep.C:
			fmt.Fprint(w, ": keepalive\n\n")
		case <-r.Context().Done():
			return nil
		case <-a.done:
			return nil
		}
	}
}
