package mgr5_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/internal/httpx"
	"github.com/ispkit/ispkit/internal/mgr5"
)

const (
	adminUser = "admin"
	adminPass = "Adm1n-Pa55!"
)

// seen is one request as the test panel received it.
type seen struct {
	Method   string
	Path     string
	RawQuery string
	Form     url.Values // body parameters only
	CT       string
}

// testPanel records every request and answers through answer.
type testPanel struct {
	srv    *httptest.Server
	mu     sync.Mutex
	reqs   []seen
	answer func(n int, form url.Values) (int, string)
}

func newTestPanel(t *testing.T, answer func(n int, form url.Values) (int, string)) *testPanel {
	t.Helper()
	p := &testPanel{answer: answer}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		p.mu.Lock()
		p.reqs = append(p.reqs, seen{r.Method, r.URL.Path, r.URL.RawQuery, r.PostForm, r.Header.Get("Content-Type")})
		n := len(p.reqs)
		p.mu.Unlock()
		code, body := p.answer(n, r.PostForm)
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func (p *testPanel) seen() []seen {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]seen(nil), p.reqs...)
}

func (p *testPanel) funcs() []string {
	var out []string
	for _, s := range p.seen() {
		out = append(out, s.Form.Get("func"))
	}
	return out
}

func fastHTTP() httpx.Config {
	return httpx.Config{RetryWaitMin: time.Millisecond, RetryWaitMax: 2 * time.Millisecond}
}

func newMgrClient(t *testing.T, endpoint string, mode mgr5.AuthMode, mutate ...func(*mgr5.Config)) *mgr5.Client {
	t.Helper()
	cfg := mgr5.Config{
		Panel: "dcimanager5", Endpoint: endpoint, Mode: mode,
		Credentials: mgr5.Credentials{Username: adminUser, Password: adminPass},
		HTTP:        fastHTTP(),
	}
	for _, m := range mutate {
		m(&cfg)
	}
	c, err := mgr5.NewClient(cfg)
	require.NoError(t, err)
	return c
}

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

const okBody = `{"doc":{"ok":{}}}`

// ---------------------------------------------------------------------------
// request encoding

type editParams struct {
	Hostname string       `url:"hostname"`
	Owner    string       `url:"owner,omitempty"`
	Blocked  mgr5.OnOff   `url:"blocked"`
	Power    mgr5.OnOff   `url:"poweron"`
	Skip     mgr5.OnOff   `url:"skip,omitempty"`
	Diag     *mgr5.OnOff  `url:"diag,omitempty"`
	Reset    *mgr5.OnOff  `url:"reset,omitempty"`
	Port     int          `url:"port,omitempty"`
	Tags     []string     `url:"tag,omitempty"`
	Ignored  string       `url:"-"`
	Func     string       `url:"func,omitempty"`
	Extra    map[int]bool `url:"-"`
}

func TestEncode(t *testing.T) {
	t.Parallel()
	c := newMgrClient(t, "https://panel.example:1500/dcimgr", mgr5.AuthInfo, func(cfg *mgr5.Config) { cfg.Lang = "ru" })
	off, on := mgr5.OnOff(false), mgr5.OnOff(true)
	_ = on
	v, err := c.Encode(mgr5.Request{
		Func: "server.edit", Elid: []string{"1", "2", "3"}, Plid: "9", Sok: true, Su: "bob",
		Params: editParams{Hostname: "h1", Blocked: false, Power: true, Diag: &off, Port: 22,
			Tags: []string{"a", "b"}, Ignored: "x", Func: "evil"},
	})
	require.NoError(t, err)
	assert.Equal(t, url.Values{
		"func": {"server.edit"}, "out": {"json"}, "elid": {"1, 2, 3"}, "plid": {"9"},
		"sok": {"ok"}, "su": {"bob"}, "lang": {"ru"},
		"hostname": {"h1"}, "blocked": {"off"}, "poweron": {"on"}, "diag": {"off"},
		"port": {"22"}, "tag": {"a", "b"},
	}, v, "omitempty drops unset values; a *OnOff distinguishes unset from off")
	assert.NotContains(t, v, "authinfo", "Encode does not authenticate")

	// A single id, no plid, no sok, no su; url.Values are copied.
	in := url.Values{"name": {"x"}, "out": {"xml"}}
	v, err = c.Encode(mgr5.Request{Func: "server", Elid: []string{"7"}, Params: in})
	require.NoError(t, err)
	assert.Equal(t, url.Values{"func": {"server"}, "out": {"json"}, "elid": {"7"}, "lang": {"ru"}, "name": {"x"}}, v)
	assert.Equal(t, url.Values{"name": {"x"}, "out": {"xml"}}, in, "the caller's values are not modified")

	v, err = c.Encode(mgr5.Request{Func: "server"})
	require.NoError(t, err)
	assert.Equal(t, url.Values{"func": {"server"}, "out": {"json"}, "lang": {"ru"}}, v)

	_, err = c.Encode(mgr5.Request{})
	assert.Error(t, err, "empty function")
	_, err = c.Encode(mgr5.Request{Func: "x", Params: 42})
	assert.Error(t, err, "params must be a struct or url.Values")

	// Su on the client applies to every call; the request's own su wins.
	su := c.Su("carol")
	v, err = su.Encode(mgr5.Request{Func: "server"})
	require.NoError(t, err)
	assert.Equal(t, "carol", v.Get("su"))
	v, err = su.Encode(mgr5.Request{Func: "server", Su: "dave"})
	require.NoError(t, err)
	assert.Equal(t, "dave", v.Get("su"))
	v, err = c.Encode(mgr5.Request{Func: "server"})
	require.NoError(t, err)
	assert.Empty(t, v.Get("su"), "the parent client is unchanged")
}

