package mgr5

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"

	"github.com/google/go-querystring/query"

	"github.com/ispkit/ispkit/internal/httpx"
)

// OnOff is a boolean that encodes as the panels' "on"/"off".
type OnOff bool

// EncodeValues implements query.Encoder.
func (b OnOff) EncodeValues(key string, v *url.Values) error {
	if b {
		v.Set(key, "on")
	} else {
		v.Set(key, "off")
	}
	return nil
}

// ParseOnOff reads a panel boolean: "on", "yes", "true", "1" are true.
func ParseOnOff(s string) bool {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "on", "yes", "true", "1":
		return true
	}
	return false
}

// AuthMode selects how the client authenticates.
type AuthMode int

const (
	// AuthInfo sends authinfo=user:password with every call (the default).
	AuthInfo AuthMode = iota
	// AuthSession logs in with func=auth once and sends auth=<session id>;
	// on an auth error (expired session) it logs in again once and replays.
	AuthSession
)

// Credentials are a panel login.
type Credentials struct {
	Username string
	Password string
}

// String never shows the password.
func (c Credentials) String() string { return c.Username + ":REDACTED" }

// GoString never shows the password.
func (c Credentials) GoString() string {
	return `mgr5.Credentials{Username:"` + c.Username + `", Password:REDACTED}`
}

// Config configures a Client.
type Config struct {
	// Panel names the panel in errors and logs ("dcimanager5").
	Panel string
	// Endpoint is the full URL of the panel entry point, e.g.
	// https://host:1500/dcimgr.
	Endpoint string
	// Credentials authenticate every call.
	Credentials Credentials
	// Mode selects authinfo (default) or session authentication.
	Mode AuthMode
	// Lang is sent as lang= (error message language); empty sends none.
	Lang string
	// HTTP is the HTTP core configuration.
	HTTP httpx.Config
}

// Client speaks the mgr5 protocol to one panel entry point.
type Client struct {
	panel    string
	endpoint string
	lang     string
	creds    Credentials
	mode     AuthMode
	h        *httpx.Client

	mu      sync.Mutex
	session string
	// login obtains a fresh session (password login or key exchange).
	login func(ctx context.Context) (string, error)
	// su impersonates a user in every call (admin acting as a user).
	su string
}

// NewClient validates cfg and builds a Client.
func NewClient(cfg Config) (*Client, error) {
	u, err := url.Parse(cfg.Endpoint)
	if err != nil {
		// The parse error quotes the URL, which may hold credentials.
		return nil, errors.New("mgr5: endpoint is not a valid URL")
	}
	if (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("mgr5: endpoint %q is not an http(s) URL", httpx.RedactURL(u))
	}
	if u.User != nil {
		return nil, errors.New("mgr5: endpoint must not carry credentials; use the credentials option")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("mgr5: endpoint %q must not have a query or fragment", httpx.RedactURL(u))
	}
	if cfg.Credentials.Username == "" || cfg.Credentials.Password == "" {
		return nil, errors.New("mgr5: username and password are required")
	}
	if strings.ContainsAny(cfg.Credentials.Username, ":\r\n") {
		return nil, errors.New("mgr5: username must not contain ':' or line breaks")
	}
	if cfg.Panel == "" {
		cfg.Panel = "mgr5"
	}
	cfg.HTTP.Panel = cfg.Panel
	h, err := httpx.New(cfg.HTTP)
	if err != nil {
		return nil, err
	}
	c := &Client{panel: cfg.Panel, endpoint: u.String(), lang: cfg.Lang, creds: cfg.Credentials, mode: cfg.Mode, h: h}
	c.login = c.passwordLogin
	return c, nil
}

// Endpoint returns the panel entry point URL.
func (c *Client) Endpoint() string { return c.endpoint }

// Panel returns the panel name used in errors.
func (c *Client) Panel() string { return c.panel }

// Request is one mgr5 function call.
type Request struct {
	// Func is the panel function, e.g. "server.edit".
	Func string
	// Elid lists the target element ids; several are joined with ", ".
	Elid []string
	// Plid is the parent list id.
	Plid string
	// Sok commits a form (sok=ok).
	Sok bool
	// Su runs the call as another user.
	Su string
	// Params are extra parameters: a struct with url tags, url.Values or nil.
	Params any
	// Class is the retry class; reads are SafeRead.
	Class httpx.Class
}

