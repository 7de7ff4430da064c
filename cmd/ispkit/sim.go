package main

import (
	"context"
	"crypto/tls"
	_ "embed"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
	"github.com/ispkit/ispkit/dcimanager6/dcimanager6test"
	"github.com/ispkit/ispkit/ipmanager/ipmanagertest"
	"github.com/ispkit/ispkit/ispmanager/ispmanagertest"
)

// sampleSeed is the data set the simulator serves without -seed; the file
// is the commented sample users copy (ispkit sim -print-seed).
//
//go:embed sim.sample.json
var sampleSeed []byte

// Panel keys, used in the seed file, the ready file and the control API.
const (
	panelDCI5   = "dci5"
	panelDCI6   = "dci6"
	panelIPmgr  = "ipmgr"
	panelISPmgr = "ispmgr"
)

var panelKeys = []string{panelDCI5, panelDCI6, panelIPmgr, panelISPmgr}

const simUsage = `Usage: ispkit sim [flags]

Serves fake DCImanager 5, DCImanager 6, IPmanager and ISPmanager panels,
each on its own port, with the real panels' URL paths:

  DCImanager 5   https://ADDR:PORT/dcimgr          (mgr5 API)
  DCImanager 6   https://ADDR:PORT/api/...         (also without /api)
  IPmanager      https://ADDR:PORT/ipmgr           (mgr5 API)
  ISPmanager     https://ADDR:PORT/ispmgr          (mgr5 API)

over HTTPS with a self-signed certificate generated at start (as real panels
on :1500), or plain HTTP with -tls=false. The data come from a JSON seed file
(-seed; without it the built-in sample, printed by -print-seed). Keys starting
with "_" are comments.

When every port listens it prints, and writes to -ready-file, a JSON document
with each panel's URL and credentials, the control API's URL and the
certificate's SHA-256 fingerprint, then the line "ispkit sim: ready".

Control API (plain HTTP on -control-port, JSON; panel = dci5, dci6, ipmgr or
ispmgr):
  GET    /                     the ready document
  GET    /state[/{panel}]      dump the state
  POST   /reset[?panel=P][&empty=1]
                               back to the seed, its durations included
                               (empty=1: empty panels, durations kept)
  POST   /seed                 load a seed document on top of the state
  POST   /faults               inject a fault: {"panel":"dci5","match":"server.edit",
                               "kind":"drop-after","times":1,"probability":0,
                               "status":502,"retry_after":"","code":0,"msg":"",
                               "delay":"2s","error":{"type":"","object":"","value":"","msg":""}}
                               kinds: %s
  DELETE /faults[?panel=P]     clear injected faults
  GET    /durations            operation durations
  POST   /durations            {"dci5":{"power":"1s","install":"30s","switch":"200ms"},
                               "dci6":{"power":"1s","install":"30s"}}
  GET    /calls?panel=P        the panel's call log (parameter names, never values)
  POST   /sessions/expire[?panel=P]
                               end every session (clients must log in again)

It stops cleanly on SIGINT or SIGTERM (exit 0). Exit 1 when a port cannot be
opened or the seed is refused, 2 on a usage error.

Flags:
`

type simConfig struct {
	addr                      string
	ports                     map[string]*int
	controlPort               int
	tls                       bool
	seedFile, readyFile, cert string
	printSeed                 bool
}

