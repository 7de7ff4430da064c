package ispkit_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"go/ast"
	"go/parser"
	"go/token"
	"io"
	"log"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/ispkit/ispkit"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/ipmanager"
	"github.com/ispkit/ispkit/ispmanager"
)

// panelPkg drives one client package through its shared options.
type panelPkg struct {
	name string
	// userArg is the name WithCredentials gives its login in errors.
	userArg string
	path    string // the panel path below the server URL
	mgr5    bool
	with    map[string]any
	// build makes a client with opts (each the package's Option, or nil)
	// and returns one read call on it.
	build func(url string, opts []any) (func(context.Context) error, error)
}

func optsOf[O any](opts []any) []O {
	out := make([]O, len(opts))
	for i, o := range opts {
		out[i], _ = o.(O) // a nil option stays nil
	}
	return out
}

var panelPkgs = []panelPkg{
	{name: "dcimanager5", userArg: "user", path: "/dcimgr", mgr5: true,
		with: map[string]any{
			"WithCredentials": dcimanager5.WithCredentials, "WithSessionAuth": dcimanager5.WithSessionAuth,
			"WithLang": dcimanager5.WithLang, "WithHTTPClient": dcimanager5.WithHTTPClient,
			"WithTransport": dcimanager5.WithTransport, "WithTimeout": dcimanager5.WithTimeout,
			"WithMaxResponseSize": dcimanager5.WithMaxResponseSize, "WithInsecureSkipVerify": dcimanager5.WithInsecureSkipVerify,
			"WithRootCAs": dcimanager5.WithRootCAs, "WithPinnedCertificate": dcimanager5.WithPinnedCertificate,
			"WithRetry": dcimanager5.WithRetry, "WithMaxRetryAfter": dcimanager5.WithMaxRetryAfter,
			"WithRateLimit": dcimanager5.WithRateLimit, "WithLogger": dcimanager5.WithLogger,
			"WithApplication": dcimanager5.WithApplication, "WithPollInterval": dcimanager5.WithPollInterval,
		},
		build: func(url string, opts []any) (func(context.Context) error, error) {
			c, err := dcimanager5.NewClient(url, optsOf[dcimanager5.Option](opts)...)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { _, err := c.Users.List(ctx); return err }, nil
		}},
	{name: "dcimanager6", userArg: "email", path: "",
		with: map[string]any{
			"WithCredentials": dcimanager6.WithCredentials, "WithHTTPClient": dcimanager6.WithHTTPClient,
			"WithTransport": dcimanager6.WithTransport, "WithTimeout": dcimanager6.WithTimeout,
			"WithMaxResponseSize": dcimanager6.WithMaxResponseSize, "WithInsecureSkipVerify": dcimanager6.WithInsecureSkipVerify,
			"WithRootCAs": dcimanager6.WithRootCAs, "WithPinnedCertificate": dcimanager6.WithPinnedCertificate,
			"WithRetry": dcimanager6.WithRetry, "WithMaxRetryAfter": dcimanager6.WithMaxRetryAfter,
			"WithRateLimit": dcimanager6.WithRateLimit, "WithLogger": dcimanager6.WithLogger,
			"WithApplication": dcimanager6.WithApplication, "WithPollInterval": dcimanager6.WithPollInterval,
		},
		build: func(url string, opts []any) (func(context.Context) error, error) {
			c, err := dcimanager6.NewClient(url, optsOf[dcimanager6.Option](opts)...)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { _, _, err := c.Users.List(ctx, nil); return err }, nil
		}},
	{name: "ipmanager", userArg: "username", path: "/ipmgr", mgr5: true,
		with: map[string]any{
			"WithCredentials": ipmanager.WithCredentials, "WithSessionAuth": ipmanager.WithSessionAuth,
			"WithLang": ipmanager.WithLang, "WithHTTPClient": ipmanager.WithHTTPClient,
			"WithTransport": ipmanager.WithTransport, "WithTimeout": ipmanager.WithTimeout,
			"WithMaxResponseSize": ipmanager.WithMaxResponseSize, "WithInsecureSkipVerify": ipmanager.WithInsecureSkipVerify,
			"WithRootCAs": ipmanager.WithRootCAs, "WithPinnedCertificate": ipmanager.WithPinnedCertificate,
			"WithRetry": ipmanager.WithRetry, "WithMaxRetryAfter": ipmanager.WithMaxRetryAfter,
			"WithRateLimit": ipmanager.WithRateLimit, "WithLogger": ipmanager.WithLogger,
			"WithApplication": ipmanager.WithApplication,
		},
		build: func(url string, opts []any) (func(context.Context) error, error) {
			c, err := ipmanager.NewClient(url, optsOf[ipmanager.Option](opts)...)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { _, err := c.List(ctx, ipmanager.ListOptions{}); return err }, nil
		}},
	{name: "ispmanager", userArg: "username", path: "/ispmgr", mgr5: true,
		with: map[string]any{
			"WithCredentials": ispmanager.WithCredentials, "WithSessionAuth": ispmanager.WithSessionAuth,
			"WithLang": ispmanager.WithLang, "WithHTTPClient": ispmanager.WithHTTPClient,
			"WithTransport": ispmanager.WithTransport, "WithTimeout": ispmanager.WithTimeout,
			"WithMaxResponseSize": ispmanager.WithMaxResponseSize, "WithInsecureSkipVerify": ispmanager.WithInsecureSkipVerify,
			"WithRootCAs": ispmanager.WithRootCAs, "WithPinnedCertificate": ispmanager.WithPinnedCertificate,
			"WithRetry": ispmanager.WithRetry, "WithMaxRetryAfter": ispmanager.WithMaxRetryAfter,
			"WithRateLimit": ispmanager.WithRateLimit, "WithLogger": ispmanager.WithLogger,
			"WithApplication": ispmanager.WithApplication,
		},
		build: func(url string, opts []any) (func(context.Context) error, error) {
			c, err := ispmanager.NewClient(url, optsOf[ispmanager.Option](opts)...)
			if err != nil {
				return nil, err
			}
			return func(ctx context.Context) error { _, err := c.Users.List(ctx); return err }, nil
		}},
}

