package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"net/http"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/ispkit/ispkit/dcimanager5/dcimanager5test"
)

// hangGuard only stops a run that hangs: the runs take seconds, but many
// times that on a loaded machine under -race, which is not a failure.
const hangGuard = 3 * time.Minute

// fast makes the fake panels quick enough for -race.
var fast = []string{"-fake-install=150ms", "-fake-power=20ms"}

// output is a concurrency-safe stdout that can cancel a run when a line
// appears.
type output struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	trigger string
	cancel  context.CancelFunc
}

func (o *output) Write(p []byte) (int, error) {
	o.mu.Lock()
	defer o.mu.Unlock()
	n, err := o.buf.Write(p)
	if o.trigger != "" && strings.Contains(o.buf.String(), o.trigger) {
		o.cancel()
		o.trigger = ""
	}
	return n, err
}

func (o *output) String() string {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.buf.String()
}

// rows returns the summary rows: service id → status column.
func rows(t *testing.T, out string) map[string]string {
	t.Helper()
	_, table, ok := strings.Cut(out, "Summary:\n")
	if !ok {
		t.Fatalf("no summary table in:\n%s", out)
	}
	got := map[string]string{}
	re := regexp.MustCompile(`^\s+(\d+)\s+Dedicated \S+\s+(\S+)`)
	for _, l := range strings.Split(table, "\n") {
		if m := re.FindStringSubmatch(l); m != nil {
			got[m[1]] = m[2]
		}
	}
	return got
}

func count(m map[string]string, status string) int {
	n := 0
	for _, s := range m {
		if s == status {
			n++
		}
	}
	return n
}