func runSim(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("ispkit sim", flag.ContinueOnError)
	cfg := simConfig{ports: map[string]*int{}}
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1", "address to listen on (keep it loopback: the fake credentials are public)")
	cfg.ports[panelDCI5] = fs.Int("dci5-port", 0, "DCImanager 5 port (0: any free port)")
	cfg.ports[panelDCI6] = fs.Int("dci6-port", 0, "DCImanager 6 port (0: any free port)")
	cfg.ports[panelIPmgr] = fs.Int("ipmgr-port", 0, "IPmanager port (0: any free port)")
	cfg.ports[panelISPmgr] = fs.Int("ispmgr-port", 0, "ISPmanager port (0: any free port)")
	fs.IntVar(&cfg.controlPort, "control-port", 0, "control API port (0: any free port)")
	fs.BoolVar(&cfg.tls, "tls", true, "serve HTTPS with a generated self-signed certificate; -tls=false serves plain HTTP")
	plain := fs.Bool("plain", false, "serve plain HTTP (same as -tls=false)")
	fs.StringVar(&cfg.seedFile, "seed", "", "JSON seed file (default: the built-in sample)")
	fs.StringVar(&cfg.readyFile, "ready-file", "", "write the ready document (URLs, credentials) to this file once every port listens")
	fs.StringVar(&cfg.cert, "cert-out", "", "write the generated certificate (PEM) to this file, for curl --cacert and the like")
	fs.BoolVar(&cfg.printSeed, "print-seed", false, "print the built-in sample seed file and exit")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), simUsage, strings.Join(faultKindNames(), ", "))
		fs.PrintDefaults()
	}
	if code, ok := parseFlags(fs, args, stdout, stderr); !ok {
		return code
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "ispkit sim: unexpected argument %q\n", fs.Arg(0))
		return exitUsage
	}
	if *plain {
		cfg.tls = false
	}
	if cfg.printSeed {
		_, _ = stdout.Write(sampleSeed)
		return exitOK
	}
	raw := sampleSeed
	if cfg.seedFile != "" {
		b, err := os.ReadFile(cfg.seedFile)
		if err != nil {
			fmt.Fprintf(stderr, "ispkit sim: %v\n", err)
			return exitFailure
		}
		raw = b
	}
	seed, err := parseSeed(raw)
	if err != nil {
		fmt.Fprintf(stderr, "ispkit sim: seed: %v\n", err)
		return exitFailure
	}
	if ip := net.ParseIP(cfg.addr); ip == nil || !ip.IsLoopback() {
		fmt.Fprintf(stderr, "ispkit sim: warning: %s is not a loopback address; anyone who can reach it can use the fake panels\n", cfg.addr)
	}
	sim, err := startSim(cfg, seed)
	if err != nil {
		fmt.Fprintf(stderr, "ispkit sim: %v\n", err)
		return exitFailure
	}
	defer sim.close()
	info, _ := json.MarshalIndent(sim.ready, "", "  ")
	if cfg.readyFile != "" {
		if err := writeFileAtomic(cfg.readyFile, append(info, '\n')); err != nil {
			fmt.Fprintf(stderr, "ispkit sim: ready file: %v\n", err)
			return exitFailure
		}
	}
	fmt.Fprintf(stdout, "%s\nispkit sim: ready\n", info)
	select {
	case <-ctx.Done():
		fmt.Fprintln(stderr, "ispkit sim: stopping")
	case err := <-sim.failed:
		fmt.Fprintf(stderr, "ispkit sim: %v\n", err)
		return exitFailure
	}
	return exitOK
}

// readyDoc is what the simulator prints and writes to -ready-file.
type readyDoc struct {
	Panels     map[string]panelInfo `json:"panels"`
	Control    string               `json:"control"`
	TLS        bool                 `json:"tls"`
	CertSHA256 string               `json:"cert_sha256,omitempty"`
	CertFile   string               `json:"cert_file,omitempty"`
	CertPEM    string               `json:"cert_pem,omitempty"`
}

// panelInfo tells a client where a panel is and how to log in. IPmanager
// has a user-level login (what integrations use) and an administrator.
type panelInfo struct {
	URL           string `json:"url"`
	API           string `json:"api,omitempty"`
	User          string `json:"user"`
	Password      string `json:"password"`
	AdminUser     string `json:"admin_user,omitempty"`
	AdminPassword string `json:"admin_password,omitempty"`
}

// simulator is a running set of fakes with their listeners.
type simulator struct {
	seed    *simSeed
	dci5    *dcimanager5test.Server
	dci6    *dcimanager6test.Server
	ipmgr   *ipmanagertest.Server
	ispmgr  *ispmanagertest.Server
	servers []*http.Server
	ready   readyDoc
	failed  chan error
	mu      sync.Mutex // serialises reset and seed loads
	once    sync.Once
}