// ownOptions are the options a package has besides the shared ones.
var ownOptions = map[string][]string{"dcimanager6": {"WithAPIPrefix", "WithToken"}}

// opt calls p's With… function name with args and returns the Option.
func (p panelPkg) opt(t *testing.T, name string, args ...any) any {
	t.Helper()
	fn := reflect.ValueOf(p.with[name])
	if !fn.IsValid() {
		t.Fatalf("%s has no %s", p.name, name)
	}
	in := make([]reflect.Value, len(args))
	for i, a := range args {
		if a == nil {
			in[i] = reflect.Zero(fn.Type().In(i))
		} else {
			in[i] = reflect.ValueOf(a)
		}
	}
	return fn.Call(in)[0].Interface()
}

func (p panelPkg) creds(t *testing.T) any {
	return p.opt(t, "WithCredentials", "admin@example.com", "Secr3t-pw")
}

// Every With… option of the four client packages is either one of the
// shared options, with the same parameters everywhere, or listed as the
// package's own: found by parsing the packages, so an option added to one
// package and not the others fails here.
func TestSharedOptionsExistOnce(t *testing.T) {
	t.Parallel()
	sigs := map[string]reflect.Type{}
	for _, p := range panelPkgs {
		fset := token.NewFileSet()
		entries, err := os.ReadDir(p.name)
		if err != nil {
			t.Fatal(err)
		}
		var found []string
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
				continue
			}
			f, err := parser.ParseFile(fset, filepath.Join(p.name, e.Name()), nil, parser.SkipObjectResolution)
			if err != nil {
				t.Fatal(err)
			}
			for _, d := range f.Decls {
				fd, ok := d.(*ast.FuncDecl)
				if ok && fd.Recv == nil && fd.Name.IsExported() && strings.HasPrefix(fd.Name.Name, "With") && returnsOption(fd) {
					found = append(found, fd.Name.Name)
				}
			}
		}
		want := slices.Concat(ownOptions[p.name], slices.Collect(mapKeys(p.with)))
		slices.Sort(found)
		slices.Sort(want)
		if !slices.Equal(found, want) {
			t.Errorf("%s: With… functions %v, want the shared ones plus its own: %v", p.name, found, want)
		}
		for name, fn := range p.with {
			ft := reflect.TypeOf(fn)
			ins := make([]reflect.Type, ft.NumIn())
			for i := range ins {
				ins[i] = ft.In(i)
			}
			sig := reflect.FuncOf(ins, nil, ft.IsVariadic())
			if prev, ok := sigs[name]; ok && prev != sig {
				t.Errorf("%s.%s takes %v, another package %v", p.name, name, sig, prev)
			}
			sigs[name] = sig
		}
	}
	// The mgr5 panels share session auth and the language; the panels
	// with waiters share the poll interval.
	for _, p := range panelPkgs {
		_, session := p.with["WithSessionAuth"]
		_, lang := p.with["WithLang"]
		if session != p.mgr5 || lang != p.mgr5 {
			t.Errorf("%s: WithSessionAuth/WithLang present %v/%v, want %v", p.name, session, lang, p.mgr5)
		}
	}
}