func TestOnOff(t *testing.T) {
	t.Parallel()
	v := url.Values{}
	require.NoError(t, mgr5.OnOff(true).EncodeValues("a", &v))
	require.NoError(t, mgr5.OnOff(false).EncodeValues("b", &v))
	assert.Equal(t, url.Values{"a": {"on"}, "b": {"off"}}, v)
	for s, want := range map[string]bool{
		"on": true, "ON": true, " yes ": true, "true": true, "1": true,
		"off": false, "no": false, "": false, "0": false, "enabled": false,
	} {
		assert.Equal(t, want, mgr5.ParseOnOff(s), "%q", s)
	}
}

func TestCredentialsTravelInTheBody(t *testing.T) {
	t.Parallel()
	p := newTestPanel(t, func(_ int, f url.Values) (int, string) {
		if f.Get("func") == "auth" {
			return 200, `{"doc":{"auth":{"$id":"SID-1","$level":"28","$":"SID-1"}}}`
		}
		return 200, okBody
	})
	ctx := ctxT(t)
	ai := newMgrClient(t, p.srv.URL+"/dcimgr", mgr5.AuthInfo)
	_, err := ai.Exec(ctx, mgr5.Request{Func: "user.edit", Sok: true, Params: url.Values{"passwd": {"New-Pw1"}}})
	require.NoError(t, err)
	ses := newMgrClient(t, p.srv.URL+"/dcimgr", mgr5.AuthSession)
	_, err = ses.Exec(ctx, mgr5.Request{Func: "server.poweron", Elid: []string{"5"}})
	require.NoError(t, err)

	reqs := p.seen()
	require.Len(t, reqs, 3)
	for _, r := range reqs {
		assert.Equal(t, http.MethodPost, r.Method)
		assert.Equal(t, "/dcimgr", r.Path)
		assert.Empty(t, r.RawQuery, "nothing in the URL query")
		assert.NotContains(t, r.RawQuery, "authinfo")
		assert.NotContains(t, r.RawQuery, adminPass)
		assert.Equal(t, "application/x-www-form-urlencoded", r.CT)
		assert.Equal(t, "json", r.Form.Get("out"))
	}
	assert.Equal(t, adminUser+":"+adminPass, reqs[0].Form.Get("authinfo"))
	assert.Equal(t, "New-Pw1", reqs[0].Form.Get("passwd"))
	assert.Equal(t, "ok", reqs[0].Form.Get("sok"))

	assert.Equal(t, "auth", reqs[1].Form.Get("func"))
	assert.Equal(t, adminUser, reqs[1].Form.Get("username"))
	assert.Equal(t, adminPass, reqs[1].Form.Get("password"))
	assert.Equal(t, "SID-1", reqs[2].Form.Get("auth"))
	assert.Empty(t, reqs[2].Form.Get("authinfo"), "session mode sends no password")
	assert.Equal(t, "5", reqs[2].Form.Get("elid"))
}

// ---------------------------------------------------------------------------
// session mode

// sessionPanel answers func=auth with a new session per login and lets the
// test decide, per function call, whether the session is rejected.
type sessionPanel struct {
	*testPanel
	mu     sync.Mutex
	logins int
	calls  int
	reject func(call int) bool
}

