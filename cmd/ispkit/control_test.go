package main

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/ispkit/ispkit/dcimanager5"
	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/dcimanager6"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/ispmanager"
)

// startInProcess runs the simulator in the test process on plain HTTP.
func startInProcess(t *testing.T, raw []byte) *simulator {
	t.Helper()
	seed, err := parseSeed(raw)
	require.NoError(t, err)
	cfg := simConfig{addr: "127.0.0.1", ports: map[string]*int{}}
	for _, k := range panelKeys {
		cfg.ports[k] = new(int)
	}
	s, err := startSim(cfg, seed)
	require.NoError(t, err)
	t.Cleanup(s.close)
	return s
}

func ctl(t *testing.T, s *simulator, method, path, body string) (int, string) {
	t.Helper()
	req, err := http.NewRequest(method, s.ready.Control+path, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, string(b)
}

func TestControlFaultsResetAndSeed(t *testing.T) {
	t.Parallel()
	s := startInProcess(t, sampleSeed)
	ctx := context.Background()
	d5 := s.ready.Panels[panelDCI5]
	c, err := dcimanager5.NewClient(d5.URL, dcimanager5.WithCredentials(d5.User, d5.Password), dcimanager5.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)

	// A panel error injected through the control API reaches the client
	// as the panel's typed error, once.
	code, body := ctl(t, s, "POST", "/faults", `{"panel":"dci5","match":"server","kind":"panel-error","error":{"type":"access","object":"server","msg":"injected"}}`)
	require.Equal(t, http.StatusOK, code, body)
	_, err = c.Servers.List(ctx)
	require.Error(t, err)
	assert.True(t, dcimanager5.IsAccess(err), "%v", err)
	_, err = c.Servers.List(ctx)
	require.NoError(t, err, "the fault hit once")

	// A fault that stays until cleared, on DCImanager 6.
	code, body = ctl(t, s, "POST", "/faults", `{"panel":"dci6","match":"GET /dci/v3/server","kind":"status","status":503,"times":-1}`)
	require.Equal(t, http.StatusOK, code, body)
	d6 := s.ready.Panels[panelDCI6]
	c6, err := dcimanager6.NewClient(d6.URL, dcimanager6.WithCredentials(d6.User, d6.Password), dcimanager6.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	_, _, err = c6.Servers.List(ctx, nil)
	require.Error(t, err)
	_, _, err = c6.Servers.List(ctx, nil)
	require.Error(t, err, "still faulted")
	code, _ = ctl(t, s, "DELETE", "/faults?panel=dci6", "")
	require.Equal(t, http.StatusOK, code)
	_, _, err = c6.Servers.List(ctx, nil)
	require.NoError(t, err)

	// The call log shows the calls by name, with the fault's kind.
	code, body = ctl(t, s, "GET", "/calls?panel=dci5", "")
	require.Equal(t, http.StatusOK, code)
	assert.Contains(t, body, `"panel-error"`)
	assert.NotContains(t, body, d5.Password, "the call log holds parameter names, never values")

	// Bad requests are refused with 400 and a reason.
	for _, bad := range []string{
		`{"panel":"nope","kind":"status"}`,
		`{"panel":"dci5","kind":"explode"}`,
		`{"panel":"dci5","kind":"status","probability":2}`,
		`{"panel":"dci5","kind":"status","surprise":1}`,
	} {
		code, body = ctl(t, s, "POST", "/faults", bad)
		assert.Equal(t, http.StatusBadRequest, code, bad)
		assert.Contains(t, body, `"error"`)
	}

	// Durations change through the API.
	code, body = ctl(t, s, "POST", "/durations", `{"dci5":{"install":"7s"},"dci6":{"power":"3s"}}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.Equal(t, 7*time.Second, s.dci5.Durations().Install)
	assert.Equal(t, 500*time.Millisecond, s.dci5.Durations().Power, "unchanged")
	assert.Equal(t, 3*time.Second, s.dci6.Durations().Power)
	code, _ = ctl(t, s, "POST", "/durations", `{"dci5":{"install":"-1s"}}`)
	assert.Equal(t, http.StatusBadRequest, code)

	// Reset with empty=1 empties one panel; a plain reset brings the seed
	// back; POST /seed loads more on top.
	code, _ = ctl(t, s, "POST", "/reset?panel=ipmgr&empty=1", "")
	require.Equal(t, http.StatusOK, code)
	assert.Empty(t, s.ipmgr.Dump().Groups)
	assert.NotEmpty(t, s.dci5.Dump().Servers, "other panels untouched")
	code, _ = ctl(t, s, "POST", "/reset?panel=ipmgr", "")
	require.Equal(t, http.StatusOK, code)
	assert.Len(t, s.ipmgr.Dump().Groups, 2)
	assert.Equal(t, 5*time.Second, s.dci5.Durations().Install, "a reset brings the seed's durations back")
	code, body = ctl(t, s, "POST", "/seed", `{"_comment":"more","ipmgr":{"groups":[{"name":"extra","ranges":["192.0.2.0/28"]}]}}`)
	require.Equal(t, http.StatusOK, code, body)
	assert.Len(t, s.ipmgr.Dump().Groups, 3)
	code, body = ctl(t, s, "POST", "/seed", `{"ipmgr":{"groups":[{"name":"broken","ranges":["x"]}]}}`)
	assert.Equal(t, http.StatusUnprocessableEntity, code, body)

	// The dump of one panel and of all.
	code, body = ctl(t, s, "GET", "/state/ispmgr", "")
	require.Equal(t, http.StatusOK, code)
	var isp struct {
		Presets []struct{ Name string } `json:"presets"`
	}
	require.NoError(t, json.Unmarshal([]byte(body), &isp))
	assert.Len(t, isp.Presets, 2)
	code, _ = ctl(t, s, "GET", "/state/nope", "")
	assert.Equal(t, http.StatusBadRequest, code)
	code, body = ctl(t, s, "GET", "/state", "")
	require.Equal(t, http.StatusOK, code)
	var all map[string]json.RawMessage
	require.NoError(t, json.Unmarshal([]byte(body), &all))
	assert.Len(t, all, 4)

	// Expired sessions make clients log in again.
	ic, err := ispmanager.NewClient(s.ready.Panels[panelISPmgr].URL, ispmanager.WithCredentials(s.ready.Panels[panelISPmgr].User, s.ready.Panels[panelISPmgr].Password), ispmanager.WithSessionAuth())
	require.NoError(t, err)
	_, err = ic.Presets.List(ctx)
	require.NoError(t, err)
	code, _ = ctl(t, s, "POST", "/sessions/expire?panel=ispmgr", "")
	require.Equal(t, http.StatusOK, code)
	_, err = ic.Presets.List(ctx)
	require.NoError(t, err, "the client logged in again")
	assert.Equal(t, 2, s.ispmgr.CallCount("auth"), "one login, then one more after the expiry")
}

// The sample seed is what the simulator serves by default, and it covers
// what the issue asks a seed to hold.
func TestSampleSeedLoads(t *testing.T) {
	t.Parallel()
	s := startInProcess(t, sampleSeed)
	d5 := s.dci5.Dump()
	assert.Len(t, d5.Servers, 6)
	assert.Len(t, d5.Recipes, 2)
	flagged := 0
	for _, sv := range d5.Servers {
		if sv.HWProblem {
			flagged++
		}
	}
	assert.Equal(t, 1, flagged)
	assert.Len(t, s.dci6.Dump().Servers, 9)
	var parking bool
	for _, g := range s.ipmgr.Dump().Groups {
		parking = parking || g.Parking
	}
	assert.True(t, parking)
	assert.Len(t, s.ispmgr.Dump().Presets, 2)
	assert.Equal(t, 5*time.Second, s.dci5.Durations().Install)
	// The sample's DCImanager 5 data set is the fake's default one.
	def := dcimanager5test.NewServer()
	t.Cleanup(def.Close)
	assert.Equal(t, def.Dump(), d5)
	assert.Len(t, s.ipmgr.Dump().Groups, len(ipmanagertest.DefaultSeed().Groups))
}

func TestParseSeedRefusesTyposAndKeepsComments(t *testing.T) {
	t.Parallel()
	_, err := parseSeed([]byte(`{"dci5":{"servers":[{"name":"a","chasis_template":"x"}]}}`))
	require.Error(t, err, "a misspelt key is an error")
	_, err = parseSeed([]byte(`{"dci5":{}} {"dci6":{}}`))
	require.Error(t, err)
	s, err := parseSeed([]byte(`{"_note":"x","dci5":{"_comment":["a"],"servers":[{"_why":"y","name":"a"}]},"ispmgr":{}}`))
	require.NoError(t, err)
	require.Len(t, s.DCI5.Servers, 1)
	assert.NotNil(t, s.ISPmgr)
	assert.Nil(t, s.DCI6, "left out: the default data set")
}

// Over TLS (HTTP/1.1, as the real panels), the transport faults still
// work: a dropped answer is a transport error, a truncated one a short
// body, and a client trusting the generated certificate gets through.
func TestTLSAndTransportFaults(t *testing.T) {
	t.Parallel()
	seed, err := parseSeed(sampleSeed)
	require.NoError(t, err)
	cfg := simConfig{addr: "127.0.0.1", ports: map[string]*int{}, tls: true}
	for _, k := range panelKeys {
		cfg.ports[k] = new(int)
	}
	s, err := startSim(cfg, seed)
	require.NoError(t, err)
	t.Cleanup(s.close)
	require.True(t, s.ready.TLS)
	roots := x509.NewCertPool()
	require.True(t, roots.AppendCertsFromPEM([]byte(s.ready.CertPEM)))
	sum := sha256.Sum256(mustFirstCert(t, s.ready.CertPEM))
	assert.Equal(t, hex.EncodeToString(sum[:]), s.ready.CertSHA256)

	isp := s.ready.Panels[panelISPmgr]
	ctx := context.Background()
	c, err := ispmanager.NewClient(isp.URL, ispmanager.WithCredentials(isp.User, isp.Password), ispmanager.WithRootCAs(roots),
		ispmanager.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	_, err = c.Presets.List(ctx)
	require.NoError(t, err)

	for _, kind := range []string{"drop-before", "drop-after", "truncated", "malformed"} {
		code, body := ctl(t, s, "POST", "/faults", `{"panel":"ispmgr","match":"preset","kind":"`+kind+`"}`)
		require.Equal(t, http.StatusOK, code, body)
		_, err = c.Presets.List(ctx)
		assert.Error(t, err, kind)
	}
	_, err = c.Presets.List(ctx)
	require.NoError(t, err, "each fault hit once")

	// A client that does not trust the certificate is refused.
	plain, err := ispmanager.NewClient(isp.URL, ispmanager.WithCredentials(isp.User, isp.Password))
	require.NoError(t, err)
	_, err = plain.Presets.List(ctx)
	require.Error(t, err)
}

func mustFirstCert(t *testing.T, p string) []byte {
	t.Helper()
	b, _ := pem.Decode([]byte(p))
	require.NotNil(t, b)
	return b.Bytes
}