// returnsOption reports whether fd returns the package's client Option
// (not, say, a waiter's option).
func returnsOption(fd *ast.FuncDecl) bool {
	r := fd.Type.Results
	if r == nil || len(r.List) != 1 {
		return false
	}
	id, ok := r.List[0].Type.(*ast.Ident)
	return ok && id.Name == "Option"
}

func mapKeys[V any](m map[string]V) func(func(string) bool) {
	return func(yield func(string) bool) {
		for k := range m {
			if !yield(k) {
				return
			}
		}
	}
}

// Each option refuses the same input in every package, with the same
// *ispkit.ArgumentError (its Package aside), and accepts the same input.
func TestSharedOptionsValidateAlike(t *testing.T) {
	t.Parallel()
	pin := strings.Repeat("ab", 32)
	cases := []struct {
		option string
		args   []any
		arg    string // "" = accepted; "USER" = the package's login name
	}{
		{"WithCredentials", []any{"admin", "pw"}, ""},
		{"WithCredentials", []any{"ad:min", "pw"}, "USER"},
		{"WithCredentials", []any{" ", "pw"}, "USER"},
		{"WithCredentials", []any{"admin", ""}, "password"},
		{"WithSessionAuth", nil, ""},
		{"WithLang", []any{"ru"}, ""},
		{"WithLang", []any{"EN"}, "lang"},
		{"WithLang", []any{""}, "lang"},
		{"WithHTTPClient", []any{&http.Client{}}, ""},
		{"WithHTTPClient", []any{nil}, "client"},
		{"WithTransport", []any{http.DefaultTransport}, ""},
		{"WithTransport", []any{nil}, "transport"},
		{"WithTimeout", []any{time.Second}, ""},
		{"WithTimeout", []any{time.Duration(0)}, "timeout"},
		{"WithTimeout", []any{-time.Second}, "timeout"},
		{"WithMaxResponseSize", []any{int64(1 << 20)}, ""},
		{"WithMaxResponseSize", []any{int64(0)}, "n"},
		{"WithInsecureSkipVerify", nil, ""},
		{"WithRootCAs", []any{x509.NewCertPool()}, ""},
		{"WithRootCAs", []any{nil}, "pool"},
		{"WithPinnedCertificate", []any{pin, strings.ToUpper(pin)}, ""},
		{"WithPinnedCertificate", []any{"zz"}, "fingerprint"},
		{"WithPinnedCertificate", nil, "fingerprint"},
		{"WithRetry", []any{0, time.Millisecond, time.Millisecond}, ""},
		{"WithRetry", []any{-1, time.Millisecond, time.Millisecond}, "maxRetries"},
		{"WithRetry", []any{101, time.Millisecond, time.Millisecond}, "maxRetries"},
		{"WithRetry", []any{1, 2 * time.Millisecond, time.Millisecond}, "wait"},
		{"WithMaxRetryAfter", []any{time.Second}, ""},
		{"WithMaxRetryAfter", []any{time.Duration(0)}, "d"},
		{"WithRateLimit", []any{10.0, 2}, ""},
		{"WithRateLimit", []any{0.0, 1}, "perSecond"},
		{"WithRateLimit", []any{1.0, 0}, "burst"},
		{"WithLogger", []any{slog.New(slog.DiscardHandler)}, ""},
		{"WithLogger", []any{nil}, "logger"},
		{"WithApplication", []any{"billing", "1.0"}, ""},
		{"WithApplication", []any{"", ""}, "name"},
		{"WithApplication", []any{"my app", "1"}, "name"},
		{"WithPollInterval", []any{time.Millisecond, time.Second}, ""},
		{"WithPollInterval", []any{time.Second, time.Millisecond}, "interval"},
	}
	for _, c := range cases {
		reasons := map[string]string{}
		for _, p := range panelPkgs {
			if _, ok := p.with[c.option]; !ok {
				continue
			}
			url := "https://panel.example:1500" + p.path
			opts := []any{p.creds(t), p.opt(t, c.option, c.args...)}
			if c.option == "WithCredentials" {
				opts = opts[1:]
			}
			_, err := p.build(url, opts)
			if c.arg == "" {
				if err != nil {
					t.Errorf("%s %s%v: %v", p.name, c.option, c.args, err)
				}
				continue
			}
			want := c.arg
			if want == "USER" {
				want = p.userArg
			}
			var ae *ispkit.ArgumentError
			if !errors.As(err, &ae) || !errors.Is(err, ispkit.ErrInvalidArgument) {
				t.Errorf("%s %s%v: want *ispkit.ArgumentError, got %T %v", p.name, c.option, c.args, err, err)
				continue
			}
			if ae.Package != p.name || ae.Op != c.option || ae.Arg != want {
				t.Errorf("%s %s%v: got %s/%s/%s, want %s/%s/%s", p.name, c.option, c.args, ae.Package, ae.Op, ae.Arg, p.name, c.option, want)
			}
			reasons[p.name] = ae.Reason
		}
		var first string
		for name, r := range reasons {
			if first == "" {
				first = r
			} else if r != first {
				t.Errorf("%s%v: reason %q in %s, %q elsewhere", c.option, c.args, r, name, first)
			}
		}
	}
	// A nil option is skipped everywhere.
	for _, p := range panelPkgs {
		if _, err := p.build("https://panel.example:1500"+p.path, []any{nil, p.creds(t), nil}); err != nil {
			t.Errorf("%s: nil option: %v", p.name, err)
		}
	}
}