func newSessionPanel(t *testing.T, reject func(call int) bool) *sessionPanel {
	sp := &sessionPanel{reject: reject}
	sp.testPanel = newTestPanel(t, func(_ int, f url.Values) (int, string) {
		sp.mu.Lock()
		defer sp.mu.Unlock()
		if f.Get("func") == "auth" {
			if f.Get("password") != adminPass && f.Get("key") == "" {
				return 200, authErrorBody
			}
			sp.logins++
			sid := fmt.Sprintf("SID-%d", sp.logins)
			return 200, `{"doc":{"auth":{"$id":"` + sid + `","$level":"28","$":"` + sid + `"}}}`
		}
		sp.calls++
		if f.Get("auth") != fmt.Sprintf("SID-%d", sp.logins) || sp.reject(sp.calls) {
			return 200, `{"doc":{"error":{"$type":"auth","$object":"session","msg":{"$":"Session expired"}}}}`
		}
		return 200, `{"doc":{"user":{"$":"admin"},"sid":{"$":"` + f.Get("auth") + `"}}}`
	})
	return sp
}

func (sp *sessionPanel) counts() (logins, calls int) {
	sp.mu.Lock()
	defer sp.mu.Unlock()
	return sp.logins, sp.calls
}

func TestSessionReloginOnceAndReplay(t *testing.T) {
	t.Parallel()
	sp := newSessionPanel(t, func(call int) bool { return call == 2 }) // the 2nd call finds the session expired
	c := newMgrClient(t, sp.srv.URL+"/dcimgr", mgr5.AuthSession)
	ctx := ctxT(t)

	d, err := c.Call(ctx, mgr5.Request{Func: "whoami"})
	require.NoError(t, err)
	assert.Equal(t, "SID-1", d.Text("sid"))
	logins, calls := sp.counts()
	assert.Equal(t, 1, logins)
	assert.Equal(t, 1, calls)

	d, err = c.Call(ctx, mgr5.Request{Func: "whoami"})
	require.NoError(t, err, "re-logged in and replayed")
	assert.Equal(t, "SID-2", d.Text("sid"))
	logins, calls = sp.counts()
	assert.Equal(t, 2, logins)
	assert.Equal(t, 3, calls, "the rejected call and its replay")

	_, err = c.Call(ctx, mgr5.Request{Func: "whoami"})
	require.NoError(t, err)
	logins, _ = sp.counts()
	assert.Equal(t, 2, logins, "the new session is kept")
	assert.Equal(t, []string{"auth", "whoami", "whoami", "auth", "whoami", "whoami"}, sp.funcs())
}

func TestSessionSecondAuthErrorIsReturned(t *testing.T) {
	t.Parallel()
	sp := newSessionPanel(t, func(int) bool { return true }) // every session is rejected
	c := newMgrClient(t, sp.srv.URL+"/dcimgr", mgr5.AuthSession)
	_, err := c.Call(ctxT(t), mgr5.Request{Func: "whoami"})
	require.Error(t, err)
	assert.True(t, mgr5.IsAuth(err))
	var e *mgr5.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "session", e.Object)
	assert.Equal(t, "", e.Value)
	assert.Equal(t, "dcimanager5: whoami: auth/session: Session expired", err.Error())
	logins, calls := sp.counts()
	assert.Equal(t, 2, logins, "one login, one re-login")
	assert.Equal(t, 2, calls, "not an endless loop")

	// List and Exec go through the same path.
	_, err = c.List(ctxT(t), mgr5.Request{Func: "server"})
	assert.True(t, mgr5.IsAuth(err))
	_, err = c.Exec(ctxT(t), mgr5.Request{Func: "server.poweron"})
	assert.True(t, mgr5.IsAuth(err))
	logins, calls = sp.counts()
	assert.Equal(t, 4, logins, "each call: the kept session, then one re-login")
	assert.Equal(t, 6, calls, "two sends per call")
}

func TestSessionBadPasswordIsNotRetried(t *testing.T) {
	t.Parallel()
	sp := newSessionPanel(t, func(int) bool { return false })
	c := newMgrClient(t, sp.srv.URL+"/dcimgr", mgr5.AuthSession, func(cfg *mgr5.Config) {
		cfg.Credentials.Password = "wrong-password"
	})
	_, err := c.Call(ctxT(t), mgr5.Request{Func: "whoami"})
	require.True(t, mgr5.IsAuth(err), "%v", err)
	var e *mgr5.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "auth", e.Func, "the failure is the login")
	assert.NotContains(t, err.Error(), "wrong-password")
	assert.Equal(t, []string{"auth"}, sp.funcs(), "one login attempt, no function call")
}

