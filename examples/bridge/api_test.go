package main

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuth(t *testing.T) {
	t.Parallel()
	b := newTestBridge(t)
	for name, h := range map[string]map[string]string{
		"none":        {"Authorization": ""},
		"wrong token": {"Authorization": "Bearer " + strings.Repeat("x", len(testToken))},
		"prefix":      {"Authorization": "Bearer " + testToken[:len(testToken)-1]},
		"basic":       {"Authorization": "Basic " + testToken},
		"no scheme":   {"Authorization": testToken},
	} {
		for _, path := range []string{"/v1/plans", "/v1/services/1", "/v1/events", "/v1/nowhere"} {
			a := b.callWith("GET", path, nil, h)
			assert.Equal(t, http.StatusUnauthorized, a.status, "%s %s", name, path)
			assert.Equal(t, CodeUnauthorized, a.apiError(t).Code, "%s %s", name, path)
			assert.Contains(t, a.header.Get("WWW-Authenticate"), "Bearer", "%s %s", name, path)
		}
	}
	// Refused before anything is recorded.
	a := b.callWith("POST", "/v1/services/7/create", map[string]any{"plan": 2, "password": "Pw-123456"}, map[string]string{"Authorization": ""})
	assert.Equal(t, http.StatusUnauthorized, a.status)
	assert.Equal(t, http.StatusNotFound, b.call("GET", "/v1/services/7", nil).status)

	assert.Equal(t, http.StatusOK, b.callWith("GET", "/v1/openapi.json", nil, map[string]string{"Authorization": ""}).status)
	ok := b.callWith("GET", "/v1/plans", nil, map[string]string{"Authorization": "bearer " + testToken})
	require.Equal(t, http.StatusOK, ok.status, "the scheme is case-insensitive")
	var plans struct{ Plans []Plan }
	ok.decode(t, &plans)
	require.Len(t, plans.Plans, 2)
	assert.Equal(t, Plan{ID: 1, Name: "Dedicated " + fakeConfig, Kind: "dedicated", Choices: &Choices{
		OSTemplates: []string{fakeOS, fakeOS2}, Recipes: []string{"null", fakeRecipe}, MaxIPv4: 4, MaxIPv6: 16}}, plans.Plans[0])
	assert.Equal(t, Plan{ID: 2, Name: "Hosting Start", Kind: "hosting", Choices: &Choices{}}, plans.Plans[1])
}