// panelStub answers every client's read: the DCImanager 6 login and user
// list, and an empty mgr5 list (or a session) for the others. It records
// what it saw.
type panelStub struct {
	mu     sync.Mutex
	agents []string
	forms  []string
	hits   atomic.Int32
	status int // answer this status to everything when set
	hang   bool
	big    bool
	// stop releases a hanging handler when the test is done with it.
	stop chan struct{}
}

func (s *panelStub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.hits.Add(1)
	_ = r.ParseForm()
	s.mu.Lock()
	s.agents = append(s.agents, r.UserAgent())
	s.forms = append(s.forms, r.PostForm.Encode())
	s.mu.Unlock()
	switch {
	case s.hang:
		select {
		case <-r.Context().Done():
		case <-s.stop:
		}
		return
	case s.status != 0:
		w.WriteHeader(s.status)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	if s.big {
		_, _ = io.WriteString(w, `{"doc":{"elem":[],"pad":"`+strings.Repeat("x", 4096)+`"}}`)
		return
	}
	switch {
	case strings.HasSuffix(r.URL.Path, "/auth/v4/public/token"):
		_, _ = io.WriteString(w, `{"token":"tok-1"}`)
	case strings.HasSuffix(r.URL.Path, "/dci/v3/user"):
		_, _ = io.WriteString(w, `{"list":[],"size":0}`)
	case r.PostForm.Get("func") == "auth":
		_, _ = io.WriteString(w, `{"doc":{"auth":{"$id":"sid-1","$":"sid-1"}}}`)
	default:
		_, _ = io.WriteString(w, `{"doc":{"elem":[]}}`)
	}
}

type countingRT struct{ n atomic.Int32 }

func (c *countingRT) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return http.DefaultTransport.RoundTrip(r)
}