func TestAuthInfoAuthErrorIsNotRetried(t *testing.T) {
	t.Parallel()
	p := newTestPanel(t, func(int, url.Values) (int, string) { return 200, authErrorBody })
	c := newMgrClient(t, p.srv.URL+"/dcimgr", mgr5.AuthInfo)
	_, err := c.Call(ctxT(t), mgr5.Request{Func: "server"})
	assert.True(t, mgr5.IsAuth(err))
	assert.NotContains(t, err.Error(), adminPass)
	assert.Len(t, p.seen(), 1)
}

func TestLogin(t *testing.T) {
	t.Parallel()
	sp := newSessionPanel(t, func(int) bool { return false })
	c := newMgrClient(t, sp.srv.URL+"/dcimgr", mgr5.AuthInfo)
	r, err := c.Login(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, mgr5.AuthResult{Session: "SID-1", Level: "28"}, r)

	// An auth element with only its text (the $ form).
	p := newTestPanel(t, func(int, url.Values) (int, string) { return 200, `{"doc":{"auth":{"$":"TXT-SID"}}}` })
	r, err = newMgrClient(t, p.srv.URL+"/x", mgr5.AuthInfo).Login(ctxT(t))
	require.NoError(t, err)
	assert.Equal(t, "TXT-SID", r.Session)

	for _, body := range []string{`{"doc":{"ok":{}}}`, `{"doc":{"auth":{}}}`} {
		p := newTestPanel(t, func(int, url.Values) (int, string) { return 200, body })
		_, err = newMgrClient(t, p.srv.URL+"/x", mgr5.AuthInfo).Login(ctxT(t))
		var pe *mgr5.ProtocolError
		assert.ErrorAs(t, err, &pe, body)
	}
}

// ---------------------------------------------------------------------------
// HTTP-level failures

func TestHTTPStatusIsProtocolError(t *testing.T) {
	t.Parallel()
	p := newTestPanel(t, func(int, url.Values) (int, string) {
		return 502, "<html><body><h1>502 Bad Gateway</h1></body></html>"
	})
	c := newMgrClient(t, p.srv.URL+"/dcimgr", mgr5.AuthInfo)
	_, err := c.Call(ctxT(t), mgr5.Request{Func: "server"})
	var pe *mgr5.ProtocolError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 502, pe.StatusCode)
	assert.Equal(t, "server", pe.Func)
	assert.Equal(t, "dcimanager5", pe.Panel)
	assert.Contains(t, err.Error(), "HTTP 502")
	var me *mgr5.Error
	assert.False(t, errors.As(err, &me))
	var te *httpx.TransportError
	assert.False(t, errors.As(err, &te), "an HTTP answer is not a transport failure")
	assert.Len(t, p.seen(), 5, "a safe read is retried on 502 (1 + 4)")

	// A non-idempotent call is sent once.
	p2 := newTestPanel(t, func(int, url.Values) (int, string) { return 503, "busy" })
	c2 := newMgrClient(t, p2.srv.URL+"/dcimgr", mgr5.AuthInfo)
	_, err = c2.Exec(ctxT(t), mgr5.Request{Func: "user.edit", Sok: true, Class: httpx.NonIdempotent})
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 503, pe.StatusCode)
	assert.Len(t, p2.seen(), 1)

	// A doc.error wins over a non-200 status.
	p3 := newTestPanel(t, func(int, url.Values) (int, string) { return 404, errorBody("missed", "elid", "9", "") })
	_, err = newMgrClient(t, p3.srv.URL+"/x", mgr5.AuthInfo).Call(ctxT(t), mgr5.Request{Func: "server.edit"})
	assert.True(t, mgr5.IsNotFound(err), "%v", err)

	// 200 with HTML (a login page from a proxy).
	p4 := newTestPanel(t, func(int, url.Values) (int, string) { return 200, "<html>login</html>" })
	_, err = newMgrClient(t, p4.srv.URL+"/x", mgr5.AuthInfo).List(ctxT(t), mgr5.Request{Func: "server"})
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, 0, pe.StatusCode)
}