// Encode builds the form values of r (without authentication).
func (c *Client) Encode(r Request) (url.Values, error) {
	if r.Func == "" {
		return nil, errors.New("mgr5: empty function name")
	}
	var v url.Values
	switch p := r.Params.(type) {
	case nil:
		v = url.Values{}
	case url.Values:
		v = make(url.Values, len(p)+6)
		for k, vs := range p {
			v[k] = append([]string(nil), vs...)
		}
	default:
		var err error
		v, err = query.Values(p)
		if err != nil {
			return nil, fmt.Errorf("mgr5: encode %s parameters: %w", r.Func, err)
		}
	}
	v.Set("func", r.Func)
	v.Set("out", "json")
	if len(r.Elid) > 0 {
		v.Set("elid", strings.Join(r.Elid, ", "))
	}
	if r.Plid != "" {
		v.Set("plid", r.Plid)
	}
	if r.Sok {
		v.Set("sok", "ok")
	}
	su := r.Su
	if su == "" {
		su = c.su
	}
	if su != "" {
		v.Set("su", su)
	}
	if c.lang != "" {
		v.Set("lang", c.lang)
	}
	return v, nil
}

// Call sends r and decodes the document. A doc.error comes back as *Error.
func (c *Client) Call(ctx context.Context, r Request) (*Doc, error) {
	body, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	return Decode(c.panel, r.Func, body)
}

// CallRaw sends r like Call — the same encoding, authentication and
// session renewal — and returns the response body undecoded, for callers
// that read it with their own decoder: a large list is then scanned once
// (ScanListBody) instead of going through Decode first. A doc.error is
// still detected and comes back as *Error, exactly as from Call (see
// BodyError). Any other body is returned as is, and may still not be a
// panel document: the caller's decoder must report that (Decode gives the
// *ProtocolError Call would have given).
func (c *Client) CallRaw(ctx context.Context, r Request) ([]byte, error) {
	body, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	if err := BodyError(c.panel, r.Func, body); err != nil {
		return nil, err
	}
	return body, nil
}

// List sends r and decodes its elem rows (object or array).
func (c *Client) List(ctx context.Context, r Request) ([]Row, error) {
	body, err := c.send(ctx, r)
	if err != nil {
		return nil, err
	}
	return DecodeList(c.panel, r.Func, body)
}

// Exec sends a group operation or a form commit and requires "ok".
func (c *Client) Exec(ctx context.Context, r Request) (*Doc, error) {
	d, err := c.Call(ctx, r)
	if err != nil {
		return d, err
	}
	if !d.OK() && !d.Has("id") {
		return d, &ProtocolError{Panel: c.panel, Func: r.Func, Reason: `no "ok" in the answer to a command`}
	}
	return d, nil
}

// send encodes r, authenticates it and returns the body; it re-logs in once
// on an auth error in session mode.
func (c *Client) send(ctx context.Context, r Request) ([]byte, error) {
	v, err := c.Encode(r)
	if err != nil {
		return nil, err
	}
	for attempt := 0; ; attempt++ {
		sid, err := c.authenticate(ctx, v)
		if err != nil {
			return nil, err
		}
		body, err := c.post(ctx, r.Func, r.Class, v)
		if err != nil {
			return nil, err
		}
		if c.mode == AuthSession && attempt == 0 && isAuthBody(body) {
			c.dropSession(sid)
			continue
		}
		return body, nil
	}
}

func isAuthBody(body []byte) bool {
	var e *Error
	return errors.As(BodyError("", "", body), &e) && e.Type == TypeAuth
}

func (c *Client) authenticate(ctx context.Context, v url.Values) (string, error) {
	v.Del("authinfo")
	v.Del("auth")
	if c.mode == AuthInfo {
		v.Set("authinfo", c.creds.Username+":"+c.creds.Password)
		return "", nil
	}
	sid, err := c.sessionID(ctx)
	if err != nil {
		return "", err
	}
	v.Set("auth", sid)
	return sid, nil
}

func (c *Client) sessionID(ctx context.Context) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.session != "" {
		return c.session, nil
	}
	sid, err := c.login(ctx)
	if err != nil {
		return "", err
	}
	c.session = sid
	return sid, nil
}

func (c *Client) dropSession(sid string) {
	c.mu.Lock()
	if c.session == sid {
		c.session = ""
	}
	c.mu.Unlock()
}

// post sends already-authenticated values as a form body.
func (c *Client) post(ctx context.Context, fn string, class httpx.Class, v url.Values) ([]byte, error) {
	body, hdr := httpx.FormBody(v)
	resp, err := c.h.Do(ctx, &httpx.Request{
		Method: http.MethodPost, URL: c.endpoint, Header: hdr, Body: body,
		Op: fn, Params: v, Class: &class,
	})
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		// A doc.error in another status is handed on as the body, for
		// the caller's decoding to report.
		var e *Error
		if err := c.statusError(fn, resp.StatusCode, resp.Body); !errors.As(err, &e) {
			return nil, err
		}
	}
	return resp.Body, nil
}

// AuthResult is the answer to func=auth.
type AuthResult struct {
	Session string
	Level   string
}

