package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runSim in-process over plain HTTP: the ready document comes out on
// stdout and in the ready file (mode 0600: it holds credentials), the
// panels answer on their paths, and cancelling the context (what SIGINT
// and SIGTERM do) ends it with exit 0.
func TestRunSimPlainAndStop(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	ready := filepath.Join(dir, "ready.json")
	seed := filepath.Join(dir, "seed.json")
	require.NoError(t, os.WriteFile(seed, []byte(`{"_comment":"tiny","dci5":{"servers":[{"name":"only","chassis_template":"X"}]},"dci6":{},"ipmgr":{},"ispmgr":{}}`), 0o600))
	ctx, cancel := context.WithCancel(context.Background())
	pr, pw := io.Pipe()
	done := make(chan int, 1)
	go func() {
		done <- runSim(ctx, []string{"-plain", "-seed", seed, "-ready-file", ready}, pw, io.Discard)
		pw.Close()
	}()
	sc := bufio.NewScanner(pr)
	var doc bytes.Buffer
	for sc.Scan() && sc.Text() != "ispkit sim: ready" {
		doc.WriteString(sc.Text())
	}
	go func() { _, _ = io.Copy(io.Discard, pr) }()
	var rd readyDoc
	require.NoError(t, json.Unmarshal(doc.Bytes(), &rd), doc.String())
	assert.False(t, rd.TLS)
	assert.Empty(t, rd.CertPEM)
	fi, err := os.Stat(ready)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm())
	fromFile, err := os.ReadFile(ready)
	require.NoError(t, err)
	assert.JSONEq(t, doc.String(), string(fromFile))

	d5 := rd.Panels[panelDCI5]
	require.True(t, strings.HasPrefix(d5.URL, "http://127.0.0.1:"))
	resp, err := http.PostForm(d5.URL, map[string][]string{"func": {"server"}, "out": {"json"}, "authinfo": {d5.User + ":" + d5.Password}})
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Contains(t, string(body), `"only"`, "the seed file's server")
	assert.NotContains(t, string(body), "srv-01", "not the sample's")

	cancel()
	assert.Equal(t, exitOK, <-done)
	_, err = http.Get(rd.Control + "/state")
	assert.Error(t, err, "the control port is closed")
}

func TestRunSimFailures(t *testing.T) {
	t.Parallel()
	// A port in use.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	port := strconv.Itoa(l.Addr().(*net.TCPAddr).Port)
	var errb bytes.Buffer
	code := runSim(context.Background(), []string{"-ispmgr-port", port}, io.Discard, &errb)
	assert.Equal(t, exitFailure, code)
	assert.Contains(t, errb.String(), "ispmgr")

	// A seed the fakes refuse, a seed that is not JSON, a missing file.
	dir := t.TempDir()
	for name, content := range map[string]string{
		"refused.json": `{"dci6":{"servers":[{"name":"x","configuration":"c","location":"Nowhere"}]}}`,
		"broken.json":  `{"dci5":`,
	} {
		f := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(f, []byte(content), 0o600))
		errb.Reset()
		code = runSim(context.Background(), []string{"-seed", f}, io.Discard, &errb)
		assert.Equal(t, exitFailure, code, name)
		assert.Contains(t, errb.String(), "seed", name)
	}
	code = runSim(context.Background(), []string{"-seed", filepath.Join(dir, "missing.json")}, io.Discard, io.Discard)
	assert.Equal(t, exitFailure, code)
}