func TestTransportErrorStaysDistinguishable(t *testing.T) {
	t.Parallel()
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	c := newMgrClient(t, url+"/dcimgr", mgr5.AuthInfo, func(cfg *mgr5.Config) { cfg.HTTP.MaxRetries = -1 })
	_, err := c.Call(ctxT(t), mgr5.Request{Func: "server"})
	var te *httpx.TransportError
	require.ErrorAs(t, err, &te)
	var pe *mgr5.ProtocolError
	assert.False(t, errors.As(err, &pe))
	assert.False(t, mgr5.IsAuth(err))
	assert.NotContains(t, err.Error(), adminPass)
}

func TestExecRequiresOK(t *testing.T) {
	t.Parallel()
	bodies := map[string]bool{
		`{"doc":{"ok":{}}}`:                  true,
		`{"doc":{"id":{"$":"42"}}}`:          true,
		`{"doc":{"ok":{},"id":{"$":"42"}}}`:  true,
		`{"doc":{"name":{"$":"form only"}}}`: false,
	}
	for body, good := range bodies {
		p := newTestPanel(t, func(int, url.Values) (int, string) { return 200, body })
		c := newMgrClient(t, p.srv.URL+"/x", mgr5.AuthInfo)
		d, err := c.Exec(ctxT(t), mgr5.Request{Func: "user.edit", Sok: true})
		if good {
			require.NoError(t, err, body)
			continue
		}
		var pe *mgr5.ProtocolError
		require.ErrorAs(t, err, &pe, body)
		assert.Contains(t, pe.Reason, `no "ok"`)
		require.NotNil(t, d, "the document is returned for inspection")
	}
}

func TestListOverHTTP(t *testing.T) {
	t.Parallel()
	p := newTestPanel(t, func(int, url.Values) (int, string) { return 200, webdomainJSON })
	c := newMgrClient(t, p.srv.URL+"/ispmgr", mgr5.AuthInfo)
	rows, err := c.List(ctxT(t), mgr5.Request{Func: "webdomain"})
	require.NoError(t, err)
	checkWebdomainRow(t, rows)
	assert.Equal(t, p.srv.URL+"/ispmgr", c.Endpoint())
	assert.Equal(t, "dcimanager5", c.Panel())
}

// ---------------------------------------------------------------------------
// key login

func TestNewKeyLoginURLAndAsUser(t *testing.T) {
	t.Parallel()
	var mu sync.Mutex
	keys := map[string]string{} // key -> user
	sessions := map[string]string{}
	expire := false
	p := newTestPanel(t, func(_ int, f url.Values) (int, string) {
		mu.Lock()
		defer mu.Unlock()
		switch f.Get("func") {
		case "session.newkey":
			if f.Get("authinfo") != adminUser+":"+adminPass {
				return 200, authErrorBody
			}
			keys[f.Get("key")] = f.Get("username")
			return 200, newkeyOK
		case "auth":
			u, ok := keys[f.Get("key")]
			delete(keys, f.Get("key"))
			if !ok || u != f.Get("username") {
				return 200, authErrorBody
			}
			sid := fmt.Sprintf("U-%d", len(sessions)+1)
			sessions[sid] = u
			return 200, `{"doc":{"auth":{"$id":"` + sid + `","$level":"16"}}}`
		default:
			u, ok := sessions[f.Get("auth")]
			if !ok || expire {
				expire = false
				delete(sessions, f.Get("auth"))
				return 200, `{"doc":{"error":{"$type":"auth","$object":"session"}}}`
			}
			return 200, `{"doc":{"user":{"$":"` + u + `"}}}`
		}
	})
	c := newMgrClient(t, p.srv.URL+"/dcimgr", mgr5.AuthInfo)
	ctx := ctxT(t)

	key, err := c.NewKey(ctx, "bob")
	require.NoError(t, err)
	assert.Len(t, key, 32)
	assert.Regexp(t, `^[a-z0-9]{32}$`, key)

	_, err = c.NewKey(ctx, "")
	assert.Error(t, err)

	link, err := c.LoginURL(ctx, "bob")
	require.NoError(t, err)
	u, err := url.Parse(link)
	require.NoError(t, err)
	assert.Equal(t, p.srv.URL+"/dcimgr", u.Scheme+"://"+u.Host+u.Path)
	q := u.Query()
	assert.Equal(t, "auth", q.Get("func"))
	assert.Equal(t, "bob", q.Get("username"))
	assert.Equal(t, "no", q.Get("checkcookie"))
	assert.Regexp(t, `^[a-z0-9]{32}$`, q.Get("key"))
	assert.NotContains(t, link, adminPass)
	mu.Lock()
	assert.Equal(t, "bob", keys[q.Get("key")], "the key in the URL is the one registered")
	mu.Unlock()
	assert.Equal(t, c.Endpoint()+"?checkcookie=no&func=auth&key=k&username=u%26x", c.KeyLoginURL("u&x", "k"))

	as, err := c.AsUser(ctx, "bob")
	require.NoError(t, err)
	d, err := as.Call(ctx, mgr5.Request{Func: "whoami"})
	require.NoError(t, err)
	assert.Equal(t, "bob", d.Text("user"))

	// The user's session expires: a new key exchange, then the replay.
	mu.Lock()
	expire = true
	mu.Unlock()
	d, err = as.Call(ctx, mgr5.Request{Func: "whoami"})
	require.NoError(t, err)
	assert.Equal(t, "bob", d.Text("user"))

	var newkeys, auths int
	for _, r := range p.seen() {
		switch r.Form.Get("func") {
		case "session.newkey":
			newkeys++
		case "auth":
			auths++
			assert.Empty(t, r.Form.Get("password"), "key exchange, no password")
		}
		assert.Empty(t, r.RawQuery)
	}
	assert.Equal(t, 4, newkeys, "NewKey, LoginURL, AsUser, re-exchange (an empty name is refused locally)")
	assert.Equal(t, 2, auths)

	_, err = c.AsUser(ctx, "")
	assert.Error(t, err)
	_, err = c.AsUser(ctx, "nobody-without-key")
	assert.NoError(t, err, "the fake registers any key")
}