func startSim(cfg simConfig, seed *simSeed) (_ *simulator, err error) {
	s := &simulator{seed: seed, failed: make(chan error, 8),
		dci5:   dcimanager5test.NewServer(dcimanager5test.WithoutSeed()),
		dci6:   dcimanager6test.NewServer(dcimanager6test.WithoutSeed()),
		ipmgr:  ipmanagertest.NewServer(ipmanagertest.WithoutSeed()),
		ispmgr: ispmanagertest.NewServer(ispmanagertest.WithoutSeed()),
	}
	defer func() {
		if err != nil {
			s.close()
		}
	}()
	if err := s.load(seed, panelKeys); err != nil {
		return nil, err
	}
	if err := s.setDurations(seed.Durations); err != nil {
		return nil, err
	}
	var tlsCfg *tls.Config
	scheme := "http"
	if cfg.tls {
		cert, err := selfSigned(cfg.addr)
		if err != nil {
			return nil, err
		}
		tlsCfg = &tls.Config{Certificates: []tls.Certificate{cert.pair}, MinVersion: tls.VersionTLS12}
		scheme = "https"
		s.ready.TLS, s.ready.CertSHA256, s.ready.CertPEM = true, cert.sha256, string(cert.pem)
		if cfg.cert != "" {
			if err := writeFileAtomic(cfg.cert, cert.pem); err != nil {
				return nil, fmt.Errorf("certificate: %v", err)
			}
			abs, _ := filepath.Abs(cfg.cert)
			s.ready.CertFile = abs
		}
	}
	handlers := map[string]http.Handler{
		panelDCI5: s.dci5.Handler(), panelDCI6: s.dci6.Handler(),
		panelIPmgr: s.ipmgr.Handler(), panelISPmgr: s.ispmgr.Handler(),
	}
	s.ready.Panels = map[string]panelInfo{}
	for _, k := range panelKeys {
		base, err := s.serve(cfg.addr, *cfg.ports[k], handlers[k], tlsCfg, scheme)
		if err != nil {
			return nil, fmt.Errorf("%s: %v", k, err)
		}
		s.ready.Panels[k] = s.info(k, base)
	}
	ctl, err := s.serve(cfg.addr, cfg.controlPort, s.controlHandler(), nil, "http")
	if err != nil {
		return nil, fmt.Errorf("control API: %v", err)
	}
	s.ready.Control = ctl
	return s, nil
}

func (s *simulator) info(panel, base string) panelInfo {
	switch panel {
	case panelDCI5:
		u, p := s.dci5.Admin()
		return panelInfo{URL: base + "/dcimgr", User: u, Password: p}
	case panelDCI6:
		return panelInfo{URL: base, API: base + "/api", User: dcimanager6test.AdminEmail, Password: dcimanager6test.AdminPassword}
	case panelIPmgr:
		return panelInfo{URL: base + ipmanagertest.Path, User: ipmanagertest.DefaultUser, Password: ipmanagertest.DefaultPassword,
			AdminUser: ipmanagertest.DefaultAdmin, AdminPassword: ipmanagertest.DefaultAdminPassword}
	default:
		u, p := s.ispmgr.Admin()
		return panelInfo{URL: base + ispmanagertest.Path, User: u, Password: p}
	}
}

// serve opens a listener and serves h on it; it returns the base URL.
func (s *simulator) serve(addr string, port int, h http.Handler, tlsCfg *tls.Config, scheme string) (string, error) {
	l, err := net.Listen("tcp", net.JoinHostPort(addr, strconv.Itoa(port)))
	if err != nil {
		return "", err
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 30 * time.Second, ErrorLog: log.New(io.Discard, "", 0)}
	if tlsCfg != nil {
		srv.TLSConfig = tlsCfg
		l = tls.NewListener(l, tlsCfg)
	}
	s.servers = append(s.servers, srv)
	go func() {
		if err := srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			s.failed <- err
		}
	}()
	return scheme + "://" + l.Addr().String(), nil
}

// close stops the fakes first (held slow answers end), then the servers.
func (s *simulator) close() {
	s.once.Do(func() {
		s.dci5.Close()
		s.dci6.Close()
		s.ipmgr.Close()
		s.ispmgr.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		for _, srv := range s.servers {
			if srv.Shutdown(ctx) != nil {
				_ = srv.Close()
			}
		}
	})
}

// writeFileAtomic writes b to a temporary file beside path and renames it
// into place, so a reader never sees half a file.
func writeFileAtomic(path string, b []byte) error {
	f, err := os.CreateTemp(filepath.Dir(path), ".ispkit-*")
	if err != nil {
		return err
	}
	_, werr := f.Write(b)
	cerr := f.Close()
	if err := errors.Join(werr, cerr); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	if err := os.Chmod(f.Name(), 0o600); err != nil {
		_ = os.Remove(f.Name())
		return err
	}
	return os.Rename(f.Name(), path)
}
