package main

import (
	"bufio"
	"context"
	"crypto/x509"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/billing"
	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
	"github.com/ispkit/ispkit/provision"
	"github.com/ispkit/ispkit/provision/dci5"
	"github.com/ispkit/ispkit/provision/memstore"
)

// buildCommand compiles the command into a temporary directory.
func buildCommand(t *testing.T) string {
	t.Helper()
	gobin, err := exec.LookPath("go")
	if err != nil {
		t.Skip("go tool not on PATH: cannot build the command")
	}
	bin := filepath.Join(t.TempDir(), "ispkit")
	out, err := exec.Command(gobin, "build", "-o", bin, ".").CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

// simProcess is a running "ispkit sim" process.
type simProcess struct {
	cmd   *exec.Cmd
	ready readyDoc
	roots *x509.CertPool
	cert  string
	done  chan error
}

// startSimProcess starts the command and waits, without sleeping, for
// the line it prints once every port listens; the ready file is complete
// by then (it is renamed into place before the line is printed).
func startSimProcess(t *testing.T, bin string, args ...string) *simProcess {
	t.Helper()
	dir := t.TempDir()
	readyFile, certFile := filepath.Join(dir, "ready.json"), filepath.Join(dir, "cert.pem")
	cmd := exec.Command(bin, append([]string{"sim", "-ready-file", readyFile, "-cert-out", certFile}, args...)...)
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	cmd.Stderr = io.Discard
	require.NoError(t, cmd.Start())
	p := &simProcess{cmd: cmd, cert: certFile, done: make(chan error, 1)}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-p.done
	})
	sc := bufio.NewScanner(stdout)
	readyLine := false
	for sc.Scan() {
		if sc.Text() == "ispkit sim: ready" {
			readyLine = true
			break
		}
	}
	go func() {
		_, _ = io.Copy(io.Discard, stdout)
		p.done <- cmd.Wait()
	}()
	require.True(t, readyLine, "the simulator never said it was ready")
	raw, err := os.ReadFile(readyFile)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &p.ready))
	pem, err := os.ReadFile(certFile)
	require.NoError(t, err)
	p.roots = x509.NewCertPool()
	require.True(t, p.roots.AppendCertsFromPEM(pem))
	return p
}

func (p *simProcess) control(t *testing.T, method, path string, body any, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = strings.NewReader(string(b))
	}
	req, err := http.NewRequest(method, p.ready.Control+path, rd)
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "%s %s: %s", method, path, b)
	if out != nil {
		require.NoError(t, json.Unmarshal(b, out))
	}
}