// ---------------------------------------------------------------------------
// construction

func TestNewClientValidation(t *testing.T) {
	t.Parallel()
	good := mgr5.Config{Endpoint: "https://h:1500/dcimgr", Credentials: mgr5.Credentials{Username: "a", Password: "p"}}
	bad := map[string]func(*mgr5.Config){
		"no scheme":      func(c *mgr5.Config) { c.Endpoint = "h:1500/dcimgr" },
		"ftp":            func(c *mgr5.Config) { c.Endpoint = "ftp://h/dcimgr" },
		"no host":        func(c *mgr5.Config) { c.Endpoint = "https:///dcimgr" },
		"user info":      func(c *mgr5.Config) { c.Endpoint = "https://a:p@h/dcimgr" },
		"query":          func(c *mgr5.Config) { c.Endpoint = "https://h/dcimgr?authinfo=a:p" },
		"fragment":       func(c *mgr5.Config) { c.Endpoint = "https://h/dcimgr#x" },
		"no user":        func(c *mgr5.Config) { c.Credentials.Username = "" },
		"no password":    func(c *mgr5.Config) { c.Credentials.Password = "" },
		"colon in user":  func(c *mgr5.Config) { c.Credentials.Username = "a:b" },
		"newline":        func(c *mgr5.Config) { c.Credentials.Username = "a\nb" },
		"bad http cfg":   func(c *mgr5.Config) { c.HTTP.Timeout = -1 },
		"unparsable url": func(c *mgr5.Config) { c.Endpoint = "https://h/\x7f?authinfo=a:p" },
		"secret no host": func(c *mgr5.Config) { c.Endpoint = "https:///x?authinfo=a:p" },
	}
	for name, mutate := range bad {
		cfg := good
		mutate(&cfg)
		c, err := mgr5.NewClient(cfg)
		assert.Error(t, err, name)
		assert.Nil(t, c, name)
		if err != nil {
			assert.NotContains(t, err.Error(), ":p@", name)
			assert.NotContains(t, err.Error(), "authinfo=a:p", name)
		}
	}
	c, err := mgr5.NewClient(good)
	require.NoError(t, err)
	assert.Equal(t, "mgr5", c.Panel(), "default panel name")
}

func TestCredentialsNeverPrintPassword(t *testing.T) {
	t.Parallel()
	cr := mgr5.Credentials{Username: "admin", Password: "Sup3r-Secret"}
	cfg := mgr5.Config{Endpoint: "https://h/x", Credentials: cr}
	for _, s := range []string{
		cr.String(), cr.GoString(), fmt.Sprint(cr), fmt.Sprintf("%v %+v %#v %s", cr, cr, cr, cr),
		fmt.Sprintf("%v %+v", cfg, cfg), fmt.Sprintf("%+v", &cfg),
	} {
		assert.NotContains(t, s, "Sup3r-Secret")
		assert.Contains(t, s, "admin")
	}
	assert.True(t, strings.Contains(cr.String(), "REDACTED"))
}
