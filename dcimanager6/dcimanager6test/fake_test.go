package dcimanager6test_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
	"github.com/ispkit/ispkit/internal/wait"
)

type rawClient struct {
	t     *testing.T
	base  string
	token string
}

func (c *rawClient) do(method, path, rawQuery string, body any, hdr map[string]string) (int, map[string]any) {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, _ := json.Marshal(body)
		rd = bytes.NewReader(b)
	}
	u := c.base + path
	if rawQuery != "" {
		u += "?" + rawQuery
	}
	req, err := http.NewRequestWithContext(c.t.Context(), method, u, rd)
	require.NoError(c.t, err)
	if c.token != "" && hdr == nil {
		req.Header.Set("x-xsrf-token", c.token)
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func login(t *testing.T, f *dcimanager6test.Server) *rawClient {
	c := &rawClient{t: t, base: f.URL()}
	st, out := c.do("POST", "/auth/v4/public/token", "", map[string]string{"email": dcimanager6test.AdminEmail, "password": dcimanager6test.AdminPassword}, nil)
	require.Equal(t, http.StatusCreated, st)
	c.token = out["token"].(string)
	require.Len(t, c.token, 24)
	return c
}

func errCode(out map[string]any) float64 {
	e, _ := out["error"].(map[string]any)
	code, _ := e["code"].(float64)
	return code
}

func TestWhereParser(t *testing.T) {
	t.Parallel()
	f := dcimanager6test.NewServer()
	f.SetStrict(true)
	defer f.Close()
	c := login(t, f)
	good := map[string]int{
		"(owner_email IS null) AND is_new EQ false":                                     7,
		"owner_email EQ 'client1@example.com' AND is_new EQ false AND location_id EQ 1": 1,
		"name CP '%AMS-0%'": 7,
		"NOT domain CP '%free.%' AND (location_id EQ 1)":     1,
		"location_id EQ 2 OR id EQ 1":                        3,
		"owner_email IS NOT null":                            1,
		"operation.status EQ 'error'":                        1,
		"operation IS null":                                  1,
		"not (is_new eq true) and maintenance_mode eq false": 7,
		"name EQ 'it''s'":                                    0,
		"available EQ true":                                  5,
	}
	for expr, want := range good {
		for _, enc := range []string{url.QueryEscape(expr), url.PathEscape(expr)} {
			st, out := c.do("GET", "/api/dci/v3/server", "where="+enc, nil, nil)
			require.Equal(t, 200, st, "%s: %v", expr, out)
			assert.Equal(t, float64(want), out["size"], expr)
		}
	}
	bad := []string{
		"name EQ", "name EQ 'unterminated", "(name EQ 'a'", "name EQ 'a')", "name LIKE 'a'",
		"nosuch EQ 1", "name CP 5", "AND name EQ 'a'", "name EQ 'a' AND", "name IS 'x'", "'a' EQ name", "name EQ 'a' ; drop",
	}
	for _, expr := range bad {
		st, out := c.do("GET", "/dci/v3/server", "where="+url.QueryEscape(expr), nil, nil)
		assert.Equal(t, 400, st, expr)
		assert.Equal(t, float64(dcimanager6test.CodeInvalidInput), errCode(out), expr)
		assert.NotEmpty(t, out["error"].(map[string]any)["msg"], expr)
	}
	for _, q := range []string{"orderby=name%20sideways", "orderby=nosuch%20asc", "limit=a,b", "limit=-1,5"} {
		st, _ := c.do("GET", "/dci/v3/server", q, nil, nil)
		assert.Equal(t, 400, st, q)
	}
	st, out := c.do("GET", "/dci/v3/server", "orderby=name%20desc&limit=2", nil, nil)
	require.Equal(t, 200, st)
	assert.Equal(t, float64(9), out["size"])
	list := out["list"].([]any)
	require.Len(t, list, 2)
	assert.Equal(t, "srv-fra-02", list[0].(map[string]any)["name"])
}

func TestAuthRules(t *testing.T) {
	t.Parallel()
	f := dcimanager6test.NewServer(dcimanager6test.WithTokenTTL(time.Hour))
	// Not strict: this test probes the answers to calls nobody models.
	defer f.Close()
	c := login(t, f)
	st, _ := c.do("GET", "/api/dci/v3/location", "", nil, map[string]string{"Cookie": "ses6=" + c.token})
	assert.Equal(t, 200, st, "the cookie alone is enough")
	st, _ = c.do("GET", "/dci/v3/location", "", nil, map[string]string{"x-xsrf-token": c.token})
	assert.Equal(t, 200, st, "the header alone is enough")
	st, out := c.do("GET", "/dci/v3/location", "", nil, map[string]string{"x-xsrf-token": "nope"})
	assert.Equal(t, 401, st)
	assert.Equal(t, float64(dcimanager6test.CodeUnauthorized), errCode(out))
	st, _ = c.do("POST", "/auth/v4/public/token", "", map[string]string{"email": dcimanager6test.AdminEmail, "password": "x"}, nil)
	assert.Equal(t, 401, st)
	st, _ = c.do("GET", "/dci/v3/nothing", "", nil, nil)
	assert.Equal(t, 404, st)
	st, _ = c.do("PUT", "/dci/v3/server/1", "", nil, nil)
	assert.Equal(t, 405, st)
	st, _ = c.do("POST", "/dci/v3/user", "", "not an object", nil)
	assert.Equal(t, 400, st)

	// Key login: user key → token exchange.
	st, out = c.do("POST", "/auth/v4/user/2/key", "", map[string]any{}, nil)
	require.Equal(t, 200, st)
	st, out = c.do("POST", "/api/auth/v4/public/key", "", map[string]any{"key": out["key"]}, map[string]string{"isp-box-instance": "true"})
	require.Equal(t, 201, st)
	uc := &rawClient{t: t, base: f.URL(), token: out["token"].(string)}
	st, out = uc.do("GET", "/auth/v4/whoami", "", nil, nil)
	require.Equal(t, 200, st)
	assert.Equal(t, "client1@example.com", out["email"])

	// Expiry, on the fake's own clock.
	clock := wait.NewFake(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC))
	short := dcimanager6test.NewServer(dcimanager6test.WithTokenTTL(time.Minute), dcimanager6test.WithClock(clock.Now))
	short.SetStrict(true)
	defer short.Close()
	sc := login(t, short)
	clock.Advance(time.Minute - time.Second)
	st, _ = sc.do("GET", "/dci/v3/location", "", nil, nil)
	assert.Equal(t, 200, st, "a token within its TTL is accepted")
	clock.Advance(time.Minute + time.Second)
	st, _ = sc.do("GET", "/dci/v3/location", "", nil, nil)
	assert.Equal(t, 401, st, "an expired token is refused")
}