func TestDefaultRun(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	var out output
	if err := run(ctx, fast, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"Ordering 7 server(s) at once",
		"srv-01  FAILED wait_install: OS install failed", // the failing disk
		"failed over from srv-01",                        // and the order moved on
		"address swap: parking 10.0.0.",                  // servers start parked…
		"-> public 203.0.113.",                           // …and get a public address
		"rolled back: parked again",                      // srv-01 is parked again
		"suspended: switch port off", "resumed: switch port on", "closed:",
		"is back in stock: hostname free.ds",
		"change_password done", "removed and released", "reinstalled: ",
		"welcome message of #", "message to noc@example.net: server", // the failed disk reaches the error recipient
		"SERVICE  TARIFF", "Panel calls: ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	r := rows(t, s)
	// 4 sellable E3 servers and 2 E5 for 4 E3 and 3 E5 orders: one E5
	// order stays Pending, one Active service is closed by the demo.
	if len(r) != 7 || count(r, "Active") != 5 || count(r, "Deleted") != 1 || count(r, "Pending") != 1 {
		t.Errorf("summary statuses = %v, want 5 Active, 1 Deleted, 1 Pending:\n%s", r, s)
	}
	if !regexp.MustCompile(`is back in stock: hostname free\.ds, address 10\.0\.0\.\d+`).MatchString(s) {
		t.Errorf("the closed server should be parked again:\n%s", s)
	}
	if r["1001"] == "Pending" || !strings.Contains(s, "no server available") {
		t.Errorf("the Pending order should be an E5 one without a server:\n%s", s)
	}
}

// TestStoreResume interrupts a run with a durable store in the middle of
// the OS installs; the next run resumes the unfinished orders first.
func TestStoreResume(t *testing.T) {
	t.Parallel()
	db := filepath.Join(t.TempDir(), "demo.db")
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()

	ctx1, cancel1 := context.WithCancel(ctx)
	first := &output{trigger: "OS install running", cancel: cancel1}
	err := run(ctx1, append([]string{"-store", db, "-fake-install=2s"}, fast[1:]...), first)
	if err == nil || !strings.Contains(err.Error(), "run again with the same store") {
		t.Fatalf("interrupted run: err = %v\n%s", err, first.String())
	}

	var second output
	if err := run(ctx, append([]string{"-store", db, "-orders", "1"}, fast...), &second); err != nil {
		t.Fatalf("resumed run: %v\n%s", err, second.String())
	}
	s := second.String()
	if !strings.Contains(s, "unfinished operation(s) of an earlier run") {
		t.Errorf("nothing resumed:\n%s", s)
	}
	r := rows(t, s)
	if len(r) != 8 {
		t.Errorf("want 7 earlier services and 1 new one, got %v:\n%s", r, s)
	}
	for id, st := range r {
		if st != "Active" && st != "Pending" && st != "Deleted" {
			t.Errorf("service %s ended %s:\n%s", id, st, s)
		}
	}
	if count(r, "Active")+count(r, "Deleted") < 6 {
		t.Errorf("want at least 6 servers sold, got %v:\n%s", r, s)
	}
}

func TestRealPanelsNeedYes(t *testing.T) {
	t.Parallel()
	var out output
	err := run(context.Background(), []string{"-dci", "https://dci.invalid/dcimgr", "-dci-user", "admin", "-dci-password", "x", "-config", "E3"}, &out)
	if err == nil || !strings.Contains(err.Error(), "-yes") || !strings.Contains(out.String(), "WARNING") {
		t.Fatalf("err = %v, output:\n%s", err, out.String())
	}
}

// TestDCI6Run is the DCImanager 6 run: two data centers (Amsterdam sorted
// before Frankfurt), the whole lifecycle on one service, against the fake
// DCImanager 6 over HTTP.
func TestDCI6Run(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	var out output
	if err := run(ctx, append([]string{"-panel", "dci6"}, fast...), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"Amsterdam  location 1, sort order 1, module dc-ams",
		"Frankfurt  location 2, sort order 2, module dc-fra",
		`tariff "Dedicated i9" (i9-9900K-64Gb-2x1024NVMe) from dc-ams then dc-fra`,
		"Ordering 6 server(s) at once",
		"login link for ", "/key-v4/[REDACTED]",
		"change_password done", "extra address 192.0.2.", "removed and released", "reinstalled: Ubuntu 24.04",
		"suspended: switch port off", "resumed: switch port on", "closed:",
		"is back in stock: hostname free.ds",
		"welcome message of #", "DCImanager 6: ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	r := rows(t, s)
	if len(r) != 6 || count(r, "Active") != 4 || count(r, "Deleted") != 1 || count(r, "Pending") != 1 {
		t.Errorf("summary statuses = %v, want 4 Active, 1 Deleted, 1 Pending:\n%s", r, s)
	}
	// The i9 tariff is served by Amsterdam first: its only i9 is sold, and
	// both of Frankfurt's.
	for _, srv := range []string{"srv-ams-03", "srv-fra-01", "srv-fra-02"} {
		if !regexp.MustCompile(`(?m)^\s+\d+\s+Dedicated i9\s+(Active|Deleted)\s+` + srv).MatchString(s) {
			t.Errorf("%s should be sold on the i9 tariff:\n%s", srv, s)
		}
	}
	if regexp.MustCompile(`key-v4/[0-9a-f]`).MatchString(s) {
		t.Errorf("a login key is printed:\n%s", s)
	}
}

// TestOrderFlags: extra addresses, a recipe and "don't wait" reach every
// order.
func TestOrderFlags(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	var out output
	// The installs take ten minutes: only -no-wait lets the services
	// become Active (the run would otherwise fail on its 30 s install
	// timeout).
	args := append([]string{"-orders", "2", "-keep", "-extra-ipv4", "2", "-recipe", "#local__lamp", "-no-wait"}, fast...)
	args = append(args, "-fake-install=10m")
	if err := run(ctx, args, &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	if !strings.Contains(s, "IP=2 recipe=#local__lamp") {
		t.Errorf("the orders do not carry the options:\n%s", s)
	}
	extra := regexp.MustCompile(`extra 203\.0\.113\.\d+,203\.0\.113\.\d+`)
	if n := len(extra.FindAllString(s, -1)); n != 2 {
		t.Errorf("want 2 services with 2 extra addresses each, got %d:\n%s", n, s)
	}
	if r := rows(t, s); count(r, "Active") != 2 || strings.Contains(s, "OS install finished") {
		t.Errorf("-no-wait: both services must be Active while their installs run:\n%s", s)
	}
}

func TestHelp(t *testing.T) {
	t.Parallel()
	var out output
	err := run(context.Background(), []string{"-h"}, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("err = %v", err)
	}
	s := out.String()
	if !strings.HasPrefix(s, "dedicated sells dedicated servers through the ispkit provisioning engine") {
		t.Errorf("-h should start with what the program does:\n%s", s)
	}
	for _, f := range []string{"-panel", "-dci ", "-dci-user", "-dci-password", "-location", "-user-domain", "-ipmgr ", "-recipe", "-no-wait", "-extra-ipv4", "-extra-ipv6", "-license", "-license-user", "-yes"} {
		if !strings.Contains(s, f) {
			t.Errorf("-h lacks %s:\n%s", f, s)
		}
	}
}

func TestFlagErrors(t *testing.T) {
	t.Parallel()
	for args, want := range map[string]string{
		"-panel dci7":                        "want dci5 or dci6",
		"-panel dci6 -ipmgr https://x/ipmgr": "manages its addresses itself",
		"-panel dci6 -store x.db":            "cannot be rebuilt from a store",
		"-panel dci6 -dci https://dci6.invalid -dci-user a@example.com -dci-password x -config E -os U -user-domain example.com": "-location",
		"-panel dci6 -dci https://dci6.invalid -dci-user a@example.com -dci-password x -config E -os U -location 1":              "-user-domain",
		"-location 1":    "for -panel dci6",
		"-extra-ipv4 -1": "must be ≥ 0",
	} {
		var out output
		err := run(context.Background(), strings.Fields(args), &out)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: err = %v, want %q", args, err, want)
		}
	}
}

// TestLicenses: with -license every server comes with an ISPsystem
// license from a fake licensing server over HTTP; the closed service's
// license is suspended and back in the pool.
func TestLicenses(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), hangGuard)
	defer cancel()
	var out output
	if err := run(ctx, append([]string{"-panel", "dci6", "-orders", "2", "-license", "55227"}, fast...), &out); err != nil {
		t.Fatalf("run: %v\n%s", err, out.String())
	}
	s := out.String()
	for _, want := range []string{
		"License:   ISPsystem license ", // in the welcome message
		"Licensing server: 2 license(s) bought, 1 active",
		"licensing server: ",
	} {
		if !strings.Contains(s, want) {
			t.Errorf("output lacks %q:\n%s", want, s)
		}
	}
	_, table, _ := strings.Cut(s, "Summary:\n")
	if n := len(regexp.MustCompile(`(?m)^\s+\d+\s+Dedicated .*license \d+`).FindAllString(table, -1)); n != 2 {
		t.Errorf("want both services with a license in the summary, got %d:\n%s", n, s)
	}
}

// A call the fake does not model fails the run's check.
func TestStrictViolationsFailTheRun(t *testing.T) {
	t.Parallel()
	dci := dcimanager5test.NewServer(dcimanager5test.WithoutSeed())
	t.Cleanup(dci.Close)
	dci.SetStrict(true)
	p := &panels{fakeDCI: dci}
	if v := p.strictViolations(); len(v) != 0 {
		t.Fatalf("violations before any call: %v", v)
	}
	admin, pw := dci.Admin()
	resp, err := http.PostForm(dci.URL(), url.Values{"func": {"osmgr"}, "out": {"xml"}, "authinfo": {admin + ":" + pw}, "nosuchparam": {"1"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	got := p.strictViolations()
	if len(got) != 1 || !strings.Contains(got[0], "nosuchparam") {
		t.Fatalf("violations = %q, want one naming nosuchparam", got)
	}
}