// TestDedicatedLifecycle drives one dedicated server through every action,
// each repeated, and checks the fake data center after each.
func TestDedicatedLifecycle(t *testing.T) {
	t.Parallel()
	b := newTestBridge(t)
	ctx := t.Context()

	r := b.create("117", 1, "John Doe", "Init-Passw0rd")
	require.Equal(t, StatusActive, r.Status)
	require.NotNil(t, r.Operation)
	createOp := r.Operation.ID
	assert.Equal(t, "117.create.1", createOp)
	assert.Equal(t, StateDone, r.Operation.State)
	svc := b.service("117")
	serverID, login := svc.Properties["server_id"], svc.Properties["login"]
	require.NotEmpty(t, serverID)
	assert.Equal(t, "JohnDoe", login, "the owner's ASCII letters and digits")
	assert.Equal(t, "s117.example.net", svc.Properties["domain"])
	srv, ok := b.fakes.server(serverID)
	require.True(t, ok)
	assert.NotZero(t, srv.OwnerID)
	assert.True(t, srv.PortsOn)
	assert.True(t, b.fakes.dedicatedLogin(ctx, login, "Init-Passw0rd"))

	// A repeated create returns the same operation and changes nothing.
	again := b.call("POST", "/v1/services/117/create", map[string]any{"plan": 1, "owner": "John Doe", "password": "Init-Passw0rd"})
	require.Equal(t, http.StatusOK, again.status, "%s", again.body)
	assert.Equal(t, createOp, again.result(t).Operation.ID)

	steps := []struct {
		path, status string
		portsOn      bool
	}{
		{"suspend", StatusSuspended, false},
		{"suspend", StatusSuspended, false},
		{"unsuspend", StatusActive, true},
		{"unsuspend", StatusActive, true},
	}
	ids := map[string]string{}
	for _, s := range steps {
		a := b.call("POST", "/v1/services/117/"+s.path+"?wait=30", nil)
		require.Equal(t, http.StatusOK, a.status, "%s: %s", s.path, a.body)
		res := a.result(t)
		assert.Equal(t, s.status, res.Status, s.path)
		require.NotNil(t, res.Operation, s.path)
		assert.Equal(t, StateDone, res.Operation.State, s.path)
		if prev, seen := ids[s.path]; seen {
			assert.Equal(t, prev, res.Operation.ID, "a repeated %s reports the first operation", s.path)
		}
		ids[s.path] = res.Operation.ID
		srv, _ := b.fakes.server(serverID)
		assert.Equal(t, s.portsOn, srv.PortsOn, s.path)
	}
	assert.Equal(t, "117.suspend.1", ids["suspend"])
	assert.Equal(t, "117.unsuspend.1", ids["unsuspend"])

	a := b.call("POST", "/v1/services/117/change-password?wait=30", map[string]string{"password": "N3w-Passw0rd"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Equal(t, StateDone, a.result(t).Operation.State)
	assert.True(t, b.fakes.dedicatedLogin(ctx, login, "N3w-Passw0rd"))
	assert.False(t, b.fakes.dedicatedLogin(ctx, login, "Init-Passw0rd"))

	link := b.call("POST", "/v1/services/117/login-link", nil)
	require.Equal(t, http.StatusOK, link.status, "%s", link.body)
	var l struct{ URL string }
	link.decode(t, &l)
	assert.True(t, strings.HasPrefix(l.URL, b.fakes.panels().dci.url), l.URL)
	assert.Contains(t, l.URL, "key=")
	assert.Equal(t, "no-store", link.header.Get("Cache-Control"))

	for range 2 {
		a := b.call("POST", "/v1/services/117/terminate?wait=30", nil)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		res := a.result(t)
		assert.Equal(t, StatusTerminated, res.Status)
		assert.Equal(t, "117.terminate.1", res.Operation.ID)
	}
	srv, _ = b.fakes.server(serverID)
	assert.Zero(t, srv.OwnerID, "released")
	assert.Equal(t, "free.ds", srv.Hostname)

	// A terminated service cannot come back under the same id.
	a = b.call("POST", "/v1/services/117/create", map[string]any{"plan": 1, "owner": "John Doe", "password": "Init-Passw0rd"})
	assert.Equal(t, http.StatusConflict, a.status)
	assert.Equal(t, CodeServiceState, a.apiError(t).Code)
	for path, body := range map[string]any{"unsuspend": nil, "suspend": nil, "login-link": nil,
		"change-password": map[string]string{"password": "Later-Passw0rd"}} {
		a = b.call("POST", "/v1/services/117/"+path, body)
		assert.Equal(t, http.StatusConflict, a.status, path)
		assert.Equal(t, CodeServiceState, a.apiError(t).Code, path)
	}
}

func TestHostingLifecycle(t *testing.T) {
	t.Parallel()
	b := newTestBridge(t)
	r := b.create("201", 2, "Alice", "Host-Passw0rd")
	require.Equal(t, StatusActive, r.Status)
	login := b.service("201").Properties["login"]
	require.NotEmpty(t, login)
	exists, active := b.fakes.hostingUser(login)
	require.True(t, exists && active)
	assert.True(t, b.fakes.hostingLogin(login, "Host-Passw0rd"))

	for _, s := range []struct {
		path   string
		active bool
	}{{"suspend", false}, {"unsuspend", true}} {
		a := b.call("POST", "/v1/services/201/"+s.path+"?wait=30", nil)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		_, active := b.fakes.hostingUser(login)
		assert.Equal(t, s.active, active, s.path)
	}
	a := b.call("POST", "/v1/services/201/change-password?wait=30", map[string]string{"password": "Host-N3w-pw"})
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.True(t, b.fakes.hostingLogin(login, "Host-N3w-pw"))
	a = b.call("POST", "/v1/services/201/terminate?wait=30", nil)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	exists, _ = b.fakes.hostingUser(login)
	assert.False(t, exists)
}

// TestCreateWhileRunning holds a create at its reachability check and
// shows that repeated and concurrent creates end on one operation, that
// other actions are refused as busy, and that the wait ends with the
// operation.
func TestCreateWhileRunning(t *testing.T) {
	t.Parallel()
	gate := newReachGate()
	b := newTestBridge(t, withGate(gate))
	body := map[string]any{"plan": 1, "owner": "Eve", "password": "Eve-Passw0rd", "domain": "eve.example.net"}

	first := b.call("POST", "/v1/services/300/create", body)
	require.Equal(t, http.StatusAccepted, first.status, "%s", first.body)
	op := first.result(t).Operation
	require.NotNil(t, op)
	<-gate.entered // the operation runs and waits at the gate

	var wg sync.WaitGroup
	got := make([]answer, 8)
	for i := range got {
		wg.Go(func() { got[i] = b.call("POST", "/v1/services/300/create", body) })
	}
	wg.Wait()
	for _, a := range got {
		require.Equal(t, http.StatusAccepted, a.status, "%s", a.body)
		r := a.result(t)
		assert.Equal(t, op.ID, r.Operation.ID)
		assert.Equal(t, StatusProvisioning, r.Status)
		assert.Contains(t, []string{StatePending, StateRunning}, r.Operation.State)
	}
	for _, path := range []string{"suspend", "terminate"} {
		a := b.call("POST", "/v1/services/300/"+path, nil)
		assert.Equal(t, http.StatusConflict, a.status, path)
		e := a.apiError(t)
		assert.Equal(t, CodeBusy, e.Code, path)
		assert.Equal(t, op.ID, e.OperationID, path)
	}
	a := b.call("POST", "/v1/services/300/change-password", map[string]string{"password": "Other-Passw0rd"})
	assert.Equal(t, CodeBusy, a.apiError(t).Code)

	gate.release()
	w := b.call("GET", "/v1/operations/"+op.ID+"?wait=30", nil)
	require.Equal(t, http.StatusOK, w.status)
	var done Operation
	w.decode(t, &done)
	assert.Equal(t, StateDone, done.State)
	assert.Empty(t, done.Step)
	again := b.call("POST", "/v1/services/300/create", body)
	require.Equal(t, http.StatusOK, again.status)
	assert.Equal(t, op.ID, again.result(t).Operation.ID)

	var ops []string
	for _, k := range []string{"create"} {
		for n := 1; n <= 3; n++ {
			if b.call("GET", fmt.Sprintf("/v1/operations/300.%s.%d", k, n), nil).status == http.StatusOK {
				ops = append(ops, fmt.Sprintf("300.%s.%d", k, n))
			}
		}
	}
	assert.Equal(t, []string{"300.create.1"}, ops, "one operation was recorded")
}

// TestNoServerRetry: the fake has four servers; the fifth order fails with
// no_server and stays pending, and the next create is a new attempt.
func TestNoServerRetry(t *testing.T) {
	t.Parallel()
	b := newTestBridge(t)
	var wg sync.WaitGroup
	for i := range fakeServers {
		wg.Go(func() { b.create(fmt.Sprint(400+i), 1, "Bulk Buyer", "Bulk-Passw0rd") })
	}
	wg.Wait()
	body := map[string]any{"plan": 1, "owner": "Late Buyer", "password": "Late-Passw0rd"}
	a := b.call("POST", "/v1/services/499/create?wait=30", body)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	r := a.result(t)
	assert.Equal(t, StatusPending, r.Status)
	require.NotNil(t, r.Operation.Error)
	assert.Equal(t, StateFailed, r.Operation.State)
	assert.Equal(t, CodeNoServer, r.Operation.Error.Code)
	assert.Equal(t, "499.create.1", r.Operation.ID)

	// Terminating service 400 frees a server; the order is tried again.
	require.Equal(t, http.StatusOK, b.call("POST", "/v1/services/400/terminate?wait=30", nil).status)
	a = b.call("POST", "/v1/services/499/create?wait=30", body)
	require.Equal(t, http.StatusOK, a.status, "%s", a.body)
	r = a.result(t)
	assert.Equal(t, "499.create.2", r.Operation.ID)
	assert.Equal(t, StatusActive, r.Status)
}

func TestErrors(t *testing.T) {
	t.Parallel()
	b := newTestBridge(t)
	b.create("10", 2, "Bob", "Bob-Passw0rd")
	valid := map[string]any{"plan": 2, "owner": "Bob", "password": "Bob-Passw0rd"}
	big := strings.Repeat("x", maxBodyBytes+1)
	for _, c := range []struct {
		name, method, path string
		body               any
		headers            map[string]string
		status             int
		code, field        string
	}{
		{"bad service id", "POST", "/v1/services/a.b/create", valid, nil, 400, CodeInvalidArgument, "service_id"},
		{"long service id", "GET", "/v1/services/" + strings.Repeat("9", 65), nil, nil, 400, CodeInvalidArgument, "service_id"},
		{"unknown field", "POST", "/v1/services/11/create", map[string]any{"plan": 2, "password": "x", "colour": "red"}, nil, 400, CodeInvalidArgument, "colour"},
		{"wrong type", "POST", "/v1/services/11/create", map[string]any{"plan": "two", "password": "x"}, nil, 400, CodeInvalidArgument, "plan"},
		{"not JSON", "POST", "/v1/services/11/create", "{plan:", nil, 400, CodeInvalidArgument, "body"},
		{"two objects", "POST", "/v1/services/11/create", `{"plan":2,"password":"x"} {}`, nil, 400, CodeInvalidArgument, "body"},
		{"empty body", "POST", "/v1/services/11/create", "", nil, 400, CodeInvalidArgument, "body"},
		{"no plan", "POST", "/v1/services/11/create", map[string]any{"password": "x"}, nil, 400, CodeInvalidArgument, "plan"},
		{"no password", "POST", "/v1/services/11/create", map[string]any{"plan": 2}, nil, 400, CodeInvalidArgument, "password"},
		{"control character", "POST", "/v1/services/11/create", map[string]any{"plan": 2, "password": "a\nb"}, nil, 400, CodeInvalidArgument, "password"},
		{"bad option name", "POST", "/v1/services/11/create", map[string]any{"plan": 2, "password": "x", "options": map[string]string{"a b": "1"}}, nil, 400, CodeInvalidArgument, "options"},
		{"bad option value", "POST", "/v1/services/11/create", map[string]any{"plan": 1, "owner": "z", "password": "x", "options": map[string]string{"IP": "many"}}, nil, 400, CodeInvalidArgument, "options.IP"},
		{"OS not offered", "POST", "/v1/services/11/create", map[string]any{"plan": 1, "owner": "z", "password": "x", "options": map[string]string{"os": "Nope"}}, nil, 400, CodeInvalidArgument, "options.os"},
		{"two OS", "POST", "/v1/services/11/create", map[string]any{"plan": 1, "owner": "z", "password": "x", "options": map[string]string{"os": fakeOS, "OS": fakeOS2}}, nil, 400, CodeInvalidArgument, "options.os"},
		{"recipe not offered", "POST", "/v1/services/11/create", map[string]any{"plan": 1, "owner": "z", "password": "x", "options": map[string]string{"recipe": "#local__evil"}}, nil, 400, CodeInvalidArgument, "options.recipe"},
		{"too many addresses", "POST", "/v1/services/11/create", map[string]any{"plan": 1, "owner": "z", "password": "x", "options": map[string]string{"IP": "100"}}, nil, 400, CodeInvalidArgument, "options.IP"},
		{"unknown option", "POST", "/v1/services/11/create", map[string]any{"plan": 1, "owner": "z", "password": "x", "options": map[string]string{"colour": "red"}}, nil, 400, CodeInvalidArgument, "options.colour"},
		{"hosting takes no OS", "POST", "/v1/services/11/create", map[string]any{"plan": 2, "password": "x", "options": map[string]string{"ostemplate": fakeOS}}, nil, 400, CodeInvalidArgument, "options.ostemplate"},
		{"bad domain", "POST", "/v1/services/11/create", map[string]any{"plan": 1, "owner": "z", "password": "x", "domain": "not a domain!"}, nil, 400, CodeInvalidArgument, "domain"},
		{"IDN not in punycode", "POST", "/v1/services/11/create", map[string]any{"plan": 1, "owner": "z", "password": "x", "domain": "ünï.example"}, nil, 400, CodeInvalidArgument, "domain"},
		{"unknown plan", "POST", "/v1/services/11/create", map[string]any{"plan": 99, "password": "x"}, nil, 400, CodeInvalidArgument, "plan"},
		{"dedicated needs owner", "POST", "/v1/services/11/create", map[string]any{"plan": 1, "password": "x"}, nil, 400, CodeInvalidArgument, "owner"},
		{"other plan", "POST", "/v1/services/10/create", map[string]any{"plan": 1, "owner": "Bob", "password": "x"}, nil, 409, CodeConflict, ""},
		{"media type", "POST", "/v1/services/11/create", valid, map[string]string{"Content-Type": "text/plain"}, 415, CodeUnsupportedMediaType, ""},
		{"too large", "POST", "/v1/services/11/create", `{"plan":2,"password":"` + big + `"}`, nil, 413, CodeRequestTooLarge, ""},
		{"wait not a number", "POST", "/v1/services/10/suspend?wait=soon", nil, nil, 400, CodeInvalidArgument, "wait"},
		{"wait too long", "POST", "/v1/services/10/suspend?wait=61", nil, nil, 400, CodeInvalidArgument, "wait"},
		{"unknown service", "POST", "/v1/services/12/suspend", nil, nil, 404, CodeNotFound, ""},
		{"unknown service status", "GET", "/v1/services/12", nil, nil, 404, CodeNotFound, ""},
		{"unknown service link", "POST", "/v1/services/12/login-link", nil, nil, 404, CodeNotFound, ""},
		{"unknown operation", "GET", "/v1/operations/12.create.1", nil, nil, 404, CodeNotFound, ""},
		{"bad operation id", "GET", "/v1/operations/a%20b", nil, nil, 400, CodeInvalidArgument, "id"},
		{"unsuspend active", "POST", "/v1/services/10/unsuspend", nil, nil, 200, "", ""},
		{"no route", "GET", "/v1/servers", nil, nil, 404, CodeNotFound, ""},
		{"wrong method", "DELETE", "/v1/services/10/create", nil, nil, 405, CodeMethodNotAllowed, ""},
		{"bad event filter", "GET", "/v1/events?service_id=a.b", nil, nil, 400, CodeInvalidArgument, "service_id"},
	} {
		h := map[string]string{"Authorization": "Bearer " + testToken}
		for k, v := range c.headers {
			h[k] = v
		}
		a := b.callWith(c.method, c.path, c.body, h)
		if !assert.Equal(t, c.status, a.status, "%s: %s", c.name, a.body) || c.code == "" {
			continue
		}
		e := a.apiError(t)
		assert.Equal(t, c.code, e.Code, c.name)
		assert.Equal(t, c.field, e.Field, c.name)
		assert.NotContains(t, string(a.body), "Bob-Passw0rd", c.name)
		assert.Equal(t, "application/json", a.header.Get("Content-Type"), c.name)
	}
	a := b.call("DELETE", "/v1/services/10/create", nil)
	assert.Equal(t, "POST", a.header.Get("Allow"))
	a = b.call("PUT", "/v1/services/10", nil)
	assert.Equal(t, "GET", a.header.Get("Allow"))
	assert.Equal(t, StatusActive, b.service("10").Status, "nothing refused changed the service")
	assert.Equal(t, http.StatusNotFound, b.call("GET", "/v1/services/11", nil).status, "nothing refused was recorded")
}

// TestNoSecretsInLogs runs the actions with distinctive secrets and looks
// for them in the log (requests, engine, panel calls) and in every error.
func TestNoSecretsInLogs(t *testing.T) {
	t.Parallel()
	b := newTestBridge(t)
	const pw1, pw2 = "Zq8-first-SECRET-pw", "Zq8-second-SECRET-pw"
	b.create("50", 1, "Sam", pw1)
	b.call("POST", "/v1/services/50/change-password?wait=30", map[string]string{"password": pw2})
	link := b.call("POST", "/v1/services/50/login-link", nil)
	var l struct{ URL string }
	link.decode(t, &l)
	u, err := url.Parse(l.URL)
	require.NoError(t, err)
	key := u.Query().Get("key")
	require.NotEmpty(t, key)
	bad := b.call("POST", "/v1/services/51/create", map[string]any{"plan": 1, "password": pw1})
	assert.Equal(t, http.StatusBadRequest, bad.status)
	b.call("POST", "/v1/services/50/terminate?wait=30", nil)
	logs := b.log.String()
	require.Contains(t, logs, "ispkit call", "the panel calls are in the log")
	require.Contains(t, logs, `path=/v1/services/50/create`, "the requests are in the log")
	for _, s := range []string{pw1, pw2, testToken, key} {
		assert.NotContains(t, logs, s)
		assert.NotContains(t, string(bad.body), s)
	}
}

func TestServiceView(t *testing.T) {
	t.Parallel()
	b := newTestBridge(t)
	b.create("60", 2, "Kim", "Kim-Passw0rd")
	require.Equal(t, http.StatusOK, b.call("POST", "/v1/services/60/suspend?wait=30", nil).status)
	v := b.service("60")
	assert.Equal(t, "60", v.ID)
	assert.Equal(t, int64(2), v.Plan)
	assert.Equal(t, "hosting", v.Kind)
	assert.Equal(t, StatusSuspended, v.Status)
	require.NotNil(t, v.LastOperation)
	assert.Equal(t, "60.suspend.1", v.LastOperation.ID)
	for k, val := range v.Properties {
		assert.NotContains(t, val, "Kim-Passw0rd", k)
	}
}

func TestValidDomain(t *testing.T) {
	t.Parallel()
	for d, ok := range map[string]bool{
		"s1.example.net": true, "xn--bcher-kva.example": true, "a.b.": true, "A-1.Example.COM": true,
		"": false, "localhost": false, "a..b": false, "-a.example": false, "a-.example": false, "a b.example": false,
		"ünï.example": false, "x.example\u00a0": false, strings.Repeat("a", 64) + ".example": false,
		strings.Repeat("a.", 127) + "aa": false,
	} {
		assert.Equal(t, ok, validDomain(d), "%q", d)
	}
}