func TestFaultsAndWakeUp(t *testing.T) {
	t.Parallel()
	f := dcimanager6test.NewServer(dcimanager6test.WithWakeUp(2))
	f.SetStrict(true)
	defer f.Close()
	c := &rawClient{t: t, base: f.URL()}
	for i := 0; i < 2; i++ {
		st, out := c.do("GET", "/dci/v3/location", "", nil, nil)
		assert.Equal(t, 503, st)
		assert.Equal(t, float64(dcimanager6test.CodeUnavailable), errCode(out))
	}
	c = login(t, f)
	f.Inject(dcimanager6test.Fault{Match: "GET /dci/v3/*", Kind: dcimanager6test.FaultPanelError, Status: 502, Times: 2})
	for i := 0; i < 2; i++ {
		st, _ := c.do("GET", "/dci/v3/location", "", nil, nil)
		assert.Equal(t, 502, st)
	}
	st, _ := c.do("GET", "/dci/v3/location", "", nil, nil)
	assert.Equal(t, 200, st, "the fault is used up")

	f.Inject(dcimanager6test.Fault{Match: "/dci/v3/location", Kind: dcimanager6test.FaultDropBefore})
	req, _ := http.NewRequest("GET", f.URL()+"/dci/v3/location", nil)
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	_, err := tr.RoundTrip(req)
	assert.Error(t, err, "connection dropped")

	// A slow answer arrives once the delay is over (how long fakekit.Hold
	// holds it is tested there, on a fake clock).
	f.Inject(dcimanager6test.Fault{Match: "/dci/v3/location", Kind: dcimanager6test.FaultSlow, Delay: time.Millisecond})
	st, _ = c.do("GET", "/dci/v3/location", "", nil, nil)
	assert.Equal(t, 200, st)
	calls := f.Calls()
	require.NotEmpty(t, calls)
	last := calls[len(calls)-1]
	assert.Equal(t, "GET /dci/v3/location", last.Func)
	assert.Equal(t, dcimanager6test.FaultSlow, last.Fault, "the answer was held back")
}

func TestOperationsAdvance(t *testing.T) {
	t.Parallel()
	// The fake's own clock: the operation is running until the clock
	// passes its duration, however slow the machine is.
	var mu sync.Mutex
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time {
		mu.Lock()
		defer mu.Unlock()
		return now
	}
	f := dcimanager6test.NewServer(dcimanager6test.WithDurations(40*time.Millisecond, 5*time.Millisecond), dcimanager6test.WithClock(clock))
	f.SetStrict(true)
	defer f.Close()
	c := login(t, f)
	st, out := c.do("POST", "/api/dci/v3/server/1/reinstall", "", map[string]any{"os": 1, "password": "pw", "domain": "a.example.com"}, nil)
	require.Equal(t, 200, st, out)
	opID := int64(out["task"].(float64))
	op, ok := f.Operation(opID)
	require.True(t, ok)
	assert.Equal(t, "running", op.Status)
	mu.Lock()
	now = now.Add(time.Minute)
	mu.Unlock()
	op, _ = f.Operation(opID)
	assert.Equal(t, "ok", op.Status)
	m, _ := f.Machine(1)
	assert.Equal(t, int64(1), m.OSTemplateID)
	assert.Equal(t, "a.example.com", m.Domain)
	assert.False(t, f.Available(1) && m.Owner != 0)
}

func TestConcurrentRequests(t *testing.T) {
	t.Parallel()
	f := dcimanager6test.NewServer(dcimanager6test.WithDurations(5*time.Millisecond, time.Millisecond), dcimanager6test.WithSeed(7))
	f.SetStrict(true)
	defer f.Close()
	c := login(t, f)
	f.Inject(dcimanager6test.Fault{Kind: dcimanager6test.FaultPanelError, Status: 500, Probability: 0.1, Times: -1})
	var wg sync.WaitGroup
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 10; j++ {
				c.do("GET", "/dci/v3/server", "where=location_id%20EQ%201", nil, nil)
				c.do("POST", "/dci/v3/server/1/power_reset", "", map[string]any{}, nil)
				_ = f.Machines()
				_ = f.Operations()
			}
		}()
	}
	wg.Wait()
	assert.NotEmpty(t, f.Requests())
}
