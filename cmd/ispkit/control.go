package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"time"

	"github.com/ispkit/ispkit/internal/fakekit"
	"github.com/ispkit/ispkit/internal/mgr5"
)

// controlHandler is the simulator's control API (see ispkit sim -h).
func (s *simulator) controlHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.ready) })
	mux.HandleFunc("GET /state", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]any{
			panelDCI5: s.dci5.Dump(), panelDCI6: s.dci6.Dump(), panelIPmgr: s.ipmgr.Dump(), panelISPmgr: s.ispmgr.Dump(),
		})
	})
	mux.HandleFunc("GET /state/{panel}", func(w http.ResponseWriter, r *http.Request) {
		var v any
		switch r.PathValue("panel") {
		case panelDCI5:
			v = s.dci5.Dump()
		case panelDCI6:
			v = s.dci6.Dump()
		case panelIPmgr:
			v = s.ipmgr.Dump()
		case panelISPmgr:
			v = s.ispmgr.Dump()
		default:
			badPanel(w, r.PathValue("panel"))
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
	mux.HandleFunc("POST /reset", s.handleReset)
	mux.HandleFunc("POST /seed", func(w http.ResponseWriter, r *http.Request) {
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		seed, err := parseSeed(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, "seed: "+err.Error())
			return
		}
		s.mu.Lock()
		err = s.loadOnTop(seed)
		s.mu.Unlock()
		if err != nil {
			writeError(w, http.StatusUnprocessableEntity, err.Error())
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("POST /faults", s.handleInject)
	mux.HandleFunc("DELETE /faults", s.eachPanel("cleared", panelControls.ClearFaults))
	mux.HandleFunc("GET /durations", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.durations()) })
	mux.HandleFunc("POST /durations", func(w http.ResponseWriter, r *http.Request) {
		var d durationsDoc
		if !decodeStrict(w, r, &d) {
			return
		}
		_ = s.setDurations(&d)
		writeJSON(w, http.StatusOK, s.durations())
	})
	mux.HandleFunc("GET /calls", func(w http.ResponseWriter, r *http.Request) {
		p := r.URL.Query().Get("panel")
		if !slices.Contains(panelKeys, p) {
			badPanel(w, p)
			return
		}
		calls := s.controls(p).Calls()
		if calls == nil {
			calls = []fakekit.Call{}
		}
		writeJSON(w, http.StatusOK, calls)
	})
	mux.HandleFunc("POST /sessions/expire", s.eachPanel("expired", panelControls.ExpireSessions))
	return mux
}

// panelControls is what the control API needs of every fake.
type panelControls interface {
	Inject(fakekit.Fault)
	ClearFaults()
	Calls() []fakekit.Call
	ExpireSessions()
}

// eachPanel applies do to the panel named by ?panel= (every panel when
// absent) and answers {done: [panels]}.
func (s *simulator) eachPanel(done string, do func(panelControls)) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		panels, ok := panelsOf(w, r)
		if !ok {
			return
		}
		for _, p := range panels {
			do(s.controls(p))
		}
		writeJSON(w, http.StatusOK, map[string]any{done: panels})
	}
}

func (s *simulator) controls(p string) panelControls {
	switch p {
	case panelDCI5:
		return s.dci5
	case panelDCI6:
		return s.dci6
	case panelIPmgr:
		return s.ipmgr
	default:
		return s.ispmgr
	}
}

func (s *simulator) handleReset(w http.ResponseWriter, r *http.Request) {
	panels, ok := panelsOf(w, r)
	if !ok {
		return
	}
	empty := r.URL.Query().Get("empty")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range panels {
		switch p {
		case panelDCI5:
			s.dci5.Reset()
		case panelDCI6:
			s.dci6.Reset()
		case panelIPmgr:
			s.ipmgr.Reset()
		case panelISPmgr:
			s.ispmgr.Reset()
		}
	}
	if empty != "1" && empty != "true" {
		if err := s.load(s.seed, panels); err != nil {
			writeError(w, http.StatusInternalServerError, err.Error())
			return
		}
		_ = s.setDurations(s.seed.Durations)
	}
	writeJSON(w, http.StatusOK, map[string]any{"reset": panels})
}

// faultDoc is a fault as the control API reads it.
type faultDoc struct {
	Panel       string       `json:"panel"`
	Match       string       `json:"match"`
	Kind        string       `json:"kind"`
	Times       int          `json:"times"`
	Probability float64      `json:"probability"`
	Status      int          `json:"status"`
	RetryAfter  string       `json:"retry_after"`
	Code        int          `json:"code"`
	Msg         string       `json:"msg"`
	Delay       jsonDuration `json:"delay"`
	Error       *struct {
		Type   string `json:"type"`
		Object string `json:"object"`
		Value  string `json:"value"`
		Msg    string `json:"msg"`
	} `json:"error"`
	Seed *uint64 `json:"seed"`
}

func (s *simulator) handleInject(w http.ResponseWriter, r *http.Request) {
	var d faultDoc
	if !decodeStrict(w, r, &d) {
		return
	}
	if !slices.Contains(panelKeys, d.Panel) {
		badPanel(w, d.Panel)
		return
	}
	kind, ok := fakekit.ParseFaultKind(d.Kind)
	if !ok {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("kind %q: want one of %v", d.Kind, faultKindNames()))
		return
	}
	if d.Probability < 0 || d.Probability > 1 {
		writeError(w, http.StatusBadRequest, "probability: want 0..1")
		return
	}
	f := fakekit.Fault{Match: d.Match, Kind: kind, Times: d.Times, Probability: d.Probability, Status: d.Status,
		RetryAfter: d.RetryAfter, Code: d.Code, Msg: d.Msg, Delay: time.Duration(d.Delay)}
	if d.Error != nil {
		f.Err = &mgr5.Error{Type: d.Error.Type, Object: d.Error.Object, Value: d.Error.Value, Message: d.Error.Msg}
	}
	c := s.controls(d.Panel)
	if d.Seed != nil {
		if sc, ok := c.(interface{ SetFaultSeed(uint64) }); ok {
			sc.SetFaultSeed(*d.Seed)
		}
	}
	c.Inject(f)
	writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
}

func faultKindNames() []string { return fakekit.FaultKindNames() }

// panelsOf reads ?panel= (all panels when absent).
func panelsOf(w http.ResponseWriter, r *http.Request) ([]string, bool) {
	p := r.URL.Query().Get("panel")
	if p == "" {
		return panelKeys, true
	}
	if !slices.Contains(panelKeys, p) {
		badPanel(w, p)
		return nil, false
	}
	return []string{p}, true
}

func badPanel(w http.ResponseWriter, p string) {
	writeError(w, http.StatusBadRequest, fmt.Sprintf("panel %q: want one of %v", p, panelKeys))
}

func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, 8<<20))
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return nil, false
	}
	return b, true
}

func decodeStrict(w http.ResponseWriter, r *http.Request, v any) bool {
	dec := json.NewDecoder(http.MaxBytesReader(w, r.Body, 1<<20))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return false
	}
	return true
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}