// getJSON reads a control API document (safe off the test goroutine).
func getJSON(ctx context.Context, u string, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return errors.New(resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// TestSimProcessFullOrder starts the built command, runs a dedicated
// server order through the engine and the real DCImanager 5 adapter over
// HTTPS, a hosting account's life through ISPmanager with curl, checks
// the state dump, and stops the process with SIGTERM.
func TestSimProcessFullOrder(t *testing.T) {
	t.Parallel()
	bin := buildCommand(t)
	p := startSimProcess(t, bin)
	require.True(t, p.ready.TLS)
	for _, k := range panelKeys {
		assert.True(t, strings.HasPrefix(p.ready.Panels[k].URL, "https://127.0.0.1:"), k)
	}
	assert.True(t, strings.HasSuffix(p.ready.Panels[panelDCI5].URL, "/dcimgr"))
	assert.True(t, strings.HasSuffix(p.ready.Panels[panelDCI6].API, "/api"))

	// Short operations, through the control API.
	var durs map[string]map[string]string
	p.control(t, http.MethodPost, "/durations", map[string]any{
		"dci5": map[string]string{"power": "5ms", "install": "20ms", "switch": "5ms"}}, &durs)
	assert.Equal(t, "20ms", durs[panelDCI5]["install"])

	ctx := context.Background()
	d5 := p.ready.Panels[panelDCI5]
	c, err := dcimanager5.NewClient(d5.URL, dcimanager5.WithCredentials(d5.User, d5.Password),
		dcimanager5.WithRootCAs(p.roots), dcimanager5.WithPollInterval(2*time.Millisecond, 10*time.Millisecond))
	require.NoError(t, err)
	cat := billing.NewCatalog()
	require.NoError(t, cat.AddModule(&billing.Module{Kind: billing.KindDCImanager5, Name: "sim", URL: d5.URL, Username: d5.User, Password: d5.Password, Department: "DC"}))
	require.NoError(t, cat.AddTariff(&billing.Tariff{ID: 1, Name: "E5", ProductType: billing.ProductDedicatedServer, Modules: []string{"sim"},
		ServerConfig: "E5-64GB", OSTemplate: "ISPsystem__Debian-12-x86_64", DomainTemplate: "s@ID@.example.net"}))
	// The server counts as reachable when the simulator's dump says it
	// is powered on and installed.
	reach := func(ctx context.Context, s provision.Server) error {
		var st dcimanager5test.State
		if err := getJSON(ctx, p.ready.Control+"/state/dci5", &st); err != nil {
			return err
		}
		for _, sv := range st.Servers {
			if strconv.FormatInt(sv.ID, 10) == s.ID && sv.PowerOn && !sv.InstallInProgress && !sv.OperationFailed {
				return nil
			}
		}
		return errors.New("not up yet")
	}
	e, err := provision.New(provision.Config{
		Store: memstore.New(), Catalog: cat, WorkerID: "sim-test",
		Dedicated:    map[string]provision.DedicatedBackend{"sim": dci5.New(c, d5.User)},
		PollInterval: 2 * time.Millisecond, InstallTimeout: time.Minute, PowerTimeout: time.Minute,
		Reachability: reach,
	})
	require.NoError(t, err)
	_, err = e.Open(ctx, provision.OpenRequest{ServiceID: "501", TariffID: 1, Owner: "alice", Password: "Alice-pw-123"})
	require.NoError(t, err)
	svc, err := e.Store().GetService(ctx, "501")
	require.NoError(t, err)
	require.Equal(t, billing.StatusActive, svc.Status)
	assert.Equal(t, "3", svc.Properties[provision.PropServerID], "srv-03 is the only E5-64GB server")
	_, err = e.Suspend(ctx, provision.SuspendRequest{ServiceID: "501"})
	require.NoError(t, err)
	_, err = e.Unsuspend(ctx, provision.UnsuspendRequest{ServiceID: "501"})
	require.NoError(t, err)

	var st dcimanager5test.State
	p.control(t, http.MethodGet, "/state/dci5", nil, &st)
	var srv3 dcimanager5test.ServerState
	for _, sv := range st.Servers {
		if sv.ID == 3 {
			srv3 = sv
		}
	}
	assert.Equal(t, "s501.example.net", srv3.Hostname)
	assert.Equal(t, "ISPsystem__Debian-12-x86_64", srv3.OSTemplate)
	assert.True(t, srv3.PowerOn)
	var alice int64
	for _, u := range st.Users {
		if u.Name == "alice" {
			alice = u.ID
		}
	}
	require.NotZero(t, alice, "the panel user was created")
	assert.Equal(t, alice, srv3.Owner)

	// curl: a hosting account's life on ISPmanager, then the dump.
	curl, err := exec.LookPath("curl")
	if err != nil {
		t.Log("curl is not installed: skipping the curl part (CI has curl)")
	} else {
		isp := p.ready.Panels[panelISPmgr]
		call := func(form url.Values) string {
			form.Set("out", "json")
			form.Set("authinfo", isp.User+":"+isp.Password)
			// The form (with the password) goes on stdin, not on the
			// command line.
			cmd := exec.Command(curl, "-sS", "--fail", "--cacert", p.cert, "--data-binary", "@-", isp.URL)
			cmd.Stdin = strings.NewReader(form.Encode())
			out, err := cmd.Output()
			require.NoError(t, err, "curl %s", form.Get("func"))
			return string(out)
		}
		out := call(url.Values{"func": {"user.add.finish"}, "sok": {"ok"}, "name": {"web1"}, "passwd": {"Web1-pass-123"},
			"confirm": {"Web1-pass-123"}, "preset": {"standard"}, "webdomain_name": {"web1.example.com"}})
		assert.Contains(t, out, `"ok"`, out)
		out = call(url.Values{"func": {"user.suspend"}, "elid": {"web1"}, "sok": {"ok"}})
		assert.Contains(t, out, `"ok"`, out)
		var isState ispmanagertest.State
		p.control(t, http.MethodGet, "/state/ispmgr", nil, &isState)
		var web1 *ispmanagertest.User
		for i := range isState.Users {
			if isState.Users[i].Name == "web1" {
				web1 = &isState.Users[i]
			}
		}
		require.NotNil(t, web1, "curl created the account")
		assert.False(t, web1.Active, "and suspended it")
		assert.Equal(t, "standard", web1.Preset)
		assert.Equal(t, "web1", isState.WebDomains["web1.example.com"])

		// DCImanager 6 under /api: log in, then list the free servers
		// with the token, as any HTTP client would.
		d6 := p.ready.Panels[panelDCI6]
		login := exec.Command(curl, "-sS", "--fail", "--cacert", p.cert, "-H", "Content-Type: application/json",
			"--data-binary", "@-", d6.API+"/auth/v4/public/token")
		login.Stdin = strings.NewReader(`{"email":"` + d6.User + `","password":"` + d6.Password + `"}`)
		out6, err := login.Output()
		require.NoError(t, err)
		var tok struct{ Token string }
		require.NoError(t, json.Unmarshal(out6, &tok))
		require.NotEmpty(t, tok.Token)
		out6, err = exec.Command(curl, "-sS", "--fail", "--cacert", p.cert, "-H", "x-xsrf-token: "+tok.Token,
			d6.API+"/dci/v3/server?where="+url.QueryEscape("name EQ 'srv-fra-01'")).Output()
		require.NoError(t, err)
		assert.Contains(t, string(out6), `"srv-fra-01"`)

		// The control API through curl: the whole dump names both orders.
		dump, err := exec.Command(curl, "-sS", "--fail", p.ready.Control+"/state").Output()
		require.NoError(t, err)
		assert.Contains(t, string(dump), "s501.example.net")
		assert.Contains(t, string(dump), "web1.example.com")
	}

	// Closing the order gives the server back: the dump shows it free.
	_, err = e.Close(ctx, provision.CloseRequest{ServiceID: "501"})
	require.NoError(t, err)
	p.control(t, http.MethodGet, "/state/dci5", nil, &st)
	for _, sv := range st.Servers {
		if sv.ID == 3 {
			assert.Zero(t, sv.Owner)
			assert.Equal(t, provision.FreeHostname, sv.Hostname)
		}
	}

	require.NoError(t, p.cmd.Process.Signal(syscall.SIGTERM))
	err = <-p.done
	p.done <- err // for the cleanup
	require.NoError(t, err, "SIGTERM ends the simulator with exit 0")
}