func (c *Client) authCall(ctx context.Context, v url.Values) (AuthResult, error) {
	v.Set("func", "auth")
	v.Set("out", "json")
	if c.lang != "" {
		v.Set("lang", c.lang)
	}
	body, err := c.post(ctx, "auth", httpx.IdempotentWrite, v)
	if err != nil {
		return AuthResult{}, err
	}
	d, err := Decode(c.panel, "auth", body)
	if err != nil {
		return AuthResult{}, err
	}
	type authElem struct {
		ID    string `json:"$id"`
		Level string `json:"$level"`
		Text  string `json:"$"`
	}
	var a authElem
	if err := d.Into("auth", &a); err != nil {
		return AuthResult{}, &ProtocolError{Panel: c.panel, Func: "auth", Reason: "no session in the answer"}
	}
	if a.ID == "" {
		a.ID = a.Text
	}
	if a.ID == "" {
		return AuthResult{}, &ProtocolError{Panel: c.panel, Func: "auth", Reason: "empty session id"}
	}
	return AuthResult{Session: a.ID, Level: a.Level}, nil
}

func (c *Client) passwordLogin(ctx context.Context) (string, error) {
	v := url.Values{"username": {c.creds.Username}, "password": {c.creds.Password}}
	r, err := c.authCall(ctx, v)
	return r.Session, err
}

// Login performs func=auth with the client's credentials and returns the
// session (it does not change the client's mode).
func (c *Client) Login(ctx context.Context) (AuthResult, error) {
	return c.authCall(ctx, url.Values{"username": {c.creds.Username}, "password": {c.creds.Password}})
}

// NewKey creates a one-time login key for username with session.newkey
// (the client must be an administrator). Keys are 32 random lowercase
// letters and digits.
func (c *Client) NewKey(ctx context.Context, username string) (string, error) {
	if username == "" {
		return "", errors.New("mgr5: NewKey: empty username")
	}
	key := RandomKey(32)
	_, err := c.Exec(ctx, Request{Func: "session.newkey", Params: url.Values{"username": {username}, "key": {key}}, Class: httpx.IdempotentWrite})
	if err != nil {
		return "", err
	}
	return key, nil
}

// KeyLoginURL is the browser URL that logs username in with key.
func (c *Client) KeyLoginURL(username, key string) string {
	v := url.Values{"func": {"auth"}, "username": {username}, "key": {key}, "checkcookie": {"no"}}
	return c.endpoint + "?" + v.Encode()
}

// LoginURL creates a key for username and returns the browser login URL
// (the "log in to the panel" button).
func (c *Client) LoginURL(ctx context.Context, username string) (string, error) {
	key, err := c.NewKey(ctx, username)
	if err != nil {
		return "", err
	}
	return c.KeyLoginURL(username, key), nil
}

// AsUser returns a client that acts as username with its own session,
// obtained by a key exchange (session.newkey as admin, then func=auth with
// the key, server to server). When the session expires the exchange is
// repeated once.
func (c *Client) AsUser(ctx context.Context, username string) (*Client, error) {
	if username == "" {
		return nil, errors.New("mgr5: AsUser: empty username")
	}
	u := &Client{panel: c.panel, endpoint: c.endpoint, lang: c.lang, creds: Credentials{Username: username}, mode: AuthSession, h: c.h}
	u.login = func(ctx context.Context) (string, error) {
		key, err := c.NewKey(ctx, username)
		if err != nil {
			return "", err
		}
		r, err := u.authCall(ctx, url.Values{"username": {username}, "key": {key}})
		return r.Session, err
	}
	if _, err := u.sessionID(ctx); err != nil {
		return nil, err
	}
	return u, nil
}

// Su returns a client that adds su=username to every call (an admin acting
// with the rights of username) and shares the parent's credentials.
func (c *Client) Su(username string) *Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	return &Client{panel: c.panel, endpoint: c.endpoint, lang: c.lang, creds: c.creds, mode: c.mode, h: c.h, login: c.login, su: username, session: c.session}
}

const keyAlphabet = "abcdefghijklmnopqrstuvwxyz0123456789"

// RandomKey returns n random lowercase letters and digits from crypto/rand.
func RandomKey(n int) string {
	out := make([]byte, 0, n)
	buf := make([]byte, n+8)
	for len(out) < n {
		if _, err := rand.Read(buf); err != nil {
			panic("mgr5: crypto/rand failed: " + err.Error())
		}
		for _, c := range buf {
			// 252 is the largest multiple of 36 below 256: no modulo bias.
			if c < 252 && len(out) < n {
				out = append(out, keyAlphabet[int(c)%len(keyAlphabet)])
			}
		}
	}
	return string(out)
}
