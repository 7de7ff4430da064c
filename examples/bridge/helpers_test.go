package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/memstore"
)

const testToken = "test-token-0123456789abcdef"

// syncBuffer is a log sink shared by goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// reachGate holds dedicated creates at their "reachable" step until the
// test opens it, so a test can look at a create while it runs.
type reachGate struct {
	entered chan struct{} // gets a value each time an operation reaches the gate
	open    chan struct{}
	once    sync.Once
}

func newReachGate() *reachGate {
	return &reachGate{entered: make(chan struct{}, 64), open: make(chan struct{})}
}

func (g *reachGate) release() { g.once.Do(func() { close(g.open) }) }

// testBridge is the bridge over the engine over the fake panels, served
// on loopback.
type testBridge struct {
	t     *testing.T
	url   string
	fakes *fakePanels
	api   *api
	log   *syncBuffer
}

type bridgeOption func(*engineSetup, *apiConfig)

// withGate holds dedicated creates at the reachability check.
func withGate(g *reachGate) bridgeOption {
	return func(s *engineSetup, _ *apiConfig) {
		next := s.reach
		s.reach = func(ctx context.Context, srv provision.Server) error {
			select {
			case g.entered <- struct{}{}:
			default:
			}
			select {
			case <-g.open:
			case <-ctx.Done():
				return ctx.Err()
			}
			return next(ctx, srv)
		}
	}
}

func withEventBuffer(n int) bridgeOption {
	return func(_ *engineSetup, c *apiConfig) { c.EventBuffer = n }
}

func newTestBridge(t *testing.T, opts ...bridgeOption) *testBridge {
	t.Helper()
	// Switch ports change at once: the tests see the state the engine asked for.
	fakes, err := startFakes(fakeTiming{install: 20 * time.Millisecond, power: 4 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(fakes.Close)
	fakes.dci.Strict(t)
	fakes.ipm.Strict(t)
	fakes.isp.Strict(t)
	logs := &syncBuffer{}
	logger := slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	p := fakes.panels()
	p.rate = 10000
	setup := engineSetup{panels: p, plans: defaultPlans, store: memstore.New(), reach: fakes.reachability,
		logger: logger, panelLogger: logger, workers: 4, installTimeout: 30 * time.Second, poll: 5 * time.Millisecond}
	cfg := apiConfig{Token: testToken, Logger: logger, MaxWait: 60 * time.Second, Choices: planChoices(defaultPlans)}
	for _, o := range opts {
		o(&setup, &cfg)
	}
	eng, cat, err := newEngine(setup)
	if err != nil {
		t.Fatal(err)
	}
	cfg.Engine = newProvisionEngine(eng, cat)
	a, err := newAPI(cfg)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = eng.Run(ctx)
	}()
	t.Cleanup(func() {
		a.Close()
		srv.Close()
		cancel()
		<-done
	})
	return &testBridge{t: t, url: srv.URL, fakes: fakes, api: a, log: logs}
}

// answer is a decoded HTTP answer.
type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) decode(t *testing.T, v any) {
	t.Helper()
	if err := json.Unmarshal(a.body, v); err != nil {
		t.Fatalf("answer %d is not JSON: %v\n%s", a.status, err, a.body)
	}
}

// apiError decodes an error answer.
func (a answer) apiError(t *testing.T) APIError {
	t.Helper()
	var e struct {
		Error APIError `json:"error"`
	}
	a.decode(t, &e)
	if e.Error.Code == "" {
		t.Fatalf("answer %d has no error code: %s", a.status, a.body)
	}
	return e.Error
}

func (a answer) result(t *testing.T) actionResult {
	t.Helper()
	var r actionResult
	a.decode(t, &r)
	return r
}

// call makes one authorized request (body: nil, a string sent as is, or a
// value sent as JSON).
func (b *testBridge) call(method, path string, body any) answer {
	b.t.Helper()
	return b.callWith(method, path, body, map[string]string{"Authorization": "Bearer " + testToken})
}

func (b *testBridge) callWith(method, path string, body any, headers map[string]string) answer {
	b.t.Helper()
	var rd io.Reader
	switch v := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(v)
	default:
		j, err := json.Marshal(v)
		if err != nil {
			b.t.Fatal(err)
		}
		rd = bytes.NewReader(j)
	}
	req, err := http.NewRequest(method, b.url+path, rd)
	if err != nil {
		b.t.Fatal(err)
	}
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range headers {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	if err != nil {
		b.t.Fatal(err)
	}
	return answer{status: resp.StatusCode, header: resp.Header, body: data}
}

// create orders a service and waits for it.
func (b *testBridge) create(id string, plan int64, owner, password string) actionResult {
	b.t.Helper()
	a := b.call("POST", "/v1/services/"+id+"/create?wait=30", map[string]any{
		"plan": plan, "owner": owner, "password": password, "domain": "s" + id + ".example.net"})
	if a.status != http.StatusOK {
		b.t.Fatalf("create %s: %d %s", id, a.status, a.body)
	}
	return a.result(b.t)
}

func (b *testBridge) service(id string) serviceView {
	b.t.Helper()
	a := b.call("GET", "/v1/services/"+id, nil)
	if a.status != http.StatusOK {
		b.t.Fatalf("service %s: %d %s", id, a.status, a.body)
	}
	var v serviceView
	a.decode(b.t, &v)
	return v
}