// The options that change what goes over the wire do the same in every
// package, observed through real HTTP.
func TestSharedOptionsBehaveAlike(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	for _, p := range panelPkgs {
		t.Run(p.name, func(t *testing.T) {
			t.Parallel()
			run := func(stub *panelStub, tls bool, opts ...any) error {
				t.Helper()
				var srv *httptest.Server
				if tls {
					srv = quietTLSServer(stub)
				} else {
					srv = httptest.NewServer(stub)
				}
				defer srv.Close()
				if stub.hang {
					stub.stop = make(chan struct{})
					defer close(stub.stop) // before Close, which waits for the handler
				}
				call, err := p.build(srv.URL+p.path, append([]any{p.creds(t)}, opts...))
				if err != nil {
					t.Fatalf("build: %v", err)
				}
				return call(ctx)
			}

			stub := &panelStub{}
			if err := run(stub, false, p.opt(t, "WithApplication", "billing", "2.1")); err != nil {
				t.Fatal(err)
			}
			if ua := stub.agents[0]; !strings.HasPrefix(ua, "billing/2.1 ispkit/") {
				t.Errorf("User-Agent %q", ua)
			}

			rt := &countingRT{}
			if err := run(&panelStub{}, false, p.opt(t, "WithTransport", rt)); err != nil || rt.n.Load() == 0 {
				t.Errorf("WithTransport: %v, %d requests through it", err, rt.n.Load())
			}
			rt = &countingRT{}
			if err := run(&panelStub{}, false, p.opt(t, "WithHTTPClient", &http.Client{Transport: rt})); err != nil || rt.n.Load() == 0 {
				t.Errorf("WithHTTPClient: %v, %d requests through it", err, rt.n.Load())
			}

			err := run(&panelStub{big: true}, false, p.opt(t, "WithMaxResponseSize", int64(1024)))
			var big *tooLarge
			if !errors.As(err, &big) || big.Limit != 1024 {
				t.Errorf("WithMaxResponseSize: %T %v", err, err)
			}

			for _, retries := range []int{0, 2} {
				stub := &panelStub{status: http.StatusBadGateway}
				if run(stub, false, p.opt(t, "WithRetry", retries, time.Millisecond, time.Millisecond)) == nil {
					t.Errorf("WithRetry(%d): no error on 502", retries)
				}
				if got := stub.hits.Load(); got != int32(retries+1) {
					t.Errorf("WithRetry(%d): %d attempts", retries, got)
				}
			}

			err = run(&panelStub{hang: true}, false, p.opt(t, "WithTimeout", 20*time.Millisecond),
				p.opt(t, "WithRetry", 0, time.Millisecond, time.Millisecond))
			var te *transportError
			if !errors.As(err, &te) {
				t.Errorf("WithTimeout: %T %v", err, err)
			}

			var logged atomic.Int32
			h := slog.New(countHandler{&logged})
			if err := run(&panelStub{}, false, p.opt(t, "WithLogger", h)); err != nil || logged.Load() == 0 {
				t.Errorf("WithLogger: %v, %d records", err, logged.Load())
			}

			// TLS: refused without trust, accepted with any of the three.
			if run(&panelStub{}, true) == nil {
				t.Error("a self-signed panel was trusted without an option")
			}
			if err := run(&panelStub{}, true, p.opt(t, "WithInsecureSkipVerify")); err != nil {
				t.Errorf("WithInsecureSkipVerify: %v", err)
			}
			tlsStub := &panelStub{}
			srv := quietTLSServer(tlsStub)
			pool := x509.NewCertPool()
			pool.AddCert(srv.Certificate())
			sum := sha256.Sum256(srv.Certificate().Raw)
			for name, o := range map[string]any{
				"WithRootCAs":           p.opt(t, "WithRootCAs", pool),
				"WithPinnedCertificate": p.opt(t, "WithPinnedCertificate", hex.EncodeToString(sum[:])),
			} {
				call, err := p.build(srv.URL+p.path, []any{p.creds(t), o})
				if err == nil {
					err = call(ctx)
				}
				if err != nil {
					t.Errorf("%s: %v", name, err)
				}
			}
			srv.Close()

			if p.mgr5 {
				stub := &panelStub{}
				if err := run(stub, false, p.opt(t, "WithLang", "ru"), p.opt(t, "WithSessionAuth")); err != nil {
					t.Fatal(err)
				}
				if len(stub.forms) != 2 || !strings.Contains(stub.forms[0], "func=auth") || !strings.Contains(stub.forms[1], "auth=sid-1") {
					t.Errorf("WithSessionAuth: %q", stub.forms)
				}
				if !strings.Contains(stub.forms[1], "lang=ru") {
					t.Errorf("WithLang: %q", stub.forms[1])
				}
			}
		})
	}
}

// quietTLSServer is a TLS test server that does not log the handshakes
// the test makes fail on purpose.
func quietTLSServer(h http.Handler) *httptest.Server {
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	return srv
}

type countHandler struct{ n *atomic.Int32 }

func (h countHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h countHandler) Handle(context.Context, slog.Record) error {
	h.n.Add(1)
	return nil
}
func (h countHandler) WithAttrs([]slog.Attr) slog.Handler { return h }
func (h countHandler) WithGroup(string) slog.Handler      { return h }

type (
	tooLarge       = dcimanager5.ResponseTooLargeError
	transportError = dcimanager5.TransportError
)
